"""Synthetic clinic generator: a deterministic Cliniko account of any size, in storage form,
with data-quality problems planted at exact, documented counts (see problems.py).

    clinic = generate_clinic(seed=7, patients=2000)
    for item in clinic.records(): ...      # streamed, parents before children
    clinic.manifest.problems["duplicate_patients_email"]
"""

from .clinic import SyntheticClinic, generate_clinic
from .model import GeneratedRecord, Manifest

__all__ = ["GeneratedRecord", "Manifest", "SyntheticClinic", "generate_clinic"]
