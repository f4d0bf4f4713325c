"""Extraction through the real connector from the real emulator while 10% of requests fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from engine.connectors import ClinikoConnector, RetryPolicy
from engine.sandbox.cliniko import DEFAULT_API_KEY, start_cliniko_sandbox
from engine.sandbox.generator import generate_clinic
from engine.sandbox.server import FaultPlan
from engine.sandbox.tls import ensure_tls

RESOURCES = ["businesses", "contacts", "practitioners", "patients", "individual_appointments", "invoices",
             "invoice_items", "treatment_notes", "patient_attachments", "patient_cases"]


@pytest.mark.parametrize("seed", [11, 12])
def test_every_record_exactly_once_through_429_503_and_resets(tmp_path: Path, seed: int) -> None:
    tls = ensure_tls(tmp_path / "tls")
    faults = FaultPlan(rate_429=0.04, rate_503=0.03, rate_reset=0.03, retry_after_seconds=0, seed=seed)
    server, store = start_cliniko_sandbox(tmp_path / "cliniko", tls=tls, faults=faults,
                                          requests_per_minute=100_000)
    clinic = generate_clinic(seed=seed, patients=300)  # about 7,500 records, 90 pages
    try:
        store.load(clinic.records())
        quick = RetryPolicy(base_delay=0.01, max_delay=0.05, rate_limit_jitter=0.01, max_attempts=12)
        with ClinikoConnector(DEFAULT_API_KEY, user_agent="Fault test (faults@example.com)",
                              base_url=server.base_url + "/shards/{shard}/v1", verify=str(tls.bundle),
                              retry=quick) as connector:
            seen: Counter[tuple[str, str]] = Counter()
            for resource, record in connector.read_many(RESOURCES, workers=3):
                seen[(resource, record["id"])] += 1
    finally:
        server.stop()
        store.close()
    assert min(server.stats.faults[kind] for kind in ("reset", "429", "503")) > 0, server.stats
    assert max(seen.values()) == 1, "a record came twice"
    per_resource = Counter(resource for resource, _ in seen)
    for resource in RESOURCES:
        assert per_resource[resource] == clinic.manifest.counts[resource], resource
