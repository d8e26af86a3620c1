"""The guard rules of `durable_tasks.store`, run against both stores.

`MemoryTaskStore.apply_patch` and the transactional route in `pb_hooks/` implement the same
rules in two languages; every case here runs on both, and a seeded random history is replayed
on both and compared write by write, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from durable_tasks.errors import StorePermanentError, TaskAlreadyExistsError
from durable_tasks.memory_store import MemoryTaskStore, apply_patch
from durable_tasks.models import (
    ErrorLogEntry,
    NewTask,
    StepResult,
    StepStatus,
    SyncOutcome,
    TaskPatch,
    TaskRecord,
    TaskResult,
    TaskStatus,
)
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.pocketbase._client import Request
from durable_tasks.store import MAX_ERROR_ENTRIES, MAX_ERROR_LOG_CHARS, SyncItem, TaskStore
from durable_tasks.testing import PocketBaseServer

# PocketBase keeps dates to the millisecond: the times used here have no finer part.
T0 = datetime(2025, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture(params=["memory", "pocketbase"])
def store(request: pytest.FixtureRequest) -> TaskStore:
    if request.param == "memory":
        return MemoryTaskStore()
    pocketbase: PocketBaseTaskStore = request.getfixturevalue("task_store")
    return pocketbase


def entry(
    key: str, *, attempt: int = 1, message: str = "boom", final: bool = False
) -> ErrorLogEntry:
    return ErrorLogEntry(
        key=key,
        timestamp=T0 + timedelta(seconds=attempt),
        step="transcode",
        attempt=attempt,
        max_attempts=3,
        error_type="ValueError",
        message=message,
        stack="Traceback (most recent call last):\n  ...",
        final=final,
    )


async def new_task(store: TaskStore, task_id: str = "t1", **fields: Any) -> TaskRecord:
    base: dict[str, Any] = {"workspace_id": "ws-a", "type": "video-processing", "input": {"w": 1}}
    return await store.create(task_id=task_id, **{**base, **fields})


async def claim(store: TaskStore, run_id: str, task_id: str = "t1") -> SyncOutcome:
    return await store.sync(
        task_id,
        TaskPatch(
            run_id=run_id,
            new_run=True,
            status=TaskStatus.RUNNING,
            workflow_id=f"task-{task_id}",
            started_at=T0,
        ),
    )


async def test_create_get_and_list(store: TaskStore) -> None:
    created = await new_task(store, "t1", input={"width": 640, "tags": ["a", None]})
    await new_task(store, "t2", workspace_id="ws-b")
    await new_task(store, "t3", type="image-resize")
    await claim(store, "r1", "t3")

    assert created.status == TaskStatus.PENDING
    assert (created.progress, created.seq, created.run_id, created.errors) == (0, 0, "", [])
    assert await store.get("t1") == created
    assert await store.get("missing") is None

    assert [r.id for r in await store.list()] == ["t3", "t2", "t1"]  # newest first
    assert [r.id for r in await store.list(limit=2)] == ["t3", "t2"]
    assert [r.id for r in await store.list(workspace_id="ws-b")] == ["t2"]
    assert [r.id for r in await store.list(type="image-resize")] == ["t3"]
    assert [r.id for r in await store.list(status=TaskStatus.RUNNING)] == ["t3"]
    assert [r.id for r in await store.list(workspace_id="ws-a", status=TaskStatus.PENDING)] == [
        "t1"
    ]
    assert await store.list(workspace_id="it's \\ odd") == []


async def test_create_with_a_taken_id_says_so(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    with pytest.raises(TaskAlreadyExistsError) as caught:
        await new_task(store, workspace_id="ws-other")
    assert caught.value.task_id == "t1"
    assert caught.value.status == TaskStatus.RUNNING
    assert "already exists" in str(caught.value)
    assert (await store.get("t1")).workspace_id == "ws-a"  # type: ignore[union-attr]


async def test_new_run_claims_the_record(store: TaskStore) -> None:
    await new_task(store)
    outcome = await claim(store, "r1")
    assert (outcome.applied, outcome.reason) == (True, "applied")
    record = outcome.record
    assert (record.run_id, record.status, record.workflow_id) == ("r1", "RUNNING", "task-t1")
    assert record.started_at == T0
    assert record.seq == 1
    assert await store.get("t1") == record


async def test_a_record_no_run_holds_is_claimed_implicitly(store: TaskStore) -> None:
    await new_task(store)
    outcome = await store.sync("t1", TaskPatch(run_id="r1", progress=10))
    assert (outcome.applied, outcome.record.run_id, outcome.record.progress) == (True, "r1", 10)


async def test_writes_of_another_run_are_dropped_as_stale(store: TaskStore) -> None:
    await new_task(store)
    held = (await claim(store, "r1")).record

    late = await store.sync("t1", TaskPatch(run_id="r0", status=TaskStatus.FAILED, progress=90))
    assert (late.applied, late.reason) == (False, "stale")
    assert late.record == held

    # A new run cannot take the record while the holder is still RUNNING.
    rival = await store.sync("t1", TaskPatch(run_id="r2", new_run=True, status=TaskStatus.RUNNING))
    assert (rival.applied, rival.reason) == (False, "stale")
    assert await store.get("t1") == held


async def test_a_final_status_is_never_replaced_within_its_run(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    done = await store.sync(
        "t1", TaskPatch(run_id="r1", status=TaskStatus.SUCCESS, completed_at=T0, result={"ok": 1})
    )
    assert done.record.status == TaskStatus.SUCCESS

    late = await store.sync("t1", TaskPatch(run_id="r1", status=TaskStatus.RUNNING, progress=40))
    assert (late.applied, late.reason) == (False, "final")
    other_final = await store.sync(
        "t1", TaskPatch(run_id="r1", status=TaskStatus.FAILED, result={"ok": 0})
    )
    assert (other_final.applied, other_final.reason) == (False, "final")
    assert await store.get("t1") == done.record

    # An error entry still lands after the end (a failed attempt reported late).
    logged = await store.sync("t1", TaskPatch(run_id="r1", error=entry("r1:1")))
    assert (logged.applied, logged.reason) == (True, "final")
    assert logged.record.status == TaskStatus.SUCCESS
    assert [e.key for e in logged.record.errors] == ["r1:1"]


async def test_progress_and_attempts_never_go_back(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", progress=40, attempts=2))
    lower = await store.sync("t1", TaskPatch(run_id="r1", progress=30.5, attempts=1))
    assert (lower.applied, lower.record.progress, lower.record.attempts) == (False, 40, 2)
    higher = await store.sync("t1", TaskPatch(run_id="r1", progress=62.5))
    assert (higher.applied, higher.record.progress) == (True, 62.5)


async def test_success_sets_progress_to_100(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", progress=33))
    done = await store.sync("t1", TaskPatch(run_id="r1", status=TaskStatus.SUCCESS))
    assert (done.record.status, done.record.progress) == (TaskStatus.SUCCESS, 100)


async def test_started_at_is_set_once(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    again = await store.sync("t1", TaskPatch(run_id="r1", started_at=T0 + timedelta(hours=1)))
    assert (again.applied, again.record.started_at) == (False, T0)


async def test_a_rerun_starts_over_but_keeps_the_error_log(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", progress=60, attempts=3, error=entry("r1:3")))
    failed = await store.sync(
        "t1", TaskPatch(run_id="r1", status=TaskStatus.FAILED, completed_at=T0)
    )
    assert failed.record.completed_at == T0

    rerun = await store.sync(
        "t1", TaskPatch(run_id="r2", new_run=True, status=TaskStatus.RUNNING, result={"step": 2})
    )
    assert (rerun.applied, rerun.reason) == (True, "applied")
    record = rerun.record
    assert (record.run_id, record.status, record.progress, record.attempts) == (
        "r2",
        "RUNNING",
        0,
        0,
    )
    assert record.completed_at is None
    assert record.started_at == T0  # set once for the task, not per run
    assert [e.key for e in record.errors] == ["r1:3"]
    assert record.error_log == entry("r1:3").render()
    assert record.result == {"step": 2}

    # The old run is now the stale one.
    old = await store.sync("t1", TaskPatch(run_id="r1", progress=99))
    assert (old.applied, old.reason) == (False, "stale")


async def test_error_entries_are_appended_once_per_key_and_rendered(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    first, second = entry("r1:1", attempt=1), entry("r1:2", attempt=2, message="again")
    one = await store.sync("t1", TaskPatch(run_id="r1", error=first, attempts=1))
    replay = await store.sync("t1", TaskPatch(run_id="r1", error=first))
    two = await store.sync("t1", TaskPatch(run_id="r1", error=second, attempts=2))

    assert one.applied and two.applied and not replay.applied
    assert replay.record == one.record
    assert two.record.errors == [first, second]
    assert two.record.error_log == f"{first.render()}\n\n{second.render()}"
    # A stale write's error entry is still kept: every failed attempt leaves one entry.
    stale = await store.sync("t1", TaskPatch(run_id="r0", error=entry("r0:1"), progress=80))
    assert (stale.applied, stale.reason, stale.record.progress) == (True, "stale", 0)
    assert [e.key for e in stale.record.errors] == ["r1:1", "r1:2", "r0:1"]


async def test_seq_grows_by_one_only_when_something_changed(store: TaskStore) -> None:
    await new_task(store)
    seqs = [(await claim(store, "r1")).record.seq]
    for patch in [
        TaskPatch(run_id="r1", progress=10),
        TaskPatch(run_id="r1", progress=10),  # no change
        TaskPatch(run_id="r1", progress=5),  # no change (never lower)
        TaskPatch(run_id="r9", progress=50),  # stale
        TaskPatch(run_id="r1", result={"a": [1, {"b": None}]}),
        TaskPatch(run_id="r1", result={"a": [1, {"b": None}]}),  # same value
        TaskPatch(run_id="r1", workflow_id="task-t1"),  # same value
        TaskPatch(run_id="r1", progress=20, result={"a": [1, {"b": None}]}),  # progress changed
        TaskPatch(run_id="r1", progress=20, result={"a": 2}),  # the result alone changed
        TaskPatch(run_id="r1", progress=20, result={"a": 2}),  # no change
        TaskPatch(run_id="r1", progress=30, result={"a": 3}),  # both changed
    ]:
        seqs.append((await store.sync("t1", patch)).record.seq)
    assert seqs == [1, 2, 2, 2, 2, 3, 3, 3, 4, 5, 5, 6]
    record = await store.get("t1")
    assert record is not None and (record.progress, record.result) == (30, {"a": 3})


async def test_sync_of_a_task_without_record_is_refused(store: TaskStore) -> None:
    with pytest.raises(StorePermanentError, match="create it first"):
        await store.sync("nope", TaskPatch(run_id="r1", progress=1))


async def seeded(
    task_store: PocketBaseTaskStore, server: PocketBaseServer, errors: list[ErrorLogEntry], log: str
) -> TaskRecord:
    """A RUNNING record already holding `errors` and `log`, written through the records API
    (so a cap can be reached in one write instead of hundreds)."""
    await new_task(task_store)
    await claim(task_store, "r1")
    with server.admin_client() as admin:
        body = {"errors": [e.model_dump(mode="json") for e in errors], "errorLog": log}
        admin.patch("/api/collections/tasks/records/t1", json=body).raise_for_status()
    record = await task_store.get("t1")
    assert record is not None and record.error_log == log
    return record


@pytest.mark.parametrize("shift", [0, 1], ids=["even-cut", "odd-cut"])
async def test_the_error_log_keeps_its_last_million_characters(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer, shift: int
) -> None:
    """Characters are code points, as in Python, though JavaScript counts UTF-16 units: the cut
    falls among emoji (two units each) and `shift` moves it by one unit."""
    log = "😀" * 2000 + "x" * (MAX_ERROR_LOG_CHARS - 2010 + shift)
    record = await seeded(task_store, pocketbase_server, [], log)
    patch = TaskPatch(run_id="r1", error=entry("late"))

    outcome = await task_store.sync("t1", patch)

    expected, _ = apply_patch(record, patch)
    assert outcome.record.error_log == expected.error_log
    assert len(outcome.record.error_log) == MAX_ERROR_LOG_CHARS
    assert outcome.record.error_log.startswith("😀") and outcome.record.error_log.endswith(
        entry("late").render()
    )


async def test_only_the_last_error_entries_are_kept(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    errors = [entry(f"e{n}") for n in range(MAX_ERROR_ENTRIES - 2)]
    expected = await seeded(
        task_store, pocketbase_server, errors, "\n\n".join(e.render() for e in errors)
    )
    for n in range(MAX_ERROR_ENTRIES - 2, MAX_ERROR_ENTRIES + 3):
        patch = TaskPatch(run_id="r1", error=entry(f"e{n}"))
        expected, _ = apply_patch(expected, patch)
        record = (await task_store.sync("t1", patch)).record
        assert record.model_dump(exclude={"seq"}) == expected.model_dump(exclude={"seq"})
    assert len(record.errors) == MAX_ERROR_ENTRIES
    assert [record.errors[0].key, record.errors[-1].key] == ["e3", f"e{MAX_ERROR_ENTRIES + 2}"]


STEP_NAMES = ("z", "m", "a", "10", "9")
"""Not in sorted order, and two that a JavaScript object would put first: PocketBase keeps a
JSON object's keys sorted, and neither store may depend on their order."""


