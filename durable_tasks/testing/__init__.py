"""Testing durable tasks: real servers per session, clean state per test, a worker in a line.

Registered through the `pytest11` entry point (`durable_tasks.testing.pytest_plugin`), so
installing durable-tasks with the `testing` extra gives every test suite these fixtures with no
conftest:

    async def test_my_processor(temporal_client, task_store):
        async with running_worker(temporal_client, task_store, SendEmail) as tasks:
            await tasks.start("send-email", workspace_id="ws", input={...}, task_id="t1")
            assert (await tasks.wait("t1")).status == "SUCCESS"

- `pocketbase_server` (session): PocketBase with the migrations and hooks this package ships;
  `task_store`: a `PocketBaseTaskStore` on it, emptied for each test; `workspace_client`:
  an httpx client logged in as a user of a workspace, for isolation tests.
- `temporal_env`: a time-skipping Temporal server, shared by the session's tests while its
  clock skips, replaced after a test that left it held; `temporal_client` its client;
  `temporal_dev_env` (session): a real dev server; `task_queue`: a queue of the test's own.
- `running_worker(client, store, *processors)`: a worker with `DurableTasksPlugin`, and a
  `TaskClient` on its queue.

The servers come from PyPI wheels, so nothing is downloaded and no test skips for want of one.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from durable_tasks.testing._pocketbase import (
        PocketBaseServer as PocketBaseServer,
        pocketbase_server as pocketbase_server,
        task_store as task_store,
        workspace_client as workspace_client,
    )
    from durable_tasks.testing._temporal import (
        running_worker as running_worker,
        task_queue as task_queue,
        temporal_client as temporal_client,
        temporal_dev_env as temporal_dev_env,
        temporal_env as temporal_env,
        temporal_time_skipping_server as temporal_time_skipping_server,
    )

# Loaded on first use: the pytest plugin lives in this package and must be importable (to warn
# helpfully) where pytest-asyncio, which the fixtures need, is not installed.
_EXPORTS: dict[str, str] = {
    "PocketBaseServer": "durable_tasks.testing._pocketbase",
    "pocketbase_server": "durable_tasks.testing._pocketbase",
    "running_worker": "durable_tasks.testing._temporal",
    "task_queue": "durable_tasks.testing._temporal",
    "task_store": "durable_tasks.testing._pocketbase",
    "temporal_client": "durable_tasks.testing._temporal",
    "temporal_dev_env": "durable_tasks.testing._temporal",
    "temporal_env": "durable_tasks.testing._temporal",
    "temporal_time_skipping_server": "durable_tasks.testing._temporal",
    "workspace_client": "durable_tasks.testing._pocketbase",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'durable_tasks.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
