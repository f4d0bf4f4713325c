"""Reports for people (HTML) and for machines (CSV, JSON), each from the same data."""
