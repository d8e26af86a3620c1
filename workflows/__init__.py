"""Concrete flow processors (Temporal workflows)."""
