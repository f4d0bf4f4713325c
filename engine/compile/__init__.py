"""Compiling a validated spec into fast record transforms and a load plan."""
