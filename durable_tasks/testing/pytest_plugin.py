"""The pytest plugin entry point: registers durable-tasks' fixtures (see `durable_tasks.testing`).

Installing durable-tasks registers this plugin in every pytest run of the environment. The
fixtures need the `testing` extra (pytest-asyncio, the time-skipping server); without it the
plugin registers nothing rather than breaking unrelated test suites, and says how to get them.
"""

from __future__ import annotations

import warnings

try:
    from durable_tasks.testing import (  # noqa: F401  (fixtures are registered by name)
        pocketbase_server,
        task_queue,
        task_store,
        temporal_client,
        temporal_dev_env,
        temporal_env,
        temporal_time_skipping_server,
        workspace_client,
    )
except ModuleNotFoundError as err:
    if err.name != "pytest_asyncio":
        raise
    warnings.warn(
        "durable-tasks' pytest fixtures need pytest-asyncio: pip install 'durable-tasks[testing]'",
        stacklevel=1,
    )
