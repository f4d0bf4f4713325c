"""Connection profiles: the workspace names them, the environment holds their credentials."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from engine.cli.main import main

CLEAN = {"CLINIKO_API_KEY": "", "SALESFORCE_INSTANCE_URL": "", "SALESFORCE_ACCESS_TOKEN": "",
         "FLITSTACK_FORCE_SANDBOX": ""}


def flitstack(workspace: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--workspace", str(workspace)], env={**CLEAN, **(env or {})})
    return result.exit_code, result.output


def test_without_profiles_the_sandbox_is_used(tmp_path: Path) -> None:
    code, output = flitstack(tmp_path, "connections")
    assert code == 0
    assert "source: no profile → sandbox" in output and "target: no profile → sandbox" in output


def test_profiles_are_saved_by_name_and_read_prefixed_variables(tmp_path: Path) -> None:
    code, output = flitstack(tmp_path, "connections", "--source", "acme-live", "--target", "acme-uat")
    assert code == 0
    saved = (tmp_path / "connections.yaml").read_text(encoding="utf-8")
    assert "source: acme-live" in saved and "target: acme-uat" in saved
    assert "ACME_LIVE_CLINIKO_API_KEY" in output and "ACME_UAT_SALESFORCE_ACCESS_TOKEN" in output
    code, output = flitstack(tmp_path, "connections", env={"ACME_UAT_SALESFORCE_INSTANCE_URL": "https://x.example",
                                                          "ACME_UAT_SALESFORCE_ACCESS_TOKEN": "00Dsecret"})
    assert "target: profile acme-uat → real system" in output
    assert "00Dsecret" not in output and "https://x.example" not in output  # names, never values


def test_a_named_profile_without_credentials_never_falls_back_to_the_sandbox(tmp_path: Path) -> None:
    flitstack(tmp_path, "connections", "--source", "acme-live")
    spec = str(Path(__file__).resolve().parent.parent / "specs" / "cliniko-to-salesforce.yaml")
    code, output = flitstack(tmp_path, "audit", spec)
    assert code == 2
    assert "profile acme-live needs ACME_LIVE_CLINIKO_API_KEY" in output
    assert "sandbox" not in output.splitlines()[0]


def test_bad_profile_name_is_refused(tmp_path: Path) -> None:
    code, output = flitstack(tmp_path, "connections", "--target", "Acme Live!")
    assert code == 2 and "connections.yaml" in output and "lower case" in output
    assert not (tmp_path / "connections.yaml").exists()
