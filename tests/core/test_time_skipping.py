"""The time-skipping server's clock, and why `temporal_env` checks it after every test.

A cancelled task's workflow closes while its attempt is still scheduled (`TRY_CANCEL`); the
test server then holds its clock for good, and every timer of every later test on that server
runs in real time. `temporal_env` replaces such a server; this pins both halves.
"""

from __future__ import annotations

import asyncio
import time

from durable_tasks.context import TaskContext
from durable_tasks.memory_store import MemoryTaskStore
from durable_tasks.models import SimpleJobData, TaskStatus
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.testing import running_worker
from durable_tasks.testing._temporal import TimeSkippingServer, clock_skips

HELD: dict[str, asyncio.Event] = {}


class Hold(BaseSimpleProcessor[SimpleJobData]):
    """Runs (heartbeating, via the base) until it is cancelled."""

    name = "ts-hold"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        HELD.setdefault(ctx.task_id, asyncio.Event()).set()
        await asyncio.Event().wait()


class FailsTwice(BaseSimpleProcessor[SimpleJobData]):
    """Succeeds on its third attempt, after the default backoff of 2 s and then 4 s."""

    name = "ts-fails-twice"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> int:
        if ctx.attempt < 3:
            raise ConnectionError(f"attempt {ctx.attempt}")
        return ctx.attempt


BACKOFF_S = 2.0 + 4.0


async def test_a_cancelled_task_holds_the_clock_and_the_server_is_replaced() -> None:
    server = TimeSkippingServer()
    store = MemoryTaskStore()
    try:
        env = await server.get()
        assert await clock_skips(env)
        async with running_worker(env.client, store, Hold) as tasks:
            await tasks.start("ts-hold", workspace_id="ws", task_id="held")
            await asyncio.wait_for(HELD.setdefault("held", asyncio.Event()).wait(), 20)
            assert await tasks.cancel("held") is True
            assert (await tasks.wait("held")).status == TaskStatus.CANCELLED
        # Closed with its attempt still scheduled: the server's clock never skips again.
        assert not await clock_skips(env)

        await server.check("this test")
        fresh = await server.get()
        assert fresh is not env and server.replaced == 1
        async with running_worker(fresh.client, store, FailsTwice) as tasks:
            began = time.monotonic()
            await tasks.start("ts-fails-twice", workspace_id="ws", task_id="retried")
            record = await tasks.wait("retried")
            took = time.monotonic() - began
        assert record.status == TaskStatus.SUCCESS and record.attempts == 3
        assert took < BACKOFF_S, f"the backoff ran in real time ({took:.1f}s)"
        await server.check("this test")
        assert server.replaced == 1  # a free clock is kept
    finally:
        await server.close()
