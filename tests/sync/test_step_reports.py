"""A flow step's completion is written by the step's own activity, as it returns.

Under load Temporal takes a completed activity into its workflow a hundred milliseconds or
more later, and the workflow's own snapshot of the step comes after that; the activity's report
is what lets a front end see the step finish at once. Run here as a worker runs a step (the
writer bound as the activity's sink) against a real PocketBase.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import ActivityEnvironment

from durable_tasks._reporting import bind_progress_sink, unbind_progress_sink
from durable_tasks.context import TaskContext
from durable_tasks.errors import NonRetryableError
from durable_tasks.models import (
    StepJobData,
    StepResult,
    StepStatus,
    TaskPatch,
    TaskRecord,
    TaskResult,
    TaskStatus,
)
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.steps import step_activity
from durable_tasks.sync import SyncWriter
from durable_tasks.sync._rates import PROMPT_STEPS

T0 = datetime(2025, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
ENV = ActivityEnvironment()
RUN = ENV.info.workflow_run_id


@step_activity("test.reported-step")
async def encode(job: StepJobData, ctx: TaskContext) -> Any:
    outcome = job.input["outcome"]
    if outcome == "raise":
        raise NonRetryableError("the encoder is gone")
    if outcome == "failed":  # a recoverable failure the step reports itself
        return StepResult(step_type=job.step_type, status=StepStatus.FAILED, error="no audio")
    return {"frames": 24, "attempt": ctx.attempt}


def _job(task_id: str, outcome: str) -> StepJobData:
    return StepJobData(
        task_id=task_id,
        workspace_id="ws",
        parent_job_id=f"task-{task_id}",
        step_type="encode",
        input={"outcome": outcome},
        idempotency_key=f"{task_id}:encode",
        attempt=2,
        max_attempts=3,
    )


async def _running_flow(store: PocketBaseTaskStore, task_id: str) -> TaskRecord:
    """A flow record as the workflow's snapshot leaves it: `encode` running, `upload` pending."""
    await store.create(task_id=task_id, workspace_id="ws", type="video", input=None)
    snapshot = TaskResult(
        steps={
            "encode": StepResult(
                step_type="encode", status=StepStatus.RUNNING, attempts=2, started_at=T0
            ),
            "upload": StepResult(step_type="upload", status=StepStatus.PENDING),
        },
        current_step="encode",
        total_steps=2,
        started_at=T0,
        run_id=RUN,
    )
    claim = TaskPatch(
        run_id=RUN, new_run=True, status=TaskStatus.RUNNING, result=snapshot, progress=2
    )
    return (await store.sync(task_id, claim)).record


@pytest_asyncio.fixture
async def writer(task_store: PocketBaseTaskStore) -> AsyncIterator[SyncWriter]:
    writer = SyncWriter(task_store)
    await writer.start()
    token = bind_progress_sink(writer)  # what the sync's interceptor does around an activity
    try:
        yield writer
    finally:
        unbind_progress_sink(token)
        await writer.close()


async def test_a_completed_step_reaches_the_record_from_its_activity(
    task_store: PocketBaseTaskStore, writer: SyncWriter
) -> None:
    await _running_flow(task_store, "sr-done")
    value = await ENV.run(encode, _job("sr-done", "completed"))
    assert value == {"frames": 24, "attempt": 2}
    assert await writer.flush("sr-done", 10)
    record = await task_store.get("sr-done")
    assert record is not None and record.status == TaskStatus.RUNNING
    result = TaskResult.model_validate(record.result)
    step = result.steps["encode"]
    assert (step.status, step.attempts, step.data) == (StepStatus.COMPLETED, 2, value)
    assert step.started_at == T0  # kept from the workflow's snapshot
    assert step.completed_at is not None and step.completed_at > T0
    assert result.steps["upload"].status == StepStatus.PENDING
    assert (result.completed_steps, result.completed_count, result.current_step) == (
        ["encode"],
        1,
        None,
    )
    assert record.progress == 50


@pytest.mark.parametrize("outcome", ["failed", "raise"])
async def test_a_step_that_did_not_complete_leaves_the_record_to_the_workflow(
    task_store: PocketBaseTaskStore, writer: SyncWriter, outcome: str
) -> None:
    """A failure needs an error entry and the flow's failure policy: only the workflow knows."""
    before = await _running_flow(task_store, f"sr-{outcome}")
    try:
        await ENV.run(encode, _job(f"sr-{outcome}", outcome))
    except Exception as err:
        assert outcome == "raise", err
    assert await writer.flush(f"sr-{outcome}", 10)
    after = await task_store.get(f"sr-{outcome}")
    assert after is not None and (after.seq, after.result) == (before.seq, before.result)
    assert writer.items == 0


async def test_the_reports_of_a_long_flow_wait_like_its_snapshots(
    task_store: PocketBaseTaskStore,
) -> None:
    """Past `PROMPT_STEPS` reports of one run, a step's report waits its turn like the flow's
    snapshots: a long flow's record grows with every step, and rewriting it whole at every
    step would make its cost per step grow with its length."""
    writer = SyncWriter(task_store, snapshot_interval=3600)  # never started: nothing is sent
    for n in range(PROMPT_STEPS + 1):
        step = StepResult(step_type=f"s{n}", status=StepStatus.COMPLETED, attempts=1)
        writer.step_completed("sr-long", RUN, step)
        [pending] = writer._pending.pop("sr-long")
        assert pending.wait == (3600 if n >= PROMPT_STEPS else 0), n
    another_run = StepResult(step_type="s0", status=StepStatus.COMPLETED, attempts=1)
    writer.step_completed("sr-long", "another-run", another_run)
    assert writer._pending["sr-long"][0].wait == 0
