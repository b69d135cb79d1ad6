"""Where the benign shared corpora live: ../shared/data beside the repository (as in CI).

HAVEN_SHARED_DATA overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA = Path(os.environ.get("HAVEN_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
