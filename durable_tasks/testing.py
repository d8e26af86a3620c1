"""Pytest fixtures for durable-tasks users and our own tests (filled in by the foundation work)."""