def random_flow(rng: random.Random) -> dict[str, Any]:
    """A snapshot of one of two flow runs (or of another run's flow), steps in random states
    at random attempts, started at random moments."""
    statuses = {n: rng.choice(["pending", "running", "completed", "failed"]) for n in STEP_NAMES}
    return flow_result(
        T0 + timedelta(minutes=rng.randint(0, 1)),
        run_id=rng.choice(["r1", "r1", "r1", "r0"]),
        attempts={n: rng.randint(1, 3) for n in STEP_NAMES},
        step_started={n: T0 + timedelta(seconds=rng.randint(0, 3)) for n in STEP_NAMES},
        **statuses,
    )


def random_report(rng: random.Random) -> dict[str, StepResult]:
    name = rng.choice(STEP_NAMES)
    status = rng.choice([StepStatus.COMPLETED, StepStatus.COMPLETED, StepStatus.RUNNING])
    at = T0 + timedelta(seconds=rng.randint(0, 9))
    step = StepResult(step_type=name, status=status, attempts=rng.randint(1, 3), completed_at=at)
    return {name: step}


async def test_both_stores_agree_on_a_random_history(task_store: PocketBaseTaskStore) -> None:
    """Replay one seeded history of patches on both stores; every answer must match."""
    memory = MemoryTaskStore()
    rng = random.Random(20250301)
    tasks, runs = ["h1", "h2"], ["r1", "r2", "r3"]
    for store in (memory, task_store):
        for task_id in tasks:
            await new_task(store, task_id)
    for step in range(240):
        task_id = rng.choice(tasks)
        patch = TaskPatch(
            run_id=rng.choice(runs),
            new_run=rng.random() < 0.15,
            status=rng.choice([None, None, *TaskStatus]),
            progress=rng.choice([None, rng.randint(0, 100)]),
            attempts=rng.choice([None, rng.randint(0, 5)]),
            result=rng.choice([None, {"step": rng.randint(0, 3)}, random_flow(rng)]),
            started_at=rng.choice([None, T0 + timedelta(seconds=step)]),
            completed_at=rng.choice([None, None, T0 + timedelta(minutes=step)]),
            error=rng.choice([None, None, entry(f"k{rng.randint(0, 20)}")]),
            steps=rng.choice([None, None, random_report(rng)]),
        )
        expected = await memory.sync(task_id, patch)
        actual = await task_store.sync(task_id, patch)
        assert actual == expected, f"step {step}: {patch!r}"


