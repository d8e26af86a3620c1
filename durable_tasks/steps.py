"""`@step_activity`: turn `async def fn(job, ctx)` into a flow step activity.

The wrapper gives the step what a simple processor gets: a `TaskContext` (logger bound to the
task, attempt n of N, `idempotency_key`), heartbeats while it runs (liveness, and how a cancel
reaches it), `NonRetryableError` turned into a non-retryable failure, and its return value made
JSON-able. Return data, or a `StepResult` (a failed one is a recoverable failure: recorded, not
retried). Check for existing work first, keyed by `ctx.idempotency_key`, so a retry or a rerun
repeats nothing:

    @step_activity("video.transcode")
    async def transcode(job: StepJobData, ctx: TaskContext) -> dict[str, str]:
        out = workdir / f"{ctx.idempotency_key}.mp4"
        if out.exists():
            return {"path": str(out)}          # done by an earlier attempt or run
        ...
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio import activity

from durable_tasks.context import TaskContext, as_non_retryable, call_user_code
from durable_tasks.errors import NonRetryableError
from durable_tasks.models import StepJobData

StepFn = Callable[[StepJobData, TaskContext], Awaitable[Any] | Any]
STEP_MARKER = "__durable_tasks_step__"
KEEPALIVE = timedelta(seconds=10)


def step_activity(name: str) -> Callable[[StepFn], Callable[[StepJobData], Awaitable[Any]]]:
    """Decorate a step function (async, or plain to run in a thread) as activity `name`."""

    def decorate(fn: StepFn) -> Callable[[StepJobData], Awaitable[Any]]:
        async def run_step(job: StepJobData) -> Any:
            info = activity.info()
            ctx = TaskContext(
                task_id=job.task_id,
                workspace_id=job.workspace_id,
                step=job.step_type,
                attempt=job.attempt,
                max_attempts=job.max_attempts,
                run_id=info.workflow_run_id or "",
                outbox=None,  # flow progress comes from the steps, not from inside them
                logger_name=f"durable_tasks.steps.{name}",
            )
            try:
                with ctx.keeping_alive(KEEPALIVE.total_seconds() / 3):
                    result = await call_user_code(fn, job, ctx)
            except NonRetryableError as err:
                raise as_non_retryable(err) from err
            return to_jsonable_python(result, by_alias=True)

        run_step.__name__ = run_step.__qualname__ = getattr(fn, "__name__", "step")
        run_step.__doc__ = fn.__doc__
        setattr(run_step, STEP_MARKER, True)
        return activity.defn(name=name)(run_step)

    return decorate
