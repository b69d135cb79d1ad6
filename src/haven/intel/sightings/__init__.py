"""Sightings (issue 7): observations from monitoring tools and tips — CSV, JSON, STIX 2.1 bundles — matched
against the case's contents, the known hash sets and the case's identifiers.

``reading`` (+ ``tabular``, ``stix``, ``records``, ``times``, ``normalize``) turns a file into observations or
skipped rows; ``importing`` stores them in one transaction; ``matching`` links them; ``listing`` reports;
``demo`` writes synthetic sightings about the demo case.
"""

from haven.intel.sightings.importing import ImportSummary, SightingsImportError, import_sightings
from haven.intel.sightings.listing import list_sightings
from haven.intel.sightings.matching import MatchSettings, match_sightings

__all__ = [
    "ImportSummary",
    "MatchSettings",
    "SightingsImportError",
    "import_sightings",
    "list_sightings",
    "match_sightings",
]
