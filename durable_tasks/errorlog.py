"""Turning failures into error-log entries (safe in workflow code: no clocks, no I/O).

An entry says when, which step (or processor), which attempt of how many, the error's type, its
message and its stack. Its `key` (`<runId>:<step>:<attempt>`) makes the store append it once,
however many times the write is retried.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import datetime

from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    FailureError,
    TimeoutError,
)

from durable_tasks.errors import NonRetryableError
from durable_tasks.models import ErrorLogEntry

MAX_MESSAGE_CHARS = 4_000
MAX_STACK_CHARS = 16_000


@dataclass(frozen=True)
class FailureFacts:
    """What we know of one failed attempt, whatever shape the failure arrived in."""

    error_type: str
    message: str
    stack: str
    non_retryable: bool


def facts_from_workflow_error(error: BaseException) -> FailureFacts:
    """Facts from what a workflow sees when an activity attempt fails (usually `ActivityError`)."""
    cause: BaseException = error
    if isinstance(error, ActivityError) and error.cause is not None:
        cause = error.cause
    stack = ""
    if isinstance(cause, FailureError) and cause.failure is not None:
        stack = cause.failure.stack_trace
    if isinstance(cause, ApplicationError):
        return FailureFacts(
            cause.type or "ApplicationError", cause.message, stack, cause.non_retryable
        )
    if isinstance(cause, TimeoutError):
        kind = cause.type.name if cause.type is not None else "UNKNOWN"
        return FailureFacts(f"Timeout{kind.title().replace('_', '')}", str(cause), stack, False)
    if isinstance(cause, CancelledError):
        return FailureFacts("Cancelled", str(cause) or "cancelled", stack, True)
    return FailureFacts(type(cause).__name__, str(cause), stack, False)


def facts_from_exception(error: BaseException) -> FailureFacts:
    """Facts from an exception raised inside an activity (full Python traceback available)."""
    stack = "".join(traceback.format_exception(error)).rstrip()
    if isinstance(error, ApplicationError):
        return FailureFacts(
            error.type or "ApplicationError", error.message, stack, error.non_retryable
        )
    return FailureFacts(
        type(error).__name__, str(error), stack, isinstance(error, NonRetryableError)
    )


def make_entry(
    facts: FailureFacts,
    *,
    run_id: str,
    step: str,
    attempt: int,
    max_attempts: int | None,
    timestamp: datetime,
    final: bool,
) -> ErrorLogEntry:
    """An error-log entry for one failed attempt, with its idempotency key."""
    return ErrorLogEntry(
        key=f"{run_id}:{step}:{attempt}",
        timestamp=timestamp,
        step=step,
        attempt=attempt,
        max_attempts=max_attempts or None,
        error_type=facts.error_type,
        message=facts.message[:MAX_MESSAGE_CHARS],
        stack=facts.stack[-MAX_STACK_CHARS:],
        final=final,
    )
