"""The dispatcher: tasks started, failed, cancelled and rerun from records users write.

Real PocketBase, real (time-skipping) Temporal, records created through PocketBase's API as a
workspace user, exactly as a front end does.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from durable_tasks._dispatcher import Dispatcher
from durable_tasks.client import TaskClient
from durable_tasks.dispatch import TaskRequest
from durable_tasks.models import TaskPatch, TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseDispatchSource, PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import PocketBaseServer, running_worker
from tests.support.dispatch_processors import RUNS, Count, Hold, Pair
from tests.support.waiting import eventually

RECORDS = "/api/collections/tasks/records"
TYPES = "/api/collections/task_types/records"
UserClient = Callable[[str], httpx.Client]
PROCESSORS = (Count, Hold, Pair)


@pytest.fixture
async def source(
    pocketbase_server: PocketBaseServer, task_store: PocketBaseTaskStore
) -> AsyncIterator[PocketBaseDispatchSource]:
    """A dispatch source on the session's server, with no task types left over."""
    with pocketbase_server.admin_client() as admin:
        for item in admin.get(TYPES, params={"perPage": 500}).json()["items"]:
            admin.delete(f"{TYPES}/{item['id']}").raise_for_status()
    dispatch_source = PocketBaseDispatchSource(
        pocketbase_server.url,
        pocketbase_server.admin_email,
        pocketbase_server.admin_password,
        token=pocketbase_server.admin_token,
    )
    try:
        yield dispatch_source
    finally:
        await dispatch_source.close()


@contextlib.asynccontextmanager
async def dispatching(
    client: Client,
    store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    *,
    dispatchers: int = 1,
) -> AsyncIterator[list[Dispatcher]]:
    """A worker for PROCESSORS, and `dispatchers` dispatchers on its queue, each running."""
    queue = f"tq-{uuid.uuid4()}"
    registry = ProcessorRegistry.of(*PROCESSORS)
    async with running_worker(client, store, *PROCESSORS, task_queue=queue):
        found = [
            Dispatcher(
                TaskClient(client, store, registry, task_queue=queue),
                source,
                sweep_every=timedelta(seconds=1),
                page_size=3,  # several pages per sweep, to exercise the paging
            )
            for _ in range(dispatchers)
        ]
        running = [asyncio.create_task(d.run()) for d in found]
        try:
            yield found
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)


def create(user: httpx.Client, task_id: str, type: str, input: Any) -> None:
    response = user.post(RECORDS, json={"id": task_id, "type": type, "input": input})
    assert response.status_code == 200, response.text


async def final(store: PocketBaseTaskStore, task_id: str, timeout: float = 30) -> TaskRecord:
    async def probe() -> TaskRecord | None:
        record = await store.get(task_id)
        return record if record is not None and record.status.is_final else None

    return await eventually(probe, timeout=timeout, what=f"task {task_id} to finish")


