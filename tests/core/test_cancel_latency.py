"""A cancel reaches a running simple processor or flow step within 2 s, with default settings.

On a real Temporal dev server (the time-skipping one skips time, so it cannot time anything):
the processor and the step wait until cancelled and note when the cancel arrived. A cancel
travels client → workflow → activity-cancel request → the answer to the attempt's next sent
heartbeat; with the SDK's defaults (heartbeats throttled to 80 % of a 30 s timeout) it took
up to 24 s.
"""

from __future__ import annotations

import asyncio
import time

from temporalio.testing import WorkflowEnvironment

from durable_tasks import (
    BaseFlowProcessor,
    BaseSimpleProcessor,
    ParentJobData,
    SimpleJobData,
    Step,
    StepJobData,
    TaskContext,
    TaskStatus,
    flow_processor,
    step_activity,
)
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import running_worker
from tests.support.waiting import eventually

CANCEL_BOUND_S = 2.0
STARTED: dict[str, float] = {}
"""task id → when its attempt started waiting (monotonic)."""
CANCELLED: dict[str, float] = {}
"""task id → when its attempt saw the cancel (monotonic)."""


async def _wait_for_cancel(task_id: str) -> None:
    STARTED[task_id] = time.monotonic()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        CANCELLED[task_id] = time.monotonic()
        raise


class WaitsForCancel(BaseSimpleProcessor[SimpleJobData]):
    name = "waits-for-cancel"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        await _wait_for_cancel(ctx.task_id)


@step_activity("cancel-latency.wait")
async def wait_step(job: StepJobData, ctx: TaskContext) -> None:
    await _wait_for_cancel(ctx.task_id)


@flow_processor("cancel-latency-flow")
class WaitingFlow(BaseFlowProcessor[ParentJobData]):
    steps = (Step("wait", wait_step),)


async def _cancel_latency(
    env: WorkflowEnvironment, store: PocketBaseTaskStore, task_type: str, task_id: str
) -> tuple[float, TaskStatus]:
    async with running_worker(env.client, store, WaitsForCancel, WaitingFlow) as tasks:
        await tasks.start(task_type, workspace_id="ws", task_id=task_id, input={})
        await eventually(lambda: task_id in STARTED, timeout=30, what=f"{task_id} running")
        asked = time.monotonic()
        assert await tasks.cancel(task_id)
        await eventually(lambda: task_id in CANCELLED, timeout=30, what=f"{task_id} cancelled")
        record = await tasks.wait(task_id)
    return CANCELLED[task_id] - asked, record.status


async def test_a_cancel_reaches_a_simple_processor_within_2_s(
    temporal_dev_env: WorkflowEnvironment, task_store: PocketBaseTaskStore
) -> None:
    latency, status = await _cancel_latency(
        temporal_dev_env, task_store, "waits-for-cancel", "cancel-simple"
    )
    assert status == TaskStatus.CANCELLED
    assert latency <= CANCEL_BOUND_S, f"the cancel took {latency:.2f} s"


async def test_a_cancel_reaches_a_flow_step_within_2_s(
    temporal_dev_env: WorkflowEnvironment, task_store: PocketBaseTaskStore
) -> None:
    latency, status = await _cancel_latency(
        temporal_dev_env, task_store, "cancel-latency-flow", "cancel-flow"
    )
    assert status == TaskStatus.CANCELLED
    assert latency <= CANCEL_BOUND_S, f"the cancel took {latency:.2f} s"
