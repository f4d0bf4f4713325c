"""Treatment note content in Cliniko's shape: sections of questions, answered as text,
paragraphs (sanitised HTML), dates, checkboxes or radio buttons. One planted note carries a
pasted-in history of more than 100,000 characters."""

from __future__ import annotations

import random
from typing import Any

from .clock import DAY, iso_day
from .problems import LONG_NOTE_CHARS

COMPLAINTS = ("Left knee pain &amp; swelling after running", "Lower back stiffness, worse in the mornings",
              "Right shoulder pain reaching overhead", "Neck pain with headaches after desk work",
              "Ankle sprain playing netball", "Hip pain on stairs", "Tingling in the left hand ✋",
              "Post-op rehab after ACL reconstruction")
FINDINGS = ("Reduced flexion, mild effusion.", "Tender over L4/5, flexion 60%.",
            "Painful arc 80-120°, strength 4/5.", "Upper trapezius trigger points; rotation limited.",
            "Swelling lateral malleolus; hop test not attempted.", "Trendelenburg positive on the right.")
ASSESSMENTS = ("Patellofemoral pain.", "Non-specific low back pain.", "Rotator cuff tendinopathy.",
               "Cervicogenic headache.", "Grade II lateral ankle sprain.", "Gluteal tendinopathy.")
EXERCISES = ("Quads sets 3x10, step-ups 3x8", "Bird dog 3x10, cat-camel 10", "Banded ER 3x12, wall slides 10",
             "Chin tucks 10 every hour", "Calf raises 3x15, balance 30 s", "Clams 3x15, bridges 3x10")
PAIN_TYPES = ("Sharp", "Dull", "Aching", "Burning", "Throbbing")
TREATMENTS = ("Manual therapy", "Dry needling", "Taping", "Exercise prescription", "Education")
HISTORY = ("Imported from the previous system: visit on {d} - reviewed, exercises progressed, "
           "patient reports {p}% improvement; plan unchanged; follow up in two weeks.")


def _one(rng: random.Random, options: tuple[str, ...]) -> str:
    return options[rng.randrange(len(options))]


def _choices(rng: random.Random, options: tuple[str, ...]) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = []
    for value in options:
        answer: dict[str, Any] = {"value": value}
        if rng.random() < 0.35:
            answer["selected"] = True
        answers.append(answer)
    return answers


def _paragraph(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "type": "paragraph", "answer": f"<p>{text}</p>"}


def note_content(rng: random.Random, visit_start: int, *, draft: bool, long: bool) -> dict[str, Any]:
    subjective: list[dict[str, Any]] = [
        _paragraph("Presenting complaint", _one(rng, COMPLAINTS)),
        {"name": "Pain score", "type": "text", "answer": f"{rng.randrange(11)}/10"},
        {"name": "Pain type", "type": "checkboxes", "answers": _choices(rng, PAIN_TYPES),
         "other": {"enabled": True, "selected": False, "value": ""}},
    ]
    plan: list[dict[str, Any]] = [
        {"name": "Treatment today", "type": "checkboxes", "answers": _choices(rng, TREATMENTS)},
        {"name": "Review", "type": "date", "answer": iso_day(visit_start + 14 * DAY)},
        _paragraph("Home exercises", _one(rng, EXERCISES)),
        {"name": "Next visit", "type": "radiobuttons",
         "answers": [{"value": "1 week", "selected": True}, {"value": "2 weeks"}, {"value": "As needed"}]},
    ]
    if draft:  # unfinished: review date and exercises still blank (an unanswered question has no key)
        for question in plan[1:3]:
            del question["answer"]
    sections: list[dict[str, Any]] = [
        {"name": "Subjective", "questions": subjective},
        {"name": "Objective", "questions": [_paragraph("Observations", _one(rng, FINDINGS))]},
        {"name": "Assessment", "description": "Working diagnosis",
         "questions": [_paragraph("Assessment", _one(rng, ASSESSMENTS))]},
        {"name": "Plan", "questions": plan},
    ]
    if long:
        sections.append({"name": "History (imported)", "questions": [
            {"name": "Previous notes", "type": "paragraph", "answer": _history(rng, visit_start)}]})
    return {"sections": sections}


def _history(rng: random.Random, before: int) -> str:
    """Paragraphs of an imported history, just over LONG_NOTE_CHARS characters."""
    parts: list[str] = []
    size = 0
    day = before
    while size <= LONG_NOTE_CHARS + 1_000:
        day -= 14 * DAY
        part = "<p>" + HISTORY.format(d=iso_day(day), p=rng.randrange(5, 95)) + "</p>"
        parts.append(part)
        size += len(part)
    return "\n".join(parts)
