"""Processors for the dispatcher and board tests: one counts its runs, one runs until cancelled,
one fails, one is a two-step flow.

A module of its own so the workflow sandbox can re-import it (flows) and the tests can read
`RUNS` to prove a task ran exactly once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durable_tasks.context import TaskContext
    from durable_tasks.errors import NonRetryableError
    from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
    from durable_tasks.models import ParentJobData, SimpleJobData, StepJobData
    from durable_tasks.processor import BaseSimpleProcessor
    from durable_tasks.retry import RetryOptions
    from durable_tasks.steps import step_activity

RUNS: dict[str, int] = {}
"""Executions of `count` per task id."""


class CountData(SimpleJobData):
    n: int = Field(ge=0, le=100)


class Count(BaseSimpleProcessor[CountData]):
    """Counts its runs per task, so a test can prove exactly-once."""

    name = "count"
    input_model = CountData

    async def process(self, data: CountData, ctx: TaskContext) -> dict[str, Any]:
        RUNS[data.task_id] = RUNS.get(data.task_id, 0) + 1
        ctx.report_progress(50)
        return {"n": data.n}


class Hold(BaseSimpleProcessor[SimpleJobData]):
    """Runs until cancelled, heartbeating often so a cancel reaches it within a second or two."""

    name = "hold"
    retry = RetryOptions(maximum_attempts=1)
    heartbeat_timeout = timedelta(seconds=2)

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        ctx.report_progress(10)
        await asyncio.Event().wait()  # only a cancellation ends this


class Boom(BaseSimpleProcessor[SimpleJobData]):
    """Fails at once, for good, with a message a test can look for."""

    name = "boom"
    retry = RetryOptions(maximum_attempts=1)

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        raise NonRetryableError("the widget is on fire")


class PairData(ParentJobData):
    label: str = Field(min_length=1)


@step_activity("pair.first")
async def first(job: StepJobData, ctx: TaskContext) -> int:
    return 1


@step_activity("pair.second")
async def second(job: StepJobData, ctx: TaskContext) -> int:
    return int(job.dependency_results["first"]) + 1


@flow_processor("pair")
class Pair(BaseFlowProcessor[PairData]):
    """Two steps, the second after the first."""

    input_model = PairData
    steps = (Step("first", first), Step("second", second))
