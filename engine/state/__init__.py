"""The state store: runs, crosswalk, audit log, quarantine, watermarks, sign-offs."""
