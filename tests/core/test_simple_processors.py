"""Simple processors against a real PocketBase, on the time-skipping Temporal server.

Each scenario of the simple-processor issue: the record goes RUNNING then SUCCESS or FAILED
exactly as the BullMQ reference describes, written by the interceptor alone. Processors here
read the record from inside `process` (test code may; real processors never need to) to prove
what the record says *while* the task runs.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from temporalio.client import Client

from durable_tasks.context import TaskContext
from durable_tasks.errors import InvalidInputError, NonRetryableError
from durable_tasks.models import SimpleJobData, TaskStatus
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.store import TaskStore
from durable_tasks.sync import SyncWriter
from durable_tasks.testing import running_worker
from tests.support.waiting import eventually

STORE: dict[str, TaskStore] = {}
"""The test's store, so processors can look at their own record (test-only)."""


async def _record(task_id: str) -> Any:
    return await STORE["s"].get(task_id)


class StepsData(SimpleJobData):
    steps: int = 3
    fail_times: int = 0


class Counting(BaseSimpleProcessor[StepsData]):
    """Reports progress in steps and checks each value lands while RUNNING."""

    name = "counting"
    input_model = StepsData

    async def process(self, data: StepsData, ctx: TaskContext) -> dict[str, Any]:
        seen = []
        for i in range(1, data.steps + 1):
            percent = 90 * i / data.steps
            ctx.report_progress(percent)
            rec = await eventually(
                lambda p=percent: _landed(ctx.task_id, p), what=f"progress {percent}"
            )
            assert rec.status == TaskStatus.RUNNING
            seen.append(rec.progress)
        return {"seen": seen}


async def _caught_up(task_id: str, entries: int) -> Any:
    rec = await _record(task_id)
    return rec if rec is not None and rec.run_id and len(rec.errors) >= entries else None


async def _landed(task_id: str, percent: float) -> Any:
    rec = await _record(task_id)
    return rec if rec is not None and rec.progress >= percent else None


class Flaky(BaseSimpleProcessor[StepsData]):
    name = "flaky"
    input_model = StepsData

    async def process(self, data: StepsData, ctx: TaskContext) -> str:
        # While retries remain the task stays RUNNING, one error entry per earlier attempt. The
        # record follows the work by a few milliseconds (state is written off the critical
        # path), so wait until it has caught up with the attempts before this one.
        rec = await eventually(
            lambda: _caught_up(ctx.task_id, ctx.attempt - 1), what="the earlier attempts"
        )
        assert rec.status == TaskStatus.RUNNING
        assert len(rec.errors) == ctx.attempt - 1
        if ctx.attempt <= data.fail_times:
            raise ConnectionError(f"flaky upstream, attempt {ctx.attempt}")
        return "recovered"


class Fatal(BaseSimpleProcessor[SimpleJobData]):
    name = "fatal"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        raise NonRetryableError("the media file is corrupt")


STARTED: dict[str, asyncio.Event] = {}


class Blocking(BaseSimpleProcessor[SimpleJobData]):
    """Waits until cancelled or released (heartbeating all along, via the base)."""

    name = "blocking"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> str:
        STARTED.setdefault(ctx.task_id, asyncio.Event()).set()
        release = STARTED.setdefault(f"{ctx.task_id}:release", asyncio.Event())
        await release.wait()
        return "released"


@pytest.fixture(autouse=True)
def _expose_store(task_store: TaskStore) -> None:
    STORE["s"] = task_store


async def test_success_goes_running_then_success(
    temporal_client: Client, task_store: TaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Counting) as tasks:
        await tasks.start("counting", workspace_id="ws", input={"steps": 3}, task_id="ok1")
        record = await tasks.wait("ok1")
    assert record.status == TaskStatus.SUCCESS
    assert record.progress == 100
    assert record.result == {"seen": [30, 60, 90]}
    assert record.attempts == 1
    assert record.started_at is not None and record.completed_at is not None
    assert record.completed_at >= record.started_at
    assert record.errors == [] and record.error_log == ""
    assert record.workflow_id == "task-ok1" and record.run_id


