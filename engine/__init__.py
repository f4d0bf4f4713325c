"""flitstack: a declarative, YAML-driven CRM migration engine."""

__version__ = "0.1.0"
