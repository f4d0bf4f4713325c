"""Shared test settings."""

from hypothesis import HealthCheck, settings

# Timing varies with machine load (CI shares two cores); correctness, not speed, is tested here.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

# The Cliniko emulator's shared fixtures (tls, sandbox, api) live beside its fixture data.
pytest_plugins = ["sandbox_cliniko_fixture"]
