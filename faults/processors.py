"""Processors the campaign's worker processes run (`durable-tasks worker --import ...`).

Every attempt leaves a mark file `<task>.<step>.<attempt>.<pid>` holding the time it started
in `FAULTS_MARKS`, so the campaign sees, without sharing memory, which process ran what and
whether a completed step ever ran twice. An attempt told to hold waits until it is killed or
cancelled; a cancel leaves `<task>.<step>.cancelled` holding the time it arrived.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from durable_tasks.context import TaskContext
from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
from durable_tasks.models import ParentJobData, SimpleJobData, StepJobData
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.steps import step_activity


def _marks() -> Path:
    return Path(os.environ["FAULTS_MARKS"])


async def _attempt(ctx: TaskContext, step: str, *, hold: bool, seconds: float) -> str:
    (_marks() / f"{ctx.task_id}.{step}.{ctx.attempt}.{os.getpid()}").write_text(str(time.time()))
    if hold and ctx.attempt == 1:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            (_marks() / f"{ctx.task_id}.{step}.cancelled").write_text(str(time.time()))
            raise
    ticks = max(int(seconds * 10), 0)
    for tick in range(ticks):
        ctx.report_progress(90 * (tick + 1) / ticks)
        await asyncio.sleep(0.1)
    return f"{step}@{ctx.attempt}"


class TaskData(SimpleJobData):
    hold: bool = False
    seconds: float = 0.0


class FaultTask(BaseSimpleProcessor[TaskData]):
    """A simple task that works `seconds` (reporting progress) or holds its first attempt."""

    name = "fault-task"
    input_model = TaskData

    async def process(self, data: TaskData, ctx: TaskContext) -> str:
        return await _attempt(ctx, "task", hold=data.hold, seconds=data.seconds)


class FlowData(ParentJobData):
    hold_step: str = ""
    seconds: float = 0.0


@step_activity("fault-flow.step")
async def fault_step(job: StepJobData, ctx: TaskContext) -> str:
    cfg = job.config(FlowData)
    return await _attempt(ctx, ctx.step, hold=cfg.hold_step == ctx.step, seconds=cfg.seconds)


@flow_processor("fault-flow")
class FaultFlow(BaseFlowProcessor[FlowData]):
    """Three sequential steps; `holdStep` names one whose first attempt holds."""

    input_model = FlowData
    steps = (Step("a", fault_step), Step("b", fault_step), Step("c", fault_step))
