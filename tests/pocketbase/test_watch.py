"""`durable_tasks.watch`: ordering by `seq`, refetch after every (re)connect, bounded backoff,
and the PocketBase realtime transport against a real server.

The ordering tests drive `TaskWatcher` with a scripted source (each connection a list of
events, ending with a disconnect) and an in-memory store, so every out-of-order and missed-event
case is exact; the realtime tests check that the transport really delivers PocketBase's events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import httpx
import pytest

from durable_tasks.errors import StorePermanentError, StoreUnavailableError, TaskNotFoundError
from durable_tasks.memory_store import MemoryTaskStore
from durable_tasks.models import TaskPatch, TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseRealtime, PocketBaseTaskStore
from durable_tasks.pocketbase._realtime import _sse_events
from durable_tasks.testing import PocketBaseServer
from durable_tasks.watch import SUBSCRIBED, Backoff, PollingSource, TaskWatcher

NO_WAIT = Backoff(initial=0.001, maximum=0.001)


def rec(seq: int, status: TaskStatus = TaskStatus.RUNNING, progress: float = 0) -> TaskRecord:
    return TaskRecord(
        id="t1", workspace_id="ws", type="demo", status=status, progress=progress, seq=seq
    )


class Disconnect(httpx.ReadError):
    def __init__(self) -> None:
        super().__init__("connection reset by peer")


class ScriptedSource:
    """Each call to `changes` plays the next connection's script; `Disconnect` raises there.
    Before each connection's `SUBSCRIBED`, `on_connect` runs (to change the store meanwhile)."""

    def __init__(self, *connections: list[Any], on_connect: Any = None) -> None:
        self.connections = list(connections)
        self.on_connect = on_connect
        self.opened = 0
        self.closed = 0

    async def changes(self, task_id: str) -> AsyncGenerator[Any, None]:
        script = self.connections.pop(0)
        self.opened += 1
        try:
            for item in script:
                if item is Disconnect:
                    raise Disconnect()
                if item is SUBSCRIBED and self.on_connect is not None:
                    await self.on_connect(self.opened)
                yield item
        finally:
            self.closed += 1


class StubStore(MemoryTaskStore):
    """A store whose `get` answers what the test says the record is now."""

    def __init__(self, *answers: TaskRecord | None) -> None:
        super().__init__()
        self.answers = list(answers)
        self.gets = 0

    async def get(self, task_id: str) -> TaskRecord | None:
        self.gets += 1
        return self.answers.pop(0)


async def collect(watcher: TaskWatcher, task_id: str = "t1") -> list[int]:
    async with aclosing(watcher.subscribe(task_id)) as records:
        return [record.seq async for record in records]


async def test_out_of_order_and_duplicate_events_are_dropped() -> None:
    source = ScriptedSource(
        [SUBSCRIBED, rec(3), rec(2), rec(5), rec(4), rec(5), rec(6, TaskStatus.SUCCESS, 100)]
    )
    watcher = TaskWatcher(StubStore(rec(2)), source, backoff=NO_WAIT)
    assert await collect(watcher) == [2, 3, 5, 6]
    assert source.closed == 1  # the transport was closed once the task ended


async def test_refetch_after_reconnect_recovers_missed_writes() -> None:
    # Connection 1 sees seq 1..2 and drops; seq 3 and 4 are written while disconnected (never
    # replayed as events); connection 2 refetches seq 4, then gets a late 3 and the final 5.
    source = ScriptedSource(
        [SUBSCRIBED, rec(2), Disconnect],
        [SUBSCRIBED, rec(3), rec(5, TaskStatus.FAILED)],
    )
    store = StubStore(rec(1), rec(4))
    watcher = TaskWatcher(store, source, backoff=NO_WAIT)
    assert await collect(watcher) == [1, 2, 4, 5]
    assert store.gets == 2 and watcher.connections == 2


async def test_refetch_happens_after_subscribing_not_before() -> None:
    # A write landing between "subscribed" and the read is seen by the read; one landing
    # before the subscription is seen by the read as well: nothing falls in between.
    order: list[str] = []
    store = StubStore(rec(7, TaskStatus.SUCCESS))

    async def on_connect(n: int) -> None:
        order.append("subscribed")

    original_get = store.get

    async def get(task_id: str) -> TaskRecord | None:
        order.append("get")
        return await original_get(task_id)

    store.get = get  # type: ignore[method-assign]
    source = ScriptedSource([SUBSCRIBED], on_connect=on_connect)
    assert await collect(TaskWatcher(store, source, backoff=NO_WAIT)) == [7]
    assert order == ["subscribed", "get"]


async def test_a_clean_end_of_stream_reconnects_too() -> None:
    source = ScriptedSource([SUBSCRIBED], [SUBSCRIBED, rec(3, TaskStatus.CANCELLED)])
    watcher = TaskWatcher(StubStore(rec(1), rec(2)), source, backoff=NO_WAIT)
    assert await collect(watcher) == [1, 2, 3]


async def test_until_final_false_keeps_following() -> None:
    source = ScriptedSource([SUBSCRIBED, rec(2, TaskStatus.SUCCESS), rec(3)])
    watcher = TaskWatcher(StubStore(rec(1)), source, backoff=NO_WAIT)
    seen = []
    async with aclosing(watcher.subscribe("t1", until_final=False)) as records:
        async for record in records:
            seen.append(record.seq)
            if record.seq == 3:
                break
    assert seen == [1, 2, 3]


async def test_unknown_task_raises_at_once() -> None:
    watcher = TaskWatcher(StubStore(None), ScriptedSource([SUBSCRIBED]), backoff=NO_WAIT)
    with pytest.raises(TaskNotFoundError):
        await collect(watcher)