async def test_records_created_by_users_run_exactly_once_with_three_dispatchers(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    ids = [f"once-{i}-{uuid.uuid4().hex[:6]}" for i in range(8)]
    async with dispatching(temporal_client, task_store, source, dispatchers=3):
        for i, task_id in enumerate(ids):
            create(alice, task_id, "count", {"n": i})
        create(alice, "once-flow", "pair", {"label": "x"})
        records = [await final(task_store, task_id) for task_id in [*ids, "once-flow"]]
    assert [r.status for r in records] == [TaskStatus.SUCCESS] * (len(ids) + 1)
    assert [RUNS[task_id] for task_id in ids] == [1] * len(ids)
    assert [r.result for r in records[:3]] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert records[-1].result["completedSteps"] == ["first", "second"]


async def test_records_created_while_no_worker_runs_start_when_one_comes_up(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    ids = [f"early-{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
    for task_id in ids:
        create(alice, task_id, "count", {"n": 3})
    assert [(await task_store.get(t)).status for t in ids] == [TaskStatus.PENDING] * 5  # type: ignore[union-attr]
    async with dispatching(temporal_client, task_store, source):
        records = [await final(task_store, task_id) for task_id in ids]
    assert [r.status for r in records] == [TaskStatus.SUCCESS] * 5
    assert [RUNS[task_id] for task_id in ids] == [1] * 5


async def test_invalid_input_and_unknown_types_end_failed_with_the_reason(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    async with dispatching(temporal_client, task_store, source):
        create(alice, "bad-input", "count", {"n": "many"})
        create(alice, "no-input", "count", None)
        create(alice, "bad-type", "no-such-type", {})
        bad, missing, unknown = [
            await final(task_store, t) for t in ("bad-input", "no-input", "bad-type")
        ]
    assert (bad.status, missing.status, unknown.status) == (TaskStatus.FAILED,) * 3
    assert "n:" in bad.error_log and "integer" in bad.error_log
    assert bad.errors[0].error_type == "InvalidInputError" and bad.errors[0].final
    assert "n:" in missing.error_log
    assert "unknown task type 'no-such-type'" in unknown.error_log
    assert "known types: count, hold, pair" in unknown.error_log
    assert len(unknown.errors) == 1


async def test_a_type_served_by_no_live_worker_stays_pending(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    """A type some worker published (maybe one that is down) waits for it, never fails."""
    from durable_tasks.dispatch import TaskType

    await source.publish_types([TaskType(name="elsewhere", kind="simple")])
    alice = workspace_client("ws-a")
    create(alice, "waits", "elsewhere", {})
    async with dispatching(temporal_client, task_store, source) as (dispatcher,):
        assert await dispatcher.sweep() >= 1  # it saw the record, and did nothing with it
        record = await task_store.get("waits")
    assert record is not None and record.status == TaskStatus.PENDING and record.error_log == ""


async def test_a_cancel_request_cancels_and_a_rerun_request_reruns(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    async with dispatching(temporal_client, task_store, source, dispatchers=2):
        create(alice, "long", "hold", {})
        create(alice, "again", "count", {"n": 1})

        async def running() -> bool:
            record = await task_store.get("long")
            return record is not None and record.status == TaskStatus.RUNNING

        await eventually(running, what="the long task to run")
        asked = alice.patch(f"{RECORDS}/long", json={"cancelRequested": True})
        assert asked.status_code == 200, asked.text
        cancelled = await final(task_store, "long")

        assert (await final(task_store, "again")).status == TaskStatus.SUCCESS
        assert RUNS["again"] == 1
        rerun = alice.patch(f"{RECORDS}/again", json={"rerunRequested": True})
        assert rerun.status_code == 200, rerun.text
        await eventually(lambda: RUNS["again"] == 2, what="the rerun")
        again = await final(task_store, "again")
        flags = alice.get(f"{RECORDS}/again").json()
    assert cancelled.status == TaskStatus.CANCELLED
    assert again.status == TaskStatus.SUCCESS and RUNS["again"] == 2
    assert (flags["rerunRequested"], flags["cancelRequested"]) == (False, False)


async def test_a_cancel_request_on_a_task_not_started_cancels_it(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    create(alice, "never", "count", {"n": 1})
    assert alice.patch(f"{RECORDS}/never", json={"cancelRequested": True}).status_code == 200
    async with dispatching(temporal_client, task_store, source):
        record = await final(task_store, "never")
    assert record.status == TaskStatus.CANCELLED
    assert "never" not in RUNS


async def test_workers_publish_their_task_types_for_front_ends(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    source: PocketBaseDispatchSource,
    workspace_client: UserClient,
) -> None:
    alice = workspace_client("ws-a")
    before = datetime.now(UTC) - timedelta(seconds=1)
    async with dispatching(temporal_client, task_store, source, dispatchers=2):

        def published() -> dict[str, Any]:
            items = alice.get(TYPES, params={"perPage": 50}).json()["items"]
            return {item["name"]: item for item in items}

        types = await eventually(lambda: len(published()) == 3 and published())
    assert types["count"]["kind"] == "simple"
    schema = types["count"]["inputSchema"]
    assert schema["required"] == ["n"] and schema["properties"]["n"]["type"] == "integer"
    assert "taskId" not in schema["properties"] and "input" not in schema["properties"]
    assert types["pair"]["kind"] == "flow"
    assert types["pair"]["steps"] == [
        {"name": "first", "dependsOn": []},
        {"name": "second", "dependsOn": ["first"]},
    ]
    assert "stepResults" not in types["pair"]["inputSchema"]["properties"]
    last_seen = datetime.fromisoformat(types["hold"]["lastSeen"].replace(" ", "T"))
    assert last_seen >= before


async def test_a_start_from_python_keeps_its_options_while_dispatchers_run(
    temporal_client: Client, task_store: PocketBaseTaskStore, source: PocketBaseDispatchSource
) -> None:
    """`TaskClient.start` creates the record, then starts the workflow with its timeout; the
    dispatchers see the new record first, and must leave it to its creator."""
    async with dispatching(temporal_client, task_store, source, dispatchers=3) as dispatchers:
        tasks = dispatchers[0].tasks
        outcomes = []
        for i in range(3):
            outcome = await tasks.start(
                "hold", workspace_id="ws", task_id=f"timed-{i}", timeout=timedelta(hours=5)
            )
            outcomes.append(outcome.outcome)
            description = await tasks.handle(f"timed-{i}").describe()
            config = description.raw_description.execution_config
            assert config.workflow_execution_timeout.ToTimedelta() == timedelta(hours=5)
            assert await tasks.cancel(f"timed-{i}")
    assert outcomes == ["started"] * 3


async def test_the_live_feed_carries_only_what_a_dispatcher_may_act_on(
    source: PocketBaseDispatchSource, task_store: PocketBaseTaskStore
) -> None:
    """PocketBase filters the feed: a running task's state writes never reach the workers."""
    seen: list[tuple[str, str, bool]] = []
    subscribed = asyncio.Event()

    async def follow() -> None:
        async for change in source.changes():
            if not isinstance(change, TaskRequest):
                subscribed.set()
                continue
            seen.append((change.id, change.status.value, change.rerun_requested))

    feed = asyncio.create_task(follow())
    try:
        await asyncio.wait_for(subscribed.wait(), 20)
        await task_store.create(task_id="feed-1", workspace_id="ws", type="count", input={})
        for patch in (
            TaskPatch(run_id="r1", new_run=True, status=TaskStatus.RUNNING),
            TaskPatch(run_id="r1", progress=50),
            TaskPatch(run_id="r1", status=TaskStatus.SUCCESS),
        ):
            await task_store.sync("feed-1", patch)
        await task_store.create(task_id="feed-2", workspace_id="ws", type="count", input={})
        # feed-2's create arrives after every write of feed-1: what was left out was filtered
        await eventually(lambda: any(s[0] == "feed-2" for s in seen), what="the second create")
    finally:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
    assert seen == [("feed-1", "PENDING", False), ("feed-2", "PENDING", False)]
