"""One attempt of user code inside an activity: the same for simple processors and flow steps.

Both kinds of activity give user code a `TaskContext`, keep the attempt alive with heartbeats
while it runs, turn our `NonRetryableError` into Temporal's non-retryable failure, and make the
return value JSON-able (`as_result`). Doing it in one place keeps them from drifting: the heartbeat interval
is derived from the heartbeat timeout *this attempt* was scheduled with (a third of it, and at
most half a second), so a step with a 2 s heartbeat timeout beats as often as a simple processor
with the same setting.

Why at most half a second: a cancel reaches an attempt only in the answer to a heartbeat the
worker *sends*, and the worker sends at most one per throttle interval (the plugin sets it to
1 s). Beating locally more often than that costs nothing (beats in between are coalesced), and
keeps a send due every throttle interval, so a cancel lands within about a second.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_tasks._reporting import ProgressSink
from durable_tasks.context import TaskContext
from durable_tasks.errors import NonRetryableError

_MIN_BEAT_S = 0.1
_MAX_BEAT_S = 0.5
"""Local beats are cheap; what reaches the server is throttled by the worker (see above)."""


def keepalive_interval(heartbeat_timeout: timedelta | None) -> float:
    """Seconds between heartbeats: a third of the heartbeat timeout (two can be lost), capped
    at half a second so the worker always has a beat to send when its throttle allows one.
    Without a heartbeat timeout beats still carry cancellation, so they go on all the same."""
    if not heartbeat_timeout:
        return _MAX_BEAT_S
    return min(max(heartbeat_timeout.total_seconds() / 3, _MIN_BEAT_S), _MAX_BEAT_S)


def attempt_context(
    *,
    task_id: str,
    workspace_id: str,
    step: str,
    attempt: int,
    max_attempts: int,
    logger_name: str,
    progress_sink: ProgressSink | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> TaskContext:
    """The `TaskContext` of the activity attempt running now."""
    return TaskContext(
        task_id=task_id,
        workspace_id=workspace_id,
        step=step,
        attempt=attempt,
        max_attempts=max_attempts,
        run_id=activity.info().workflow_run_id or "",
        progress_sink=progress_sink,
        logger_name=logger_name,
        on_progress=on_progress,
    )


async def run_user_code(
    fn: Callable[..., Any],
    *args: Any,
    ctx: TaskContext,
    on_error: Callable[[Exception], Awaitable[None]] | None = None,
) -> Any:
    """`fn(*args)` run kept alive; `on_error` sees the user's own exception before it is mapped."""
    interval = keepalive_interval(activity.info().heartbeat_timeout)
    try:
        with ctx.keeping_alive(interval):
            result = await call_user_code(fn, *args)
    except Exception as err:
        if on_error is not None:
            await on_error(err)
        if isinstance(err, NonRetryableError):
            raise as_non_retryable(err) from err
        raise
    return result


def as_result(value: Any) -> Any:
    """A return value as the JSON the activity returns (models by their camelCase aliases)."""
    return to_jsonable_python(value, by_alias=True)


async def call_user_code(fn: Callable[..., Any], *args: Any) -> Any:
    """Await `fn(*args)` if it is async; else run it in a thread so the worker's loop stays free."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    outcome = await asyncio.to_thread(fn, *args)
    return await outcome if inspect.isawaitable(outcome) else outcome


def as_non_retryable(err: NonRetryableError) -> ApplicationError:
    """The Temporal failure for our `NonRetryableError`: same type name, never retried."""
    return ApplicationError(str(err), type=type(err).__name__, non_retryable=True)
