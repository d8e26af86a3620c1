"""A plain Temporal activity, a durable simple processor and two flow steps, side by side."""

from __future__ import annotations

from durable_tasks import (
    BaseSimpleProcessor,
    SimpleJobData,
    StepJobData,
    TaskContext,
    step_activity,
)
from temporalio import activity


@activity.defn
async def greet(name: str) -> str:
    """The service's own activity: durable-tasks has nothing to do with it."""
    return f"hello {name}"


class ShoutData(SimpleJobData):
    text: str


class Shout(BaseSimpleProcessor[ShoutData]):
    name = "shout"
    input_model = ShoutData

    async def process(self, data: ShoutData, ctx: TaskContext) -> dict[str, str]:
        ctx.report_progress(50)
        return {"shouted": data.text.upper()}


@step_activity("report.count")
async def count(job: StepJobData, ctx: TaskContext) -> int:
    return 3


@step_activity("report.render")
async def render(job: StepJobData, ctx: TaskContext) -> str:
    return f"{job.dependency_results['count']} greetings"
