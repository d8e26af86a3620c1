"""Suite-wide hygiene. The fixtures themselves come from our pytest plugin (durable_tasks.testing)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

# A user's project, copied out and tested in a fresh virtualenv by project/test_distribution.py:
# here its `workflows` and `activities` would meet the repository's packages of the same names.
collect_ignore = ["project/user_project"]


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Tests that call the CLI in-process configure logging onto pytest's captured stderr,
    which is closed after the test; later log lines would then hit a closed stream."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
