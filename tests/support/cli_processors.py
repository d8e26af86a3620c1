"""Small processors for the CLI tests: the in-process worker runs them, and the CLI subprocesses
know them through `--import tests.support.cli_processors` (the repository root is on their
PYTHONPATH).

A module of its own because the workflow sandbox re-imports the module that defines a flow.
Steps run in the test process (the worker is in-process), so the test drives them through
`GATES` and reads `RUNS`; the CLI subprocesses only use the definitions, to validate input.
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
"""Executions per `<taskId>:<step>`, to prove what a rerun repeats."""
GATES: dict[str, asyncio.Event] = {}
"""Per task id: the `gate` step waits for it (when the job is `gated`)."""

_ONE_ATTEMPT = RetryOptions(maximum_attempts=1)


def gate(task_id: str) -> asyncio.Event:
    return GATES.setdefault(task_id, asyncio.Event())


class EchoData(SimpleJobData):
    message: str = Field(min_length=1)
    times: int = Field(default=1, ge=1, le=10)


class Echo(BaseSimpleProcessor[EchoData]):
    """Succeeds at once with its message repeated."""

    name = "cli-echo"
    input_model = EchoData

    async def process(self, data: EchoData, ctx: TaskContext) -> dict[str, Any]:
        ctx.report_progress(50)
        return {"echo": " ".join([data.message] * data.times)}


class Boom(BaseSimpleProcessor[SimpleJobData]):
    """Fails at once, for good."""

    name = "cli-boom"
    retry = _ONE_ATTEMPT

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        raise NonRetryableError("the widget is on fire")


class Hold(BaseSimpleProcessor[SimpleJobData]):
    """Runs until cancelled, heartbeating often so a cancel reaches it within a second or two."""

    name = "cli-hold"
    retry = _ONE_ATTEMPT
    heartbeat_timeout = timedelta(seconds=2)

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        ctx.report_progress(10)
        await asyncio.Event().wait()  # only a cancellation ends this


class FlowData(ParentJobData):
    gated: bool = False
    """`gate` waits for `GATES[taskId]` (the test opens it)."""
    fail_first_run: bool = False
    """`finish` fails on its first execution for this task, and succeeds when rerun."""
    always_fail: bool = False
    """`finish` always fails."""


def _count(ctx: TaskContext) -> int:
    RUNS[ctx.idempotency_key] = RUNS.get(ctx.idempotency_key, 0) + 1
    return RUNS[ctx.idempotency_key]


@step_activity("cli.prepare")
async def prepare(job: StepJobData, ctx: TaskContext) -> dict[str, int]:
    _count(ctx)
    return {"items": 3}


@step_activity("cli.gate")
async def wait_at_gate(job: StepJobData, ctx: TaskContext) -> str:
    _count(ctx)
    if job.config(FlowData).gated:
        await gate(ctx.task_id).wait()
    return "passed"


@step_activity("cli.finish")
async def finish(job: StepJobData, ctx: TaskContext) -> dict[str, int]:
    runs = _count(ctx)
    config = job.config(FlowData)
    if config.always_fail or (config.fail_first_run and runs == 1):
        raise NonRetryableError("finish refused the batch")
    return {"done": job.dependency_results["prepare"]["items"]}


@flow_processor("cli-flow")
class CliFlow(BaseFlowProcessor[FlowData]):
    """prepare -> gate -> finish, one attempt each."""

    input_model = FlowData
    steps = (
        Step("prepare", prepare, retry=_ONE_ATTEMPT),
        Step("gate", wait_at_gate, retry=_ONE_ATTEMPT),
        Step("finish", finish, retry=_ONE_ATTEMPT, depends_on=["prepare", "gate"]),
    )
