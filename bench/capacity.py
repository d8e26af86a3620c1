"""PocketBase capacity: how many tasks per second one PocketBase keeps in sync, Temporal aside.

The worker's `SyncWriter` alone, driven as hard as it goes: `concurrency` virtual tasks at a time
each make the two writes a simple task's life needs after its record exists (the claim, RUNNING;
then the final state, SUCCESS with a result), each write waiting until it landed, as a real
task's final write follows its claim. Run with batching (the writer's defaults) and without
(one patch per request), on records created beforehand (untimed).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.sync import SyncWriter


async def tasks_per_second(
    url: str,
    email: str,
    password: str,
    *,
    prefix: str,
    tasks: int,
    batching: bool,
    concurrency: int = 200,
) -> float:
    """Tasks per second whose claim and final state both landed."""
    store = PocketBaseTaskStore(url, email, password)
    ids = [f"{prefix}-{i:05d}" for i in range(tasks)]
    gate = asyncio.Semaphore(16)

    async def create(task_id: str) -> None:
        async with gate:
            await store.create(task_id=task_id, workspace_id="bench", type="capacity", input={})

    await asyncio.gather(*(create(t) for t in ids))
    # unbatched: one patch per request, each sent as soon as it can go (no group commit)
    writer = SyncWriter(store, max_batch=200 if batching else 1, linger=0.02 if batching else 0.0)
    await writer.start()
    lanes = asyncio.Semaphore(concurrency)

    async def life(task_id: str) -> None:
        async with lanes:
            run = f"run-{task_id}"
            now = datetime.now(UTC)
            claim = {"new_run": True, "status": TaskStatus.RUNNING, "started_at": now}
            writer.submit(task_id, run, claim)
            await writer.flush(task_id, 60)
            final = {"status": TaskStatus.SUCCESS, "result": {"ok": True}, "completed_at": now}
            writer.submit(task_id, run, final)
            await writer.flush(task_id, 60)

    try:
        began = time.perf_counter()
        await asyncio.gather(*(life(t) for t in ids))
        elapsed = time.perf_counter() - began
    finally:
        await writer.close()
        await store.close()
    return tasks / elapsed
