"""How the writer turns one task's pending state into patches (pure unit tests, and the memory
store applying them under the guard rules)."""

from __future__ import annotations

from datetime import UTC, datetime

from durable_tasks.memory_store import MemoryTaskStore
from durable_tasks.models import ErrorLogEntry, StepResult, StepStatus, TaskResult, TaskStatus
from durable_tasks.sync._pending import Pending

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def entry(attempt: int) -> ErrorLogEntry:
    return ErrorLogEntry(
        key=f"r1:step:{attempt}",
        timestamp=T0,
        step="step",
        attempt=attempt,
        max_attempts=3,
        error_type="ValueError",
        message="boom",
        final=attempt == 3,
    )


def test_fields_merge_the_way_the_guard_rules_would() -> None:
    pending = Pending(run_id="r1")
    pending.merge({"progress": 40, "started_at": T0, "new_run": True}, None, wait=0.0)
    pending.merge({"progress": 30, "started_at": datetime(2030, 1, 1, tzinfo=UTC)}, None, True)
    pending.merge({"new_run": False, "status": TaskStatus.SUCCESS}, entry(1), wait=0.0)
    assert pending.fields == {
        "progress": 40,  # only rises
        "started_at": T0,  # set once
        "new_run": True,  # a claim stays a claim
        "status": TaskStatus.SUCCESS,
    }
    assert [e.attempt for e in pending.errors] == [1] and pending.wait == 0


def test_one_entry_travels_in_the_one_patch() -> None:
    pending = Pending(run_id="r1")
    pending.merge({"new_run": True, "status": TaskStatus.FAILED}, entry(3), wait=0.0)
    [item] = pending.items("t1")
    assert item.patch.new_run and item.patch.status == TaskStatus.FAILED
    assert item.patch.error is not None and item.patch.error.attempt == 3


async def test_a_final_status_lands_after_every_entry_behind_it() -> None:
    pending = Pending(run_id="r1")
    pending.merge({"new_run": True, "status": TaskStatus.RUNNING}, entry(1), wait=0.0)
    pending.merge({}, entry(2), wait=0.0)
    pending.merge({"status": TaskStatus.FAILED, "completed_at": T0}, entry(3), wait=0.0)
    items = pending.items("t1")
    assert [(i.patch.status, i.patch.error.attempt if i.patch.error else None) for i in items] == [
        (None, 1),  # the claim, with the first entry (its RUNNING status gave way to FAILED)
        (None, 2),
        (None, 3),
        (TaskStatus.FAILED, None),  # last
    ]
    assert items[0].patch.new_run and items[-1].patch.completed_at == T0

    store = MemoryTaskStore()
    await store.create(task_id="t1", workspace_id="ws", type="demo", input=None)
    seen = []
    for item in items:
        outcome = await store.sync(item.task_id, item.patch)
        seen.append((outcome.record.status, len(outcome.record.errors)))
    assert seen == [
        (TaskStatus.PENDING, 1),
        (TaskStatus.PENDING, 2),
        (TaskStatus.PENDING, 3),
        (TaskStatus.FAILED, 3),  # never FAILED with an entry still missing
    ]


def test_steps_reported_while_pending_accumulate_and_go_out_in_one_patch() -> None:
    """Two steps' reports (parallel branches) and a snapshot handed over meanwhile: nothing
    is lost, and the reports ride in the same patch as the snapshot."""
    pending = Pending(run_id="r1")
    left = StepResult(step_type="left", status=StepStatus.COMPLETED, attempts=1)
    right = StepResult(step_type="right", status=StepStatus.COMPLETED, attempts=2)
    pending.merge({"steps": {"left": left}}, None, wait=0.0)
    pending.merge({"result": TaskResult(total_steps=3), "progress": 5}, None, wait=1.0)
    pending.merge({"steps": {"right": right}}, None, wait=0.0)
    assert pending.fields["steps"] == {"left": left, "right": right}
    [item] = pending.items("t1")
    assert item.patch.steps == {"left": left, "right": right}
    assert item.patch.result == {**TaskResult(total_steps=3).model_dump(mode="json")}
    assert pending.wait == 0


def test_of_two_reports_of_one_step_the_later_attempt_s_is_kept() -> None:
    """An attempt timed out in Temporal may still report itself completed, after its retry."""
    pending = Pending(run_id="r1")
    retry = StepResult(step_type="a", status=StepStatus.COMPLETED, attempts=2)
    late = StepResult(step_type="a", status=StepStatus.COMPLETED, attempts=1)
    pending.merge({"steps": {"a": retry}}, None, wait=0.0)
    pending.merge({"steps": {"a": late}}, None, wait=0.0)
    assert pending.fields["steps"] == {"a": retry}
    newer = StepResult(step_type="a", status=StepStatus.COMPLETED, attempts=3)
    pending.merge({"steps": {"a": newer}}, None, wait=0.0)
    assert pending.fields["steps"] == {"a": newer}
