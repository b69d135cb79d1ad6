"""Clues in pictures' metadata: which camera took them, where, when, and the same camera in other cases (issue 6).

Everything here reads the EXIF facts stored at ingest (``content.exif_*``, ``gps_*``): no evidence is re-read.
"""
