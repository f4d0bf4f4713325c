"""The `flitstack` command line."""
