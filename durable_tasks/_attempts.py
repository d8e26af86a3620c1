"""The retry loop, run in workflow code (see `durable_tasks.retry` for why it lives here).

Each attempt is one activity execution with Temporal's own retries switched off. A failed
attempt becomes one error-log entry; the loop then waits out the backoff on a durable timer, or
gives up when the attempts are spent or the error is non-retryable. Cancellation of the workflow
is never treated as a failed attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from durable_tasks.errorlog import FailureFacts, facts_from_workflow_error, make_entry
    from durable_tasks.models import ErrorLogEntry
    from durable_tasks.retry import RetryOptions

T = TypeVar("T")


class LoggedFailureError(ApplicationError):
    """A workflow failure whose causes are all in the error log already (the sync adds none).

    Always non-retryable: it ends the workflow.
    """

    def __init__(self, message: str, *, type: str) -> None:
        super().__init__(message, type=type, non_retryable=True)


class FlowFailedError(LoggedFailureError):
    """The flow ended with failed steps (their errors are in the record's error log)."""


class AttemptsExhaustedError(LoggedFailureError):
    """The last attempt failed (or the error was non-retryable); fails the workflow."""

    def __init__(self, step: str, attempts: int, facts: FailureFacts) -> None:
        super().__init__(
            f"{step} failed after {attempts} attempt(s): {facts.error_type}: {facts.message}",
            type=facts.error_type,
        )
        self.step = step
        self.attempts = attempts
        self.facts = facts


async def run_attempts(
    *,
    step: str,
    retry: RetryOptions,
    attempt_fn: Callable[[int], Awaitable[T]],
    on_failed: Callable[[ErrorLogEntry], None],
    on_retry: Callable[[int], None] | None = None,
) -> T:
    """Call `attempt_fn(n)` for n = 1, 2, ... until it succeeds or may not be retried."""
    attempt = 1
    while True:
        try:
            return await attempt_fn(attempt)
        except ActivityError as err:
            if is_cancellation(err):
                raise
            facts = facts_from_workflow_error(err)
            final = retry.is_last(attempt) or not retry.retries(
                facts.error_type, non_retryable=facts.non_retryable
            )
            on_failed(
                make_entry(
                    facts,
                    run_id=workflow.info().run_id,
                    step=step,
                    attempt=attempt,
                    max_attempts=retry.maximum_attempts,
                    timestamp=workflow.now(),
                    final=final,
                )
            )
            if final:
                raise AttemptsExhaustedError(step, attempt, facts) from err
        await workflow.sleep(retry.delay_after(attempt))
        attempt += 1
        if on_retry is not None:
            on_retry(attempt)


def is_cancellation(err: BaseException) -> bool:
    """True when `err` means "cancelled" rather than "failed"."""
    if isinstance(err, asyncio.CancelledError | CancelledError):
        return True
    return isinstance(err, ActivityError) and isinstance(err.cause, CancelledError)
