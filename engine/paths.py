"""Where the project's data folders live (schemas/, targets/, sources/).

They sit beside the `engine` package in the project checkout; FLITSTACK_HOME
points elsewhere for an installation that keeps them apart.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("FLITSTACK_HOME") or Path(__file__).resolve().parent.parent)
SCHEMA_DIR = PROJECT_ROOT / "schemas"
TARGETS_DIR = PROJECT_ROOT / "targets"
SOURCES_DIR = PROJECT_ROOT / "sources"