async def test_both_stores_agree_on_a_random_flow_history(task_store: PocketBaseTaskStore) -> None:
    """Rules 7 and 8 under a seeded mix of snapshots and step reports, in any order."""
    memory = MemoryTaskStore()
    rng = random.Random(20261201)
    for store in (memory, task_store):
        await new_task(store, "f1")
        await claim(store, "r1", "f1")
    for step in range(200):
        patch = TaskPatch(
            run_id="r1",
            progress=rng.choice([None, None, rng.randint(0, 99)]),
            result=rng.choice([None, random_flow(rng)]),
            steps=rng.choice(
                [None, random_report(rng), {**random_report(rng), **random_report(rng)}]
            ),
        )
        expected = await memory.sync("f1", patch)
        actual = await task_store.sync("f1", patch)
        assert actual == expected, f"step {step}: {patch!r}"


@pytest.mark.parametrize("writers,writes", [(8, 50)])
async def test_concurrent_writers_cannot_break_the_guard(
    store: TaskStore, writers: int, writes: int
) -> None:
    """Many writers of one run race random progress; one of them finishes the task midway."""
    await new_task(store)
    await claim(store, "r1")
    rng = random.Random(7)
    plans = [[rng.uniform(0, 99) for _ in range(writes)] for _ in range(writers)]
    finisher, finish_at = 3, writes // 2

    async def writer(n: int) -> list[SyncOutcome]:
        seen = []
        for i, progress in enumerate(plans[n]):
            if (n, i) == (finisher, finish_at):
                patch = TaskPatch(run_id="r1", status=TaskStatus.SUCCESS, result={"by": n})
            else:
                patch = TaskPatch(run_id="r1", status=TaskStatus.RUNNING, progress=progress)
            seen.append(await store.sync("t1", patch))
        return seen

    results = await asyncio.gather(*(writer(n) for n in range(writers)))

    final = await store.get("t1")
    assert final is not None
    assert (final.status, final.progress, final.result) == (TaskStatus.SUCCESS, 100, {"by": 3})
    everything = [outcome for seen in results for outcome in seen]
    applied = sorted(o.record.seq for o in everything if o.applied)
    # Every accepted write got its own version, with no gap, ending at the stored one.
    assert applied == list(range(2, final.seq + 1))
    for seen in results:  # each writer sees versions in order
        assert [o.record.seq for o in seen] == sorted(o.record.seq for o in seen)
    by_seq = sorted(everything, key=lambda o: o.record.seq)
    progress = [o.record.progress for o in by_seq]
    assert progress == sorted(progress), "progress went backwards"
    (success,) = [o for o in everything if o.applied and o.record.status == TaskStatus.SUCCESS]
    assert success.record.seq == final.seq  # nothing was accepted after the final write
    late = [o for o in everything if o is not success and o.record.status == TaskStatus.SUCCESS]
    assert late and all((o.applied, o.reason) == (False, "final") for o in late)


