"""Connection profiles: a workspace names the source and target it talks to; the environment holds
their credentials.

`<workspace>/connections.yaml` holds at most two names (schemas/connections.schema.json):

    source: acme-cliniko
    target: acme-sf-uat

Profile `acme-sf-uat` reads its variables with the prefix `ACME_SF_UAT_`
(`ACME_SF_UAT_SALESFORCE_INSTANCE_URL`, ...). A side with no profile reads the
plain variables (`SALESFORCE_INSTANCE_URL`, ...) and, when they are unset, uses
the sandbox. A side whose profile is named but whose variables are missing is an
error: an analyst who named a real org must never land in the sandbox unawares.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import yaml

from engine.errors import UsageError
from engine.paths import SCHEMA_DIR

FILE_NAME = "connections.yaml"
SIDES = ("source", "target")


@dataclass(frozen=True)
class Profile:
    name: str | None  # None: the plain variables

    @property
    def prefix(self) -> str:
        return re.sub(r"[^A-Z0-9]", "_", self.name.upper()) + "_" if self.name else ""

    def variable(self, base: str) -> str:
        return self.prefix + base

    def get(self, base: str) -> str:
        return os.environ.get(self.variable(base), "").strip()

    def describe(self) -> str:
        return f"profile {self.name}" if self.name else "no profile"


def read_profiles(workspace_root: Path) -> dict[str, Profile]:
    path = workspace_root / FILE_NAME
    names: dict[str, str] = {}
    if path.is_file():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"{path}: not valid YAML: {exc}") from exc
        _check(loaded, path)
        names = loaded
    return {side: Profile(names.get(side)) for side in SIDES}


def _check(document: object, path: Path) -> None:
    schema = json.loads((SCHEMA_DIR / "connections.schema.json").read_text(encoding="utf-8"))
    problem = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(document))
    if problem is not None:
        where = "/".join(str(p) for p in problem.absolute_path) or "(top)"
        raise UsageError(f"{path}: {where}: {problem.message} (profile names: lower case letters, "
                         "digits and -, e.g. acme-live)")


def write_profiles(workspace_root: Path, profiles: dict[str, Profile]) -> Path:
    path = workspace_root / FILE_NAME
    body = {side: p.name for side, p in profiles.items() if p.name}
    _check(body, path)  # nothing is written that would not read back
    path.write_text("# Connection profiles of this workspace; credentials come from the environment.\n"
                    + yaml.safe_dump(body, sort_keys=True), encoding="utf-8")
    return path


def require(profile: Profile, bases: tuple[str, ...]) -> None:
    """A named profile must have its variables set."""
    missing = [profile.variable(b) for b in bases if not profile.get(b)]
    if profile.name and missing:
        raise UsageError(f"connection {profile.describe()} needs {', '.join(missing)} in the environment "
                         f"(unset); set them, or clear the profile with `flitstack connections`")
