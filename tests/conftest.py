"""Shared test settings."""

from hypothesis import HealthCheck, settings

# Timing varies with machine load (CI shares two cores); correctness, not speed, is tested here.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("default")

# Shared fixtures: the Cliniko emulator (tls, sandbox, api) and migrated sandbox workspaces.
pytest_plugins = ["sandbox_cliniko_fixture", "sandbox_migration_fixture"]