# -- batches: many tasks in one request and one transaction ------------------------------------


async def test_a_batch_applies_each_item_in_order_under_the_same_rules(store: TaskStore) -> None:
    await new_task(store, "b1")
    await new_task(store, "b2")
    results = await store.sync_many(
        [
            SyncItem(task_id="b1", patch=TaskPatch(run_id="r1", new_run=True, status="RUNNING")),
            SyncItem(task_id="b2", patch=TaskPatch(run_id="r2", new_run=True, status="RUNNING")),
            SyncItem(
                task_id="b1", patch=TaskPatch(run_id="r1", status="SUCCESS", error=entry("k1"))
            ),
            SyncItem(task_id="b1", patch=TaskPatch(run_id="r1", status="RUNNING", progress=5)),
            SyncItem(task_id="b2", patch=TaskPatch(run_id="other", progress=50)),
            SyncItem(task_id="missing", patch=TaskPatch(run_id="r3", progress=1)),
        ]
    )
    assert [(r.task_id, r.applied, r.reason) for r in results] == [
        ("b1", True, "applied"),
        ("b2", True, "applied"),
        ("b1", True, "applied"),
        ("b1", False, "final"),  # a final status is never overwritten by a late write
        ("b2", False, "stale"),  # not the run that holds the record
        ("missing", False, "not_found"),
    ]
    b1, b2 = await store.get("b1"), await store.get("b2")
    assert b1 is not None and b2 is not None
    assert (b1.status, b1.progress, b1.seq, [e.key for e in b1.errors]) == (
        "SUCCESS",
        100,
        2,
        ["k1"],
    )
    assert results[2].seq == 2
    assert (b2.status, b2.progress, b2.seq) == ("RUNNING", 0, 1)


