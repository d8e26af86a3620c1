"""Retry options, and the arithmetic of attempts and backoff.

durable-tasks runs each attempt of a processor or step as one Temporal activity execution and
drives the retry loop from the workflow. That way the workflow sees every failed attempt (not
only the last), logs it durably, knows which attempt is the final one on every server (the
time-skipping server reports no retry policy to activities), and waits out backoff with a durable
timer. The options mirror Temporal's `RetryPolicy`, which is accepted wherever these are.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from temporalio.common import RetryPolicy

from durable_tasks.models import CamelModel

DEFAULT_HEARTBEAT_TIMEOUT = timedelta(seconds=5)
"""The heartbeat timeout of simple processors and `@step_activity` steps (they beat for you).

An attempt on a worker that died is presumed dead this long after its last heartbeat, so it
bounds crash recovery: 5 s keeps a retry well under BullMQ's 30 s stalled-job check. The cost
is one heartbeat RPC a second per running attempt (see `durable_tasks.plugin`); code that
blocks the worker's event loop longer than this should declare a larger timeout."""


class RetryOptions(CamelModel):
    """How often and how patiently to retry. Defaults follow the BullMQ reference (3, 2 s, x2)."""

    maximum_attempts: int = Field(default=3, ge=0)
    """Attempts in all, the first included; 0 means no limit."""
    initial_interval: timedelta = timedelta(seconds=2)
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    maximum_interval: timedelta | None = None
    """Cap on one backoff; defaults to 100 times the initial interval, as in Temporal."""
    non_retryable_error_types: list[str] = Field(default_factory=list)

    @classmethod
    def coerce(cls, value: RetryOptions | RetryPolicy | None) -> RetryOptions:
        """Accept our options, a Temporal `RetryPolicy`, or None (the defaults)."""
        if value is None:
            return cls()
        if isinstance(value, RetryOptions):
            return value
        return cls(
            maximum_attempts=value.maximum_attempts,
            initial_interval=value.initial_interval,
            backoff_coefficient=value.backoff_coefficient,
            maximum_interval=value.maximum_interval,
            non_retryable_error_types=list(value.non_retryable_error_types or []),
        )

    def delay_after(self, attempt: int) -> timedelta:
        """The backoff to wait after failed attempt number `attempt` (1-based)."""
        cap = self.maximum_interval or self.initial_interval * 100
        seconds = self.initial_interval.total_seconds() * self.backoff_coefficient ** (attempt - 1)
        return min(timedelta(seconds=seconds), cap)

    def is_last(self, attempt: int) -> bool:
        """True when attempt number `attempt` may not be followed by another."""
        return self.maximum_attempts != 0 and attempt >= self.maximum_attempts

    def retries(self, error_type: str, *, non_retryable: bool) -> bool:
        """Whether an error of this type may be retried at all."""
        return not non_retryable and error_type not in self.non_retryable_error_types


class ActivityOptions(CamelModel):
    """Timeouts and retries of one processor or step, carried in the workflow's input.

    Carrying them in the input (rather than reading them from code at run time) keeps a
    workflow's replay deterministic even after the processor's declared options change.
    """

    retry: RetryOptions = Field(default_factory=RetryOptions)
    start_to_close_timeout: timedelta = timedelta(minutes=10)
    """Longest one attempt may run."""
    heartbeat_timeout: timedelta | None = DEFAULT_HEARTBEAT_TIMEOUT
    """An attempt that stops heartbeating this long is presumed dead and retried. The base
    classes heartbeat on their own while `process` runs, so only a dead worker trips it."""
