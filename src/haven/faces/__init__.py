"""Faces: detection, embeddings, identities within a case and search across cases (issue 6).

Kept import-light: ``haven.config`` imports ``faces.settings``; dlib and numpy load only when used.
"""