async def test_a_batch_item_may_create_its_missing_record(store: TaskStore) -> None:
    create = NewTask(workspace_id="ws-a", type="raw-start", input={"w": 2})
    claim_patch = TaskPatch(run_id="r1", new_run=True, status="RUNNING", started_at=T0)
    [result] = await store.sync_many([SyncItem(task_id="c1", patch=claim_patch, create=create)])
    assert (result.applied, result.reason, result.seq) == (True, "applied", 1)
    record = await store.get("c1")
    assert record is not None
    assert (record.workspace_id, record.type, record.input) == ("ws-a", "raw-start", {"w": 2})
    assert (record.status, record.run_id, record.started_at) == ("RUNNING", "r1", T0)
    # an existing record is never re-created: the item just applies
    [again] = await store.sync_many([SyncItem(task_id="c1", patch=claim_patch, create=create)])
    assert (again.applied, again.reason) == (False, "applied")  # nothing changed


async def test_an_empty_batch_is_no_request(store: TaskStore) -> None:
    assert await store.sync_many([]) == []


# -- flows: steps reported by their own activities (rules 7 and 8) -----------------------------


def flow_result(
    started: datetime = T0,
    *,
    run_id: str = "r1",
    attempts: dict[str, int] | None = None,
    step_started: dict[str, datetime] | None = None,
    **statuses: str,
) -> dict[str, Any]:
    """A flow's snapshot of run `run_id` in its JSON form, made from `statuses` (in the flow's
    order) the way the flow engine makes it."""
    steps = {
        name: StepResult(
            step_type=name,
            status=StepStatus(status),
            attempts=(attempts or {}).get(name, 0 if status == "pending" else 1),
            started_at=None if status == "pending" else (step_started or {}).get(name, started),
        )
        for name, status in statuses.items()
    }
    running = [n for n, s in statuses.items() if s == "running"]
    result = TaskResult(
        steps=steps,
        completed_steps=[n for n, s in statuses.items() if s == "completed"],
        failed_steps=[n for n, s in statuses.items() if s == "failed"],
        current_step=running[-1] if running else None,
        total_steps=len(steps),
        started_at=started,
        run_id=run_id,
    )
    result.completed_count = len(result.completed_steps)
    result.failed_count = len(result.failed_steps)
    return result.model_dump(mode="json")