async def test_fails_twice_then_succeeds(temporal_client: Client, task_store: TaskStore) -> None:
    async with running_worker(temporal_client, task_store, Flaky) as tasks:
        await tasks.start("flaky", workspace_id="ws", input={"failTimes": 2}, task_id="fl1")
        record = await tasks.wait("fl1")
    assert record.status == TaskStatus.SUCCESS
    assert record.result == "recovered"
    assert record.attempts == 3
    assert [(e.attempt, e.max_attempts, e.final) for e in record.errors] == [
        (1, 3, False),
        (2, 3, False),
    ]
    assert all(e.error_type == "ConnectionError" and e.step == "flaky" for e in record.errors)
    assert (
        "flaky attempt 1/3 (will retry) ConnectionError: flaky upstream, attempt 1"
        in record.error_log
    )
    assert 'raise ConnectionError(f"flaky upstream' in record.error_log  # the stack is kept
    assert all("in process" in e.stack for e in record.errors)


async def test_always_fails_is_failed_only_after_third_attempt(
    temporal_client: Client, task_store: TaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Flaky) as tasks:
        await tasks.start("flaky", workspace_id="ws", input={"failTimes": 9}, task_id="fl2")
        record = await tasks.wait("fl2")
    assert record.status == TaskStatus.FAILED
    assert record.attempts == 3
    assert [(e.attempt, e.final) for e in record.errors] == [(1, False), (2, False), (3, True)]
    assert record.completed_at is not None


async def test_non_retryable_fails_after_one_attempt(
    temporal_client: Client, task_store: TaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Fatal) as tasks:
        await tasks.start("fatal", workspace_id="ws", task_id="nr1")
        record = await tasks.wait("nr1")
    assert record.status == TaskStatus.FAILED
    assert record.attempts == 1
    assert len(record.errors) == 1
    entry = record.errors[0]
    assert entry.final and entry.error_type == "NonRetryableError"
    assert entry.message == "the media file is corrupt"


async def test_cancel_ends_cancelled(temporal_client: Client, task_store: TaskStore) -> None:
    async with running_worker(temporal_client, task_store, Blocking) as tasks:
        STARTED["c1"] = asyncio.Event()
        await tasks.start("blocking", workspace_id="ws", task_id="c1")
        await asyncio.wait_for(STARTED["c1"].wait(), 20)
        assert await tasks.cancel("c1") is True
        record = await tasks.wait("c1")
    assert record.status == TaskStatus.CANCELLED
    assert record.completed_at is not None
    assert await tasks.cancel("c1") is False  # not running any more


async def test_invalid_input_is_refused_before_anything_starts(
    temporal_client: Client, task_store: TaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Counting) as tasks:
        with pytest.raises(InvalidInputError, match="steps"):
            await tasks.start(
                "counting", workspace_id="ws", input={"steps": "many"}, task_id="bad1"
            )
        with pytest.raises(InvalidInputError, match="taskId"):
            await tasks.start("counting", workspace_id="ws", input={}, task_id="no spaces!")
        assert await task_store.get("bad1") is None
        assert (await tasks._existing("bad1")) is None  # no workflow either


async def test_duplicate_start_attaches_or_reports(
    temporal_client: Client, task_store: TaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Blocking) as tasks:
        STARTED["d1"] = asyncio.Event()
        first = await tasks.start("blocking", workspace_id="ws", task_id="d1")
        await asyncio.wait_for(STARTED["d1"].wait(), 20)
        second = await tasks.start("blocking", workspace_id="ws", task_id="d1")
        assert (first.outcome, second.outcome) == ("started", "already running")
        STARTED.setdefault("d1:release", asyncio.Event()).set()
        record = await tasks.wait("d1")
        third = await tasks.start("blocking", workspace_id="ws", task_id="d1")
    assert record.status == TaskStatus.SUCCESS
    assert third.outcome == "already finished" and third.status == TaskStatus.SUCCESS
    assert "durable-tasks rerun d1" in third.message


