"""The data-quality audit: what in the source data will not migrate cleanly, before anything moves."""