def report(name: str, *, seconds: int = 5, **fields: Any) -> TaskPatch:
    """A step's own report that it completed, as a step activity sends it."""
    step = StepResult(
        step_type=name,
        status=StepStatus.COMPLETED,
        attempts=fields.pop("attempts", 1),
        completed_at=T0 + timedelta(seconds=seconds),
        data=fields.pop("data", {"out": name}),
    )
    return TaskPatch(run_id=fields.pop("run_id", "r1"), steps={name: step}, **fields)


async def test_a_reported_step_merges_into_the_flow_result(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    snapshot = flow_result(a="running", b="pending", c="pending")
    await store.sync("t1", TaskPatch(run_id="r1", result=snapshot, progress=1))
    outcome = await store.sync("t1", report("a", data={"frames": 24}))
    assert (outcome.applied, outcome.reason, outcome.record.seq) == (True, "applied", 3)
    result = outcome.record.result
    assert result["steps"]["a"] == {
        **snapshot["steps"]["a"],  # what the report leaves unset (startedAt) is kept
        "status": "completed",
        "completedAt": "2025-03-01T12:00:05.250000Z",
        "data": {"frames": 24},
    }
    assert result["steps"]["b"] == snapshot["steps"]["b"]
    assert (result["completedSteps"], result["completedCount"], result["currentStep"]) == (
        ["a"],
        1,
        None,
    )
    assert outcome.record.progress == 33  # floor(100 * 1 / 3)
    # the next step's report, beside one running: the formula counts it (66 + 5 % of a third)
    await store.sync(
        "t1", TaskPatch(run_id="r1", result=flow_result(a="completed", b="running", c="running"))
    )
    record = (await store.sync("t1", report("b"))).record
    assert (record.result["completedSteps"], record.result["currentStep"]) == (["a", "b"], "c")
    assert record.progress == 68


async def test_a_reported_step_never_moves_a_step_back_nor_adds_one(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    early = await store.sync("t1", report("a"))  # no flow result stored yet: nothing to merge
    assert (early.applied, early.record.result, early.record.progress) == (False, None, 0)
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="failed", b="running")))
    for patch in (report("a"), report("unknown"), report("b", run_id="r0")):
        outcome = await store.sync("t1", patch)
        assert outcome.applied is False and outcome.record.seq == 2, patch
    assert (await store.sync("t1", report("b", run_id="r0"))).reason == "stale"
    record = await store.get("t1")
    assert record is not None
    assert [record.result["steps"][n]["status"] for n in "ab"] == ["failed", "running"]