class Chatty(BaseSimpleProcessor[SimpleJobData]):
    name = "chatty"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> str:
        for i in range(1, 1001):
            ctx.report_progress(i * 0.097)  # ends at 97.0
        await eventually(lambda: _landed(ctx.task_id, 97.0), what="last progress value")
        return "done"


async def test_thousand_progress_reports_make_few_writes(
    temporal_client: Client, task_store: TaskStore
) -> None:
    writer = SyncWriter(task_store)
    async with running_worker(temporal_client, task_store, Chatty, writer=writer) as tasks:
        await tasks.start("chatty", workspace_id="ws", task_id="p1")
        record = await tasks.wait("p1")
    assert record.status == TaskStatus.SUCCESS
    assert 1 <= writer.progress_writes <= 5, writer.progress_writes


EVENTS: list[tuple[str, Any]] = []


class Hooked(BaseSimpleProcessor[StepsData]):
    name = "hooked"
    input_model = StepsData

    def process(self, data: StepsData, ctx: TaskContext) -> int:  # synchronous: runs in a thread
        assert threading.current_thread() is not threading.main_thread()
        ctx.report_progress(40)
        if ctx.attempt <= data.fail_times:
            raise ValueError("not yet")
        return ctx.attempt

    def on_active(self, data: StepsData, ctx: TaskContext) -> None:
        EVENTS.append(("active", ctx.attempt))

    async def on_completed(self, data: StepsData, result: Any, ctx: TaskContext) -> None:
        EVENTS.append(("completed", result))

    def on_failed(
        self, data: StepsData, error: BaseException, ctx: TaskContext, *, final: bool
    ) -> None:
        EVENTS.append(("failed", final))
        raise RuntimeError("a broken hook must not change the outcome")

    def on_progress(self, data: StepsData, percent: float, ctx: TaskContext) -> None:
        EVENTS.append(("progress", percent))


async def test_hooks_in_order_with_finality_and_sync_processor(
    temporal_client: Client, task_store: TaskStore
) -> None:
    EVENTS.clear()
    async with running_worker(temporal_client, task_store, Hooked) as tasks:
        await tasks.start("hooked", workspace_id="ws", input={"failTimes": 1}, task_id="h1")
        ok = await tasks.wait("h1")
        assert ok.status == TaskStatus.SUCCESS and ok.result == 2
        assert EVENTS == [
            ("active", 1),
            ("progress", 40),
            ("failed", False),
            ("active", 2),
            ("progress", 40),
            ("completed", 2),
        ]
        EVENTS.clear()
        await tasks.start("hooked", workspace_id="ws", input={"failTimes": 5}, task_id="h2")
        bad = await tasks.wait("h2")
    assert bad.status == TaskStatus.FAILED
    assert [e for e in EVENTS if e[0] == "failed"] == [
        ("failed", False),
        ("failed", False),
        ("failed", True),
    ]


async def test_concurrent_starts_run_the_task_once(
    temporal_client: Client, task_store: TaskStore
) -> None:
    """Guarantee 6 under a race: eight clients start the same task at once."""
    STARTED["race1"] = asyncio.Event()
    async with running_worker(temporal_client, task_store, Blocking) as tasks:
        outcomes = await asyncio.gather(
            *(tasks.start("blocking", workspace_id="ws", task_id="race1") for _ in range(8))
        )
        await asyncio.wait_for(STARTED["race1"].wait(), 20)
        STARTED.setdefault("race1:release", asyncio.Event()).set()
        record = await tasks.wait("race1")
    assert sorted(o.outcome for o in outcomes).count("started") == 1
    assert {o.outcome for o in outcomes} <= {"started", "already running", "already finished"}
    assert record.status == TaskStatus.SUCCESS and record.attempts == 1
