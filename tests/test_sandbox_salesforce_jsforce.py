"""An independent client against the Salesforce emulator: jsforce 3 (Node) over HTTPS.

jsforce is installed with npm into a cache folder outside the repository
(`$FLITSTACK_JSFORCE_DIR`, default `<tmp>/flitstack-test-jsforce`) on first
use, from npm's local cache when it can; later runs reuse it. Without node and
npm, or when the install fails (no registry, no cache), the test is skipped
with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from sandbox_salesforce_fixture import start

from engine.sandbox.salesforce import DEFAULT_TOKEN
from engine.sandbox.tls import ensure_tls

SCRIPT = r"""
const jsforce = require('jsforce');
(async () => {
  const conn = new jsforce.Connection({instanceUrl: process.env.SF_URL, accessToken: process.env.SF_TOKEN,
                                       version: '62.0'});
  const out = {};
  out.created = await conn.sobject('Contact').create([{LastName: 'A', Cliniko_Id__c: 'J-1'}, {FirstName: 'B'}]);
  out.upserted = await conn.sobject('Contact').upsert(
    [{LastName: 'A2', Cliniko_Id__c: 'J-1'}, {LastName: 'C', Cliniko_Id__c: 'J-3'}], 'Cliniko_Id__c');
  out.single = await conn.sobject('Account').create({Name: 'Solo'});
  out.query = await conn.query("SELECT LastName, Owner.Email FROM Contact ORDER BY LastName");
  out.retrieved = await conn.sobject('Contact').retrieve([out.created[0].id]);
  out.destroyed = await conn.sobject('Contact').destroy([out.upserted[1].id]);
  out.describe = (await conn.sobject('Contact').describe()).fields.length;
  out.identity = (await conn.identity()).username;
  out.limits = (await conn.limits()).DailyApiRequests;
  try { await conn.sobject('Contact').create({FirstName: 'no last name'}); }
  catch (e) { out.error = {errorCode: e.errorCode, message: e.message}; }
  console.log(JSON.stringify(out));
})().catch(e => { console.error(e); process.exit(1); });
"""


def _jsforce_modules() -> Path:
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node and npm are not installed")
    folder = Path(os.environ.get("FLITSTACK_JSFORCE_DIR") or Path(tempfile.gettempdir()) / "flitstack-test-jsforce")
    modules = folder / "node_modules"
    if (modules / "jsforce" / "package.json").is_file():
        return modules
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
                        "jsforce@3"], cwd=folder, check=True, capture_output=True, timeout=180)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"could not install jsforce with npm into {folder}: {error}")
    return modules


def test_jsforce_creates_upserts_queries_and_reads_errors(tmp_path: Path) -> None:
    modules = _jsforce_modules()
    tls = ensure_tls(tmp_path / "tls")
    server, org = start(tmp_path / "salesforce", tls)
    try:
        env = {**os.environ, "NODE_PATH": str(modules), "NODE_EXTRA_CA_CERTS": str(tls.ca_cert),
               "SF_URL": server.base_url, "SF_TOKEN": DEFAULT_TOKEN}
        run = subprocess.run(["node", "-e", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        out: dict[str, Any] = json.loads(run.stdout)
    finally:
        server.stop()
        org.close()
    assert out["created"][0]["success"] is True
    assert out["created"][1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [(r["success"], r["created"]) for r in out["upserted"]] == [(True, False), (True, True)]
    assert out["upserted"][0]["id"] == out["created"][0]["id"]
    assert out["single"]["success"] is True and out["single"]["id"].startswith("001")
    assert [r["LastName"] for r in out["query"]["records"]] == ["A2", "C"]
    assert out["query"]["records"][0]["Owner"]["Email"] == "admin@flitstack.example"
    assert out["retrieved"][0]["LastName"] == "A2"
    assert out["destroyed"] == [{"id": out["upserted"][1]["id"], "success": True, "errors": []}]
    assert out["describe"] > 40
    assert out["identity"] == "admin@flitstack.sandbox"
    assert out["limits"]["Max"] == 15000
    assert out["error"] == {"errorCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]"}