async def test_a_late_snapshot_of_the_same_flow_run_keeps_finished_steps(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="running", b="pending")))
    await store.sync("t1", report("a"))
    # taken before `a` finished, landing after its report (another worker's writer)
    late = flow_result(a="running", b="pending")
    record = (await store.sync("t1", TaskPatch(run_id="r1", result=late, attempts=1))).record
    assert record.result["steps"]["a"]["status"] == "completed"
    assert (record.result["completedSteps"], record.result["completedCount"]) == (["a"], 1)
    assert record.progress == 50
    # the workflow's own later word on a finished step is taken as it is
    newer = flow_result(a="completed", b="running")
    record = (await store.sync("t1", TaskPatch(run_id="r1", result=newer))).record
    assert record.result == newer


async def test_a_later_attempt_of_a_finished_step_shows_and_keeps_its_place(
    store: TaskStore,
) -> None:
    """An attempt that reported itself completed after its timeout (Temporal refused the
    completion and retries): the retry shows, and the late attempt's report cannot undo it."""
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="running")))
    await store.sync("t1", report("a", attempts=1))
    retry = flow_result(a="running")
    retry["steps"]["a"]["attempts"] = 2
    record = (await store.sync("t1", TaskPatch(run_id="r1", result=retry))).record
    assert record.result == retry
    late = await store.sync("t1", report("a", attempts=1, seconds=7))
    assert (late.applied, late.record.result["steps"]["a"]) == (False, retry["steps"]["a"])
    record = (await store.sync("t1", report("a", attempts=2))).record
    step = record.result["steps"]["a"]
    assert (step["status"], step["attempts"], record.result["completedCount"]) == (
        "completed",
        2,
        1,
    )


async def test_the_recount_does_not_depend_on_the_order_of_keys(store: TaskStore) -> None:
    """PocketBase keeps a JSON object's keys sorted; a flow lists its steps in its own order.
    New names join the lists sorted, and the current step is the running one started last."""
    await new_task(store)
    await claim(store, "r1")
    late = T0 + timedelta(seconds=2)
    snapshot = flow_result(
        step_started={"m": late}, z="running", m="running", a="running", **{"10": "running"}
    )
    await store.sync("t1", TaskPatch(run_id="r1", result=snapshot))
    both = {**report("z").steps, **report("10").steps}  # folded by the writer into one patch
    record = (await store.sync("t1", TaskPatch(run_id="r1", steps=both))).record
    # "10" was current (the flow's last running step); "m" started after "a"
    assert (record.result["completedSteps"], record.result["currentStep"]) == (["10", "z"], "m")
    record = (await store.sync("t1", report("m"))).record
    assert record.result["completedSteps"] == ["10", "z", "m"]
    assert record.result["currentStep"] == "a"


async def test_a_later_attempt_s_report_replaces_an_earlier_one_that_landed_first(
    store: TaskStore,
) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="running")))
    await store.sync("t1", report("a", attempts=1, data={"from": 1}))
    record = (await store.sync("t1", report("a", attempts=2, data={"from": 2}))).record
    assert (record.result["steps"]["a"]["attempts"], record.result["steps"]["a"]["data"]) == (
        2,
        {"from": 2},
    )
    assert record.result["completedCount"] == 1


