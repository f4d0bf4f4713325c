"""Patient attachment records, each with its streamed body."""

from __future__ import annotations

import random

from .clock import MINUTE, iso_day, iso_instant
from .content import CONTENT_TYPES, body
from .ids import mix
from .model import GeneratedRecord
from .patients import File
from .problems import ATTACHMENT_LIMIT
from .setup import Setup
from .shape import build

TOPICS = {"pdf": ("referral-letter", "mri-report", "xray-report", "discharge-summary", "報告書"),
          "jpg": ("posture-photo", "wound-photo", "insurance-card"),
          "txt": ("intake-form", "phone-message", "exercise-plan")}


def attachment(setup: Setup, rng: random.Random, file: File, attachment_id: str,
               patient_id: str) -> GeneratedRecord:
    topic = TOPICS[file.kind][rng.randrange(len(TOPICS[file.kind]))]
    big = file.size > ATTACHMENT_LIMIT
    filename = f"{'scanned-history' if big else topic}-{iso_day(file.created)}.{file.kind}"
    front_office = len(setup.staff) + rng.randrange(2)  # their users follow the practitioners'
    processed = min(setup.now, file.created + rng.randrange(5, 5 * MINUTE))
    record = build("patient_attachments", {
        "id": attachment_id, "filename": filename, "content_type": CONTENT_TYPES[file.kind],
        "size": file.size,
        "description": "Scanned paper history 1998-2015" if big else topic.replace("-", " "),
        "processing_completed": True, "processed_at": iso_instant(processed),
        "pinned_at": iso_instant(processed) if rng.random() < 0.1 else None,
        "patient_id": patient_id, "user_id": setup.refs["users"][front_office],
        "created_at": iso_instant(file.created), "updated_at": iso_instant(processed)})
    content = body(file.kind, file.size, mix(setup.seed, int(attachment_id)), filename)
    return GeneratedRecord("patient_attachments", record, content)
