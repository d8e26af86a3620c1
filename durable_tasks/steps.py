"""`@step_activity`: turn `async def fn(job, ctx)` into a flow step activity.

The wrapper gives the step what a simple processor gets, through the same attempt runner: a
`TaskContext` (logger bound to the task, attempt n of N, `idempotency_key`), heartbeats while it
runs at a third of the step's heartbeat timeout (liveness, and how a cancel reaches it),
`NonRetryableError` turned into a non-retryable failure, and its return value made JSON-able.
Return data, or a `StepResult` (a failed one is a recoverable failure: recorded, not retried).
When a step completes, the wrapper hands its completion to the worker's sync (with the sync
installed; written at once for the first 20 steps of a run on a worker, then at the pace of
the flow's snapshots), so the task record counts it without waiting for the workflow to take
it in: under load Temporal starts that workflow task a hundred milliseconds or more later.
A step that reports a failure is left to the workflow, which logs it and applies its failure
policy.
Check for existing work first, keyed by `ctx.idempotency_key`, so a retry or a rerun repeats
nothing:

    @step_activity("video.transcode")
    async def transcode(job: StepJobData, ctx: TaskContext) -> dict[str, str]:
        out = workdir / f"{ctx.idempotency_key}.mp4"
        if out.exists():
            return {"path": str(out)}          # done by an earlier attempt or run
        ...
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from temporalio import activity

from durable_tasks._reporting import current_progress_sink
from durable_tasks._runner import as_result, attempt_context, run_user_code
from durable_tasks.context import TaskContext
from durable_tasks.models import StepJobData, StepResult, StepStatus

StepFn = Callable[[StepJobData, TaskContext], Awaitable[Any] | Any]

_STEP_ACTIVITIES: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()


def step_activity(name: str) -> Callable[[StepFn], Callable[[StepJobData], Awaitable[Any]]]:
    """Decorate a step function (async, or plain to run in a thread) as activity `name`."""

    def decorate(fn: StepFn) -> Callable[[StepJobData], Awaitable[Any]]:
        @functools.wraps(fn)
        async def run_step(job: StepJobData) -> Any:
            ctx = attempt_context(
                task_id=job.task_id,
                workspace_id=job.workspace_id,
                step=job.step_type,
                attempt=job.attempt,
                max_attempts=job.max_attempts,
                # flow progress comes from the steps' transitions, not from inside them
                logger_name=f"durable_tasks.steps.{name}",
            )
            value = as_result(await run_user_code(fn, job, ctx, ctx=ctx))
            _report_completion(job, ctx.run_id, value)
            return value

        # Temporal reads the activity's argument type from the signature: ours, not fn's.
        del run_step.__wrapped__
        run_step.__annotations__ = {"job": StepJobData, "return": Any}
        defined = activity.defn(name=name)(run_step)
        _STEP_ACTIVITIES.add(defined)
        return defined

    return decorate


def _report_completion(job: StepJobData, run_id: str, value: Any) -> None:
    """Hand a completed step to the worker's sync (no sync installed: nobody listens)."""
    sink = current_progress_sink()
    if sink is None:
        return
    try:
        step = StepResult.of_return(job.step_type, value, job.attempt, None)
    except ValueError:  # not a valid StepResult: the workflow will say what it makes of it
        return
    if step.status != StepStatus.COMPLETED:
        return
    step.completed_at = datetime.now(UTC)
    sink.step_completed(job.task_id, run_id, step)


def is_step_activity(fn: object) -> bool:
    """True for activities made by `@step_activity` (they heartbeat, so they get a timeout)."""
    try:
        return fn in _STEP_ACTIVITIES
    except TypeError:  # not weak-referenceable, so not one of ours
        return False
