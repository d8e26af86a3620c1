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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the `slow` tests first, in their collected order, then the rest.

    `make test` spreads the suite over xdist workers a module at a time, in the order of the
    modules' first tests (`--dist loadscope --no-loadscope-reorder`): a module of 20 s collected
    last would run alone at the end while the other workers idle. First, the long ones overlap
    each other and the many short modules fill the gaps.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
