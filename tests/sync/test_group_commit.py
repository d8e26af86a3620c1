"""Group commit: a busy writer (or client) holds its next request for a moment, so one request
carries the state of many tasks; after a quiet moment, a write goes out at once.

The writer runs against a real PocketBase (requests are what it saves); the `Coalescer` under
the client's creates and reads is plain logic, tested with a recording `send`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.pocketbase._coalesce import Coalescer
from durable_tasks.sync import SyncWriter
from tests.support.waiting import eventually


async def _created(store: PocketBaseTaskStore, ids: Sequence[str]) -> None:
    await asyncio.gather(
        *(store.create(task_id=t, workspace_id="ws", type="demo", input=None) for t in ids)
    )


def _claim() -> dict[str, object]:
    return {"new_run": True, "status": TaskStatus.RUNNING, "started_at": datetime.now(UTC)}


async def test_a_busy_writer_sends_the_state_of_many_tasks_in_few_requests(
    task_store: PocketBaseTaskStore,
) -> None:
    ids = [f"gc-busy-{n}" for n in range(40)]
    await _created(task_store, ids)
    writer = SyncWriter(task_store, linger=600.0)
    await writer.start()
    try:
        writer.submit(ids[0], "r1", _claim())  # after a quiet moment: out at once, alone
        await eventually(
            lambda: writer.requests == 1 and not writer._in_flight, what="the first write sent"
        )
        # the writer now lingers (with linger=0 it never does, and the wait below fails)
        await eventually(lambda: writer._pacing._woken is not None, what="the writer lingering")
        for task_id in ids[1:]:  # the next tasks hand over while it lingers: all held
            writer.submit(task_id, "r1", _claim())
        assert writer.requests == 1 and set(writer._pending) == set(ids[1:])
        assert all(await asyncio.gather(*(writer.flush(t, timeout=30) for t in ids)))
        # awaited, the held state of 39 tasks went out together
        assert writer.requests <= 3, writer.requests
        assert writer.requests == 2
        assert writer.items == len(ids)
    finally:
        await writer.close()
    records = await asyncio.gather(*(task_store.get(t) for t in ids))
    assert [r.status if r else None for r in records] == [TaskStatus.RUNNING] * len(ids)


async def test_a_write_after_a_quiet_moment_is_not_held_and_one_awaited_skips_the_linger(
    task_store: PocketBaseTaskStore,
) -> None:
    await _created(task_store, ["gc-quiet-1", "gc-quiet-2"])
    writer = SyncWriter(task_store, linger=600.0)
    await writer.start()
    try:
        writer.submit("gc-quiet-1", "r1", _claim())
        # not flushed (a flush would make it urgent): it goes out on its own, not in 600 s
        await eventually(lambda: writer.requests == 1, timeout=30, what="the lone write sent")
        await eventually(lambda: "gc-quiet-1" not in writer._in_flight, timeout=30)
        writer.submit("gc-quiet-2", "r1", _claim())  # right behind it: held for the linger
        await eventually(lambda: writer._pacing._woken is not None, what="the writer lingering")
        assert writer.requests == 1 and "gc-quiet-2" in writer._pending
        assert await writer.flush("gc-quiet-2", timeout=30)  # awaited: sent without the linger
        assert writer.requests == 2
    finally:
        await writer.close()
    record = await task_store.get("gc-quiet-2")
    assert record is not None and record.status == TaskStatus.RUNNING


async def test_a_writer_started_and_closed_again_and_again_still_writes(
    task_store: PocketBaseTaskStore,
) -> None:
    """The plugin starts and closes the writer with every worker run in a process: a close
    that lands while the writer waits (gather, linger) must not keep its request slot."""
    writer = SyncWriter(task_store)
    for n in range(4):
        await _created(task_store, [f"gc-cycle-{n}"])
        await writer.start()
        try:
            writer.submit(f"gc-cycle-{n}", "r1", _claim())
            assert await writer.flush(f"gc-cycle-{n}", timeout=30), f"cycle {n}: not written"
        finally:
            await writer.close()


def test_the_linger_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="linger"):
        SyncWriter(object(), linger=-1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="linger"):
        Coalescer(_echo, linger=-0.1)


async def _echo(items: Sequence[int]) -> list[int]:
    return list(items)


async def test_a_coalescer_with_a_linger_batches_the_calls_that_arrive_while_it_waits() -> None:
    batches: list[list[int]] = []

    async def send(items: Sequence[int]) -> list[int]:
        batches.append(list(items))
        return [i * 10 for i in items]

    coalescer: Coalescer[int, int] = Coalescer(send, linger=2.0)
    first = await coalescer.call(-1)  # after a quiet moment: at once, alone
    assert first == -10 and batches == [[-1]]

    loop = asyncio.get_running_loop()
    calls = [asyncio.ensure_future(coalescer.call(0))]  # right behind it: its lane lingers
    await eventually(lambda: coalescer._last_send > loop.time(), what="a lane lingering")
    calls += [asyncio.ensure_future(coalescer.call(n)) for n in range(1, 30)]  # meanwhile
    results = await asyncio.gather(*calls)
    assert results == [n * 10 for n in range(30)]  # each caller its own answer
    assert len(batches) <= 3, batches  # held for the linger: few requests, not 30
    assert sorted(i for b in batches[1:] for i in b) == list(range(30))
    assert batches[1:] == [list(range(30))]  # in fact one


async def test_a_coalescer_sends_a_lone_call_at_once() -> None:
    sent = asyncio.Event()

    async def send(items: Sequence[int]) -> list[int]:
        sent.set()
        return list(items)

    coalescer: Coalescer[int, int] = Coalescer(send, linger=30.0)
    task = asyncio.ensure_future(coalescer.call(1))
    await eventually(sent.is_set, timeout=2.0, what="the lone call sent")
    assert await task == 1
