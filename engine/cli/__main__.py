"""`python -m engine.cli` runs the `flitstack` command."""

from engine.cli.main import main

main()