async def test_another_flow_run_starts_its_steps_over(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="running")))
    await store.sync("t1", report("a"))
    await store.sync("t1", TaskPatch(run_id="r1", status=TaskStatus.FAILED))
    await claim(store, "r2")
    # before the rerun's first snapshot lands, its step's report finds the last run's result
    early = await store.sync("t1", report("a", run_id="r2", attempts=3))
    assert (early.applied, early.record.result["runId"]) == (False, "r1")
    rerun = flow_result(T0 + timedelta(minutes=1), run_id="r2", a="running")
    record = (await store.sync("t1", TaskPatch(run_id="r2", result=rerun))).record
    assert record.result == rerun  # a rerun's snapshot is never mixed with the last run's


async def test_a_report_and_a_snapshot_in_one_patch_merge_in_that_order(store: TaskStore) -> None:
    """The writer folds a pending snapshot and a step's report into one patch: the report
    applies on top of the snapshot, whichever was handed over first."""
    await new_task(store)
    await claim(store, "r1")
    both = report("b", result=flow_result(a="completed", b="running"), progress=55)
    record = (await store.sync("t1", both)).record
    assert [record.result["steps"][n]["status"] for n in "ab"] == ["completed", "completed"]
    assert (record.result["completedCount"], record.progress) == (2, 99)


GOOD = {"stepType": "a", "status": "completed"}


async def test_unknown_fields_of_a_step_report_are_not_kept(store: TaskStore) -> None:
    await new_task(store)
    await claim(store, "r1")
    await store.sync("t1", TaskPatch(run_id="r1", result=flow_result(a="running")))
    if isinstance(store, PocketBaseTaskStore):  # TaskPatch has no room for them: send raw
        body = {"runId": "r1", "steps": {"a": {**GOOD, "attempts": 1, "bogus": 1}}}
        await store.client.send(Request("POST", "/api/durable-tasks/tasks/t1/sync", "sync", body))
    else:
        await store.sync("t1", report("a"))
    record = await store.get("t1")
    assert record is not None and record.result["steps"]["a"]["status"] == "completed"
    assert "bogus" not in record.result["steps"]["a"]
    TaskResult.model_validate(record.result)  # what a rerun reads its cache from


@pytest.mark.parametrize(
    ("steps", "expected", "pydantic_too"),
    [
        (["a"], "steps: must map step names to step results", True),
        ({"a": None}, "steps.a: must be a step result", True),
        ({"a": {"status": "completed"}}, "steps.a: stepType: a string is required", True),
        (
            {"a": {**GOOD, "status": "done"}},
            "steps.a: status: must be one of pending, running",
            True,
        ),
        ({"a": {**GOOD, "error": 5}}, "steps.a: error: must be a string", True),
        # stricter than TaskPatch, which would convert these (our writers send neither)
        ({"a": {**GOOD, "attempts": "2"}}, "steps.a: attempts: must be an integer", False),
        ({"a": {**GOOD, "completedAt": 7}}, "steps.a: completedAt: must be a date", False),
    ],
)
async def test_a_malformed_step_report_is_refused_naming_the_field(
    task_store: PocketBaseTaskStore,
    pocketbase_server: PocketBaseServer,
    steps: Any,
    expected: str,
    pydantic_too: bool,
) -> None:
    """What `TaskPatch` would refuse is refused by the route too, whoever sends it."""
    if pydantic_too:
        with pytest.raises(ValueError):
            TaskPatch.model_validate({"runId": "r1", "steps": steps})
    await new_task(task_store)
    await claim(task_store, "r1")
    body = {"runId": "r1", "steps": steps}
    with pocketbase_server.admin_client() as admin:
        single = admin.post("/api/durable-tasks/tasks/t1/sync", json=body)
        batch = admin.post(
            "/api/durable-tasks/sync", json={"items": [{"taskId": "t1", "patch": body}]}
        )
    expected = f"invalid patch: {expected}"  # (PocketBase capitalises the first letter)
    message = single.json()["message"].lower()
    assert single.status_code == 400 and expected.lower() in message, single.text
    reason = batch.json()["results"][0]["reason"].lower()
    assert batch.status_code == 200 and reason.startswith(f"rejected: {expected.lower()}"), (
        batch.text
    )
    record = await task_store.get("t1")
    assert record is not None and record.seq == 1