async def test_gives_up_after_a_long_outage_with_bounded_backoff() -> None:
    class Down:
        attempts = 0

        async def changes(self, task_id: str) -> AsyncGenerator[Any, None]:
            self.attempts += 1
            raise httpx.ConnectError("connection refused")
            yield  # pragma: no cover (makes this an async generator)

    down = Down()
    watcher = TaskWatcher(MemoryTaskStore(), down, backoff=NO_WAIT, give_up_after=0.05)
    with pytest.raises(StoreUnavailableError, match="could not get it back"):
        await collect(watcher)
    assert down.attempts > 1


def test_backoff_grows_and_stays_bounded() -> None:
    backoff = Backoff(initial=0.2, maximum=5.0)
    assert 0.1 <= backoff.delay(1) <= 0.2
    assert 0.2 <= backoff.delay(2) <= 0.4
    assert all(2.5 <= backoff.delay(n) <= 5.0 for n in range(6, 60))


async def test_polling_source_follows_the_store() -> None:
    store = MemoryTaskStore()
    await store.create(task_id="p1", workspace_id="ws", type="demo", input={})

    async def writer() -> None:
        for progress in (10, 50):
            await store.sync(
                "p1", TaskPatch(run_id="r", status=TaskStatus.RUNNING, progress=progress)
            )
        await store.sync("p1", TaskPatch(run_id="r", status=TaskStatus.SUCCESS))

    watcher = TaskWatcher(store, PollingSource(store, interval=0.01))
    writing = asyncio.create_task(writer())
    async with aclosing(watcher.subscribe("p1")) as records:
        seen = [record async for record in records]
    await writing
    seqs = [record.seq for record in seen]
    assert seqs == sorted(set(seqs)) and seen[-1].status == TaskStatus.SUCCESS


async def test_sse_parser() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in ["id:1", "event:PB_CONNECT", 'data:{"clientId":"c"}', "", ": ping", "",
                     "event: tasks/t1", "data: {\"a\":", "data: 1}", "", "data: x", ""]:  # fmt: skip
            yield line

    events = [event async for event in _sse_events(lines())]
    assert events == [
        ("PB_CONNECT", '{"clientId":"c"}'),
        ("tasks/t1", '{"a":\n1}'),
        ("message", "x"),
    ]


# -- the realtime transport on a real PocketBase --------------------------------------------------


def realtime_of(server: PocketBaseServer) -> PocketBaseRealtime:
    return PocketBaseRealtime(server.url, server.admin_email, server.admin_password)


async def test_realtime_delivers_every_write_in_order(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    await task_store.create(task_id="rt1", workspace_id="ws", type="demo", input={})
    watcher = TaskWatcher(task_store, realtime_of(pocketbase_server))

    async def writer() -> None:
        for progress in range(5, 100, 5):
            await task_store.sync(
                "rt1", TaskPatch(run_id="r1", status=TaskStatus.RUNNING, progress=progress)
            )
        await task_store.sync("rt1", TaskPatch(run_id="r1", status=TaskStatus.SUCCESS))

    seen: list[TaskRecord] = []
    writing: list[asyncio.Task[None]] = []
    async with aclosing(watcher.subscribe("rt1")) as records:
        async for record in records:
            seen.append(record)
            if not writing:  # subscribed and refetched: now write
                writing.append(asyncio.create_task(writer()))
    await writing[0]
    seqs = [record.seq for record in seen]
    assert seqs == sorted(set(seqs))
    assert seen[0].seq == 0 and seen[-1].status == TaskStatus.SUCCESS
    assert seen[-1].progress == 100 and seen[-1].seq == 20
    assert len(seen) > 2, "only the refetches arrived: the realtime events did not"
    assert watcher.connections == 1


async def test_realtime_refuses_bad_credentials_and_unknown_tasks(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    wrong = PocketBaseRealtime(pocketbase_server.url, pocketbase_server.admin_email, "wrong-pw")
    with pytest.raises(StorePermanentError, match="POCKETBASE_ADMIN_PASSWORD"):
        await collect(TaskWatcher(task_store, wrong), "whatever")
    with pytest.raises(TaskNotFoundError):
        await collect(TaskWatcher(task_store, realtime_of(pocketbase_server)), "no-such-task")


async def test_realtime_reconnect_refetches_what_the_dead_connection_missed(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    await task_store.create(task_id="rt2", workspace_id="ws", type="demo", input={})

    async def write(**fields: Any) -> None:
        await task_store.sync("rt2", TaskPatch(run_id="r1", **fields))

    class CutOnce:
        """The real transport, whose first connection dies right after its first event, with
        two writes made meanwhile: their events are lost with the connection."""

        def __init__(self) -> None:
            self.inner = realtime_of(pocketbase_server)
            self.calls = 0

        async def changes(self, task_id: str) -> AsyncGenerator[Any, None]:
            self.calls += 1
            async with aclosing(self.inner.changes(task_id)) as items:
                async for item in items:
                    yield item
                    if self.calls == 1 and isinstance(item, TaskRecord):
                        await write(progress=50)
                        await write(status=TaskStatus.SUCCESS)
                        raise Disconnect()

    watcher = TaskWatcher(task_store, CutOnce(), backoff=NO_WAIT)
    seen: list[TaskRecord] = []
    async with aclosing(watcher.subscribe("rt2")) as records:
        async for record in records:
            seen.append(record)
            if len(seen) == 1:
                await write(status=TaskStatus.RUNNING, progress=5)
    assert [record.seq for record in seen] == [0, 1, 3]
    assert seen[-1].status == TaskStatus.SUCCESS and seen[-1].progress == 100
    assert watcher.connections == 2
