"""The workspace: one folder per migration holding its sandbox, state and reports.

`./.flitstack` by default, or FLITSTACK_WORKSPACE, or `--workspace`. Nothing
in it holds a secret: credentials come only from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def locate(cls, explicit: Path | None = None) -> Workspace:
        chosen = explicit or Path(os.environ.get("FLITSTACK_WORKSPACE") or ".flitstack")
        return cls(chosen.resolve())

    @property
    def sandbox(self) -> Path:
        return self.root / "sandbox"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def ensure(self) -> Workspace:
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        return self
