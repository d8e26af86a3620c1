"""Concrete simple processors and step activities."""
