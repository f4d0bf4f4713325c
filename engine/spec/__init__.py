"""Reading specs: YAML with locations, overlays, JSON Schema and semantic checks."""
