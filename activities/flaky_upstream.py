"""`flaky-upstream`: a demo processor whose first attempts fail, to show retries in the record.

It stands for any call to an unreliable service. While retries remain the task stays RUNNING
and each failed attempt adds one entry to the error log; then it succeeds. `durable-tasks demo`
starts one so a newcomer sees what a retried task looks like.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from durable_tasks.context import TaskContext
from durable_tasks.models import SimpleJobData
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.retry import RetryOptions


class FlakyUpstreamData(SimpleJobData):
    """`failures`: how many attempts fail before one succeeds (0–4)."""

    failures: int = Field(default=2, ge=0, le=4)


class FlakyUpstreamProcessor(BaseSimpleProcessor[FlakyUpstreamData]):
    """Fails its first `failures` attempts with a ConnectionError, then answers."""

    name = "flaky-upstream"
    input_model = FlakyUpstreamData
    retry = RetryOptions(maximum_attempts=5, initial_interval=timedelta(seconds=1))

    async def process(self, data: FlakyUpstreamData, ctx: TaskContext) -> dict[str, int]:
        ctx.report_progress(30)
        if ctx.attempt <= data.failures:
            raise ConnectionError(f"upstream busy (attempt {ctx.attempt} of {ctx.max_attempts})")
        ctx.report_progress(90)
        return {"answeredOnAttempt": ctx.attempt}
