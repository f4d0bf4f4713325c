"""The runner: the pipeline from source to target in plan order, checkpointed in the state store."""
