"""Guarantee 4: nothing is lost when PocketBase is down, and the work does not wait for it.

A dedicated PocketBase (the session one is shared) is stopped while a task runs: the business
work goes on and the workflow finishes while the server is still down (no state write sits on
Temporal's critical path), and once the server is back on the same port and data, the record
reaches its correct final state with no operator action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from durable_tasks.context import TaskContext
from durable_tasks.dev import (
    PocketBaseProcess,
    free_port,
    project_pb_dirs,
    start_pocketbase,
)
from durable_tasks.models import SimpleJobData, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.testing import running_worker
from tests.support.flow_fixtures import RUNS, STORE, Sequential, gate
from tests.support.waiting import eventually

EMAIL, PASSWORD = "outage@example.com", "outage-password-123"
SIGNALS: dict[str, asyncio.Event] = {}
DONE_WORK: list[str] = []


class Resilient(BaseSimpleProcessor[SimpleJobData]):
    """Starts, waits while the test stops PocketBase, then does its work regardless."""

    name = "resilient"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> dict[str, str]:
        SIGNALS["started"].set()
        await SIGNALS["pocketbase-down"].wait()
        for percent in (25, 50, 75):
            ctx.report_progress(percent)  # queued while the store is down; never blocks
        DONE_WORK.append(ctx.task_id)
        return {"work": "done"}


class _Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: PocketBaseProcess | None = None

    def start(self) -> None:
        migrations, hooks = project_pb_dirs()
        self.process = start_pocketbase(
            self.data_dir,
            self.port,
            admin_email=EMAIL,
            admin_password=PASSWORD,
            migrations_dir=migrations,
            hooks_dir=hooks,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    srv = _Server(tmp_path / "pb_data")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.slow
async def test_final_state_lands_after_pocketbase_comes_back(
    temporal_client: Client, server: _Server
) -> None:
    SIGNALS.update(started=asyncio.Event(), **{"pocketbase-down": asyncio.Event()})
    url = f"http://127.0.0.1:{server.port}"
    # A short per-call retry so attempts fail fast while the server is down; the sync's own
    # retry loop (durable, with backoff) is what must bring the state home.
    store = PocketBaseTaskStore(url, EMAIL, PASSWORD, retry_for=0.5)
    try:
        async with running_worker(temporal_client, store, Resilient) as tasks:
            await tasks.start("resilient", workspace_id="ws", task_id="out1")
            await asyncio.wait_for(SIGNALS["started"].wait(), 30)
            server.stop()
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{url}/api/health", timeout=2)
            SIGNALS["pocketbase-down"].set()
            await eventually(lambda: _async(DONE_WORK == ["out1"]), what="the work to finish")

            # The workflow does not wait for the store: it finishes while PocketBase is down.
            assert await asyncio.wait_for(tasks.handle("out1").result(), 30) == {"work": "done"}
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{url}/api/health", timeout=2)

            server.start()  # same port, same data: no operator action beyond the server itself
            record = await asyncio.wait_for(tasks.wait("out1"), 90)
    finally:
        await store.close()
    assert record.status == TaskStatus.SUCCESS
    assert record.result == {"work": "done"}
    assert record.progress == 100
    assert record.completed_at is not None


async def _async(value: bool) -> bool:
    return value


@pytest.mark.slow
async def test_flow_steps_and_retry_timers_go_on_while_pocketbase_is_down(
    temporal_client: Client, server: _Server
) -> None:
    """A flow whose first step waits until PocketBase is gone, then a step that fails once (a
    retry timer), then a last step: all of it runs and the workflow completes while the store is
    down; every state — steps, the one error entry, SUCCESS — lands once it is back."""
    RUNS.clear()
    STORE.clear()
    url = f"http://127.0.0.1:{server.port}"
    store = PocketBaseTaskStore(url, EMAIL, PASSWORD, retry_for=0.5)
    try:
        async with running_worker(temporal_client, store, Sequential) as tasks:
            data = {"block": ["fetch"], "failTimes": {"shrink": 1}}
            await tasks.start("tf-sequential", workspace_id="ws", task_id="out2", input=data)
            await asyncio.wait_for(gate("out2:fetch:started").wait(), 30)
            server.stop()
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{url}/api/health", timeout=2)
            gate("out2:fetch:release").set()

            result = await asyncio.wait_for(tasks.handle("out2").result(), 30)
            assert result["completedSteps"] == ["fetch", "shrink", "store"]
            assert RUNS == {"out2:fetch": 1, "out2:shrink": 2, "out2:store": 1}
            with pytest.raises(httpx.ConnectError):  # all of that while PocketBase was down
                httpx.get(f"{url}/api/health", timeout=2)

            server.start()
            record = await asyncio.wait_for(tasks.wait("out2", settle=60), 90)
    finally:
        await store.close()
    assert record.status == TaskStatus.SUCCESS and record.progress == 100
    assert record.result["completedSteps"] == ["fetch", "shrink", "store"]
    assert [(e.step, e.attempt, e.final) for e in record.errors] == [("shrink", 1, False)]
