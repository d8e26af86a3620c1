"""Flows and steps used by the flow tests (a module of its own: the workflow sandbox imports it).

Steps may look at their own record through `STORE` — test code only; real steps never need to.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from pydantic import SecretStr
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durable_tasks.context import TaskContext
    from durable_tasks.flow import BaseFlowProcessor, FailurePolicy, Step, flow_processor
    from durable_tasks.models import ParentJobData, StepJobData, StepResult, StepStatus
    from durable_tasks.retry import RetryOptions
    from durable_tasks.steps import step_activity
    from durable_tasks.store import TaskStore
    from tests.support.waiting import eventually

STORE: dict[str, TaskStore] = {}
RUNS: dict[str, int] = {}
GATES: dict[str, asyncio.Event] = {}


def gate(name: str) -> asyncio.Event:
    return GATES.setdefault(name, asyncio.Event())


def count(ctx: TaskContext) -> None:
    RUNS[ctx.idempotency_key] = RUNS.get(ctx.idempotency_key, 0) + 1


class FlowData(ParentJobData):
    fail_times: dict[str, int] = {}
    """How many attempts of each step fail (by step name)."""
    block: list[str] = []
    """Steps that wait (heartbeating) until their gate opens or they are cancelled."""
    fail_soft: list[str] = []
    """Steps that return a failed StepResult (a recoverable failure)."""


async def _visible_running(ctx: TaskContext) -> None:
    """Wait until the record shows this step running (makes the progress sequence exact)."""

    async def probe() -> bool:
        rec = await STORE["s"].get(ctx.task_id)
        steps = (rec.result or {}).get("steps", {}) if rec else {}
        return steps.get(ctx.step, {}).get("status") == "running"

    await eventually(probe, what=f"{ctx.step} running in the record")


@step_activity("tf.work")
async def work(job: StepJobData, ctx: TaskContext) -> Any:
    count(ctx)
    cfg = job.config(FlowData)
    if "s" in STORE:
        await _visible_running(ctx)
    if ctx.step in cfg.block:
        gate(f"{ctx.task_id}:{ctx.step}:started").set()
        await gate(f"{ctx.task_id}:{ctx.step}:release").wait()
    if ctx.attempt <= cfg.fail_times.get(ctx.step, 0):
        raise RuntimeError(f"{ctx.step} broke on attempt {ctx.attempt}")
    if ctx.step in cfg.fail_soft:
        return StepResult(step_type=ctx.step, status=StepStatus.FAILED, error="nothing to do")
    return {"step": ctx.step, "deps": sorted(job.dependency_results)}


@step_activity("tf.meet")
async def meet(job: StepJobData, ctx: TaskContext) -> str:
    """Two parallel branches each wait for the other to start: only overlap lets both finish."""
    count(ctx)
    gate(f"{ctx.task_id}:{ctx.step}:started").set()
    other = "right" if ctx.step == "left" else "left"
    await asyncio.wait_for(gate(f"{ctx.task_id}:{other}:started").wait(), 20)
    return f"{ctx.step} met {other}"


@flow_processor("tf-sequential")
class Sequential(BaseFlowProcessor[FlowData]):
    input_model = FlowData
    steps = (Step("fetch", work), Step("shrink", work), Step("store", work))


@flow_processor("tf-diamond")
class Diamond(BaseFlowProcessor[FlowData]):
    input_model = FlowData
    steps = (
        Step("start", work),
        Step("left", meet, depends_on=["start"]),
        Step("right", meet, depends_on=["start"]),
        Step("join", work, depends_on=["left", "right"]),
    )


@flow_processor("tf-policies")
class Policies(BaseFlowProcessor[FlowData]):
    """a ─► b (policy from input) ─► c ; d independent ; e after d."""

    input_model = FlowData
    steps = (
        Step("a", work, depends_on=[]),
        Step("b", work, depends_on=["a"], on_failure=FailurePolicy.IGNORE),
        Step("c", work, depends_on=["b"]),
        Step("d", work, depends_on=[]),
        Step("e", work, depends_on=["d"]),
    )


@flow_processor("tf-skip")
class Skip(BaseFlowProcessor[FlowData]):
    input_model = FlowData
    steps = (
        Step("a", work, depends_on=[]),
        Step("b", work, depends_on=["a"], on_failure=FailurePolicy.SKIP_DEPENDENTS),
        Step("c", work, depends_on=["b"]),
        Step("d", work, depends_on=[]),
        Step("e", work, depends_on=["d"]),
    )


@flow_processor("tf-fail")
class FailFast(BaseFlowProcessor[FlowData]):
    """`a` fails while `slow` runs. A running activity holds the time-skipping server's clock,
    so `a`'s backoff passes in real time: keep it short (the policy is under test, not it)."""

    input_model = FlowData
    steps = (
        Step(
            "a",
            work,
            depends_on=[],
            retry=RetryOptions(initial_interval=timedelta(milliseconds=50)),
        ),
        Step("slow", work, depends_on=[]),
        Step("after", work, depends_on=["a"]),
    )


@step_activity("tf.noop")
async def noop(job: StepJobData, ctx: TaskContext) -> int:
    return len(ctx.step)


@flow_processor("tf-wide")
class Wide(BaseFlowProcessor[FlowData]):
    input_model = FlowData
    steps = (
        *(Step(f"s{i:03d}", noop, depends_on=[]) for i in range(200)),
        Step("sum", noop, depends_on=[f"s{i:03d}" for i in range(200)]),
    )


@flow_processor("tf-sequential")
class SequentialReordered(BaseFlowProcessor[FlowData]):
    """`Sequential` with its first step's activity changed: must break replay of old histories."""

    input_model = FlowData
    steps = (Step("fetch", noop), Step("shrink", work), Step("store", work))


class SecretFlowData(ParentJobData):
    user: str
    password: SecretStr


@step_activity("tf.secret-check")
async def secret_check(job: StepJobData, ctx: TaskContext) -> bool:
    """True when the step got the flow's secret in clear (the record keeps it masked)."""
    return job.config(SecretFlowData).password.get_secret_value() == "hunter2"


@flow_processor("tf-secret")
class SecretFlow(BaseFlowProcessor[SecretFlowData]):
    input_model = SecretFlowData
    steps = (Step("check", secret_check),)
