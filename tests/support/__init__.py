"""Helpers and processors shared by the test suite (the one place tests keep them)."""
