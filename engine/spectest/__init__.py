"""Running a spec's own tests: given source records, expect these target records."""
