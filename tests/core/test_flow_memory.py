"""Flow processors on the time-skipping server with the in-memory store (fast logic checks)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from durable_tasks.context import TaskContext
    from durable_tasks.flow import BaseFlowProcessor, FailurePolicy, Step, flow_processor
    from durable_tasks.memory_store import MemoryTaskStore
    from durable_tasks.models import ParentJobData, StepJobData, StepStatus, TaskStatus
    from durable_tasks.steps import step_activity
    from durable_tasks.testing import running_worker

RUNS: dict[str, int] = {}


class PipeData(ParentJobData):
    fail_shrink: int = 0


@step_activity("t.fetch")
async def fetch(job: StepJobData, ctx: TaskContext) -> dict[str, Any]:
    RUNS[ctx.idempotency_key] = RUNS.get(ctx.idempotency_key, 0) + 1
    return {"size": 10}


@step_activity("t.shrink")
async def shrink(job: StepJobData, ctx: TaskContext) -> dict[str, Any]:
    RUNS[ctx.idempotency_key] = RUNS.get(ctx.idempotency_key, 0) + 1
    if ctx.attempt <= job.config(PipeData).fail_shrink:
        raise RuntimeError(f"shrink failed on attempt {ctx.attempt}")
    return {"size": job.dependency_results["fetch"]["size"] // 2}


@flow_processor("t-pipeline")
class Pipeline(BaseFlowProcessor[PipeData]):
    input_model = PipeData
    steps = (
        Step("fetch", fetch),
        Step("shrink", shrink),
        Step("store", fetch, depends_on=["shrink"], on_failure=FailurePolicy.FAIL),
    )


async def test_sequential_flow(temporal_client: Client, task_queue: str) -> None:
    store = MemoryTaskStore()
    async with running_worker(temporal_client, store, Pipeline, task_queue=task_queue) as client:
        await client.start("t-pipeline", workspace_id="ws", input={}, task_id="f1")
        record = await client.wait("f1")
        assert record.status == TaskStatus.SUCCESS, record
        result = record.result
        assert result["completedSteps"] == ["fetch", "shrink", "store"]
        assert result["steps"]["shrink"]["data"] == {"size": 5}
        assert record.progress == 100

        await client.start("t-pipeline", workspace_id="ws", input={"fail_shrink": 5}, task_id="f2")
        record = await client.wait("f2")
        assert record.status == TaskStatus.FAILED, record.result
        assert record.result["failedSteps"] == ["shrink"]
        assert record.result["steps"]["store"]["status"] == StepStatus.SKIPPED
        assert len(record.errors) == 3
        assert record.progress < 100
        fetched = RUNS["f2:fetch"]
        out = await client.rerun("f2")
        assert out.outcome == "started"
        record = await client.wait("f2")
        # fail_shrink=5 still fails: but fetch must not run again
        assert RUNS["f2:fetch"] == fetched
        assert record.status == TaskStatus.FAILED


# -- the one attempt runner: steps heartbeat by their own heartbeat timeout --------------------

SLOW_STEP_SECONDS = 3.5
"""Longer than the 2 s heartbeat timeout below: only heartbeats keep the attempt alive."""


@step_activity("t.slow-quiet")
async def slow_quiet(job: StepJobData, ctx: TaskContext) -> dict[str, int]:
    """Works past its heartbeat timeout without reporting progress (the runner must beat)."""
    import asyncio

    await asyncio.sleep(SLOW_STEP_SECONDS)
    return {"attempt": ctx.attempt}


@flow_processor("t-short-heartbeat")
class ShortHeartbeat(BaseFlowProcessor[ParentJobData]):
    steps = (Step("slow", slow_quiet, heartbeat_timeout=timedelta(seconds=2)),)


@pytest.mark.slow
async def test_step_with_a_short_heartbeat_timeout_stays_alive(
    temporal_client: Client, task_queue: str
) -> None:
    """A healthy step with a 2 s heartbeat timeout succeeds on its first attempt.

    Steps used to heartbeat every 10/3 s whatever their timeout, so this one failed with
    TimeoutHeartbeat; steps and simple processors now share one runner that beats at a third
    of the attempt's own heartbeat timeout.
    """
    store = MemoryTaskStore()
    async with running_worker(
        temporal_client, store, ShortHeartbeat, task_queue=task_queue
    ) as client:
        await client.start("t-short-heartbeat", workspace_id="ws", input={}, task_id="hb1")
        record = await client.wait("hb1")
    assert record.status == TaskStatus.SUCCESS, record.error_log
    assert record.result["steps"]["slow"]["attempts"] == 1
    assert record.result["steps"]["slow"]["data"] == {"attempt": 1}
    assert record.error_log == ""
