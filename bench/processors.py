"""The durable-tasks side's activities: a no-op simple processor, a progress-heavy one, and the
no-op step of the three-step flow (`bench.flow`)."""

from __future__ import annotations

import asyncio

from durable_tasks.context import TaskContext
from durable_tasks.models import SimpleJobData, StepJobData
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.steps import step_activity


class NoopTask(BaseSimpleProcessor[SimpleJobData]):
    """A simple processor that does nothing: what is left is the framework's cost."""

    name = "bench-noop"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        return None


class ProgressData(SimpleJobData):
    """How many progress reports to make, and how long each slice of "work" between them takes."""

    reports: int = 1000
    work_ms: float = 1.0


class ProgressHeavyTask(BaseSimpleProcessor[ProgressData]):
    """Reports progress `reports` times while it works: the writer should coalesce the writes."""

    name = "bench-progress"
    input_model = ProgressData

    async def process(self, data: ProgressData, ctx: TaskContext) -> int:
        for i in range(1, data.reports + 1):
            await asyncio.sleep(data.work_ms / 1000)  # a slice of work between two reports
            ctx.report_progress(99 * i / data.reports)
        return data.reports


class StormData(SimpleJobData):
    """The progress storm: how many reports, and how long the last value is held."""

    reports: int = 10_000
    hold_s: float = 1.0


STORM_LAST = 99.0
"""The storm's last reported value, which must land while the task is still RUNNING."""


class ProgressStormTask(BaseSimpleProcessor[StormData]):
    """10,000 `report_progress` calls over about two seconds, then the last value held.

    The hold is part of the task's work, not a wait for the writer: it gives the last value a
    moment in which it can only land as a RUNNING version of the record.
    """

    name = "bench-storm"
    input_model = StormData

    async def process(self, data: StormData, ctx: TaskContext) -> int:
        for i in range(1, data.reports):
            ctx.report_progress(STORM_LAST * i / data.reports)
            if i % 10 == 0:
                await asyncio.sleep(0.002)  # spread the storm over about two seconds
        ctx.report_progress(STORM_LAST)
        await asyncio.sleep(data.hold_s)
        return data.reports


@step_activity("bench.step-noop")
async def step_noop(job: StepJobData, ctx: TaskContext) -> None:
    """A step that does nothing."""
    return None
