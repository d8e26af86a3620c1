"""`BaseProcessor` and `BaseSimpleProcessor`: the reference's simple processors as activities.

A simple processor declares its `name`, its `input_model` (a `SimpleJobData` subclass), its
`retry` policy and timeouts, and implements `process(data, ctx)`, async or plain (a plain one
runs in a thread so it never blocks the worker). It never talks to PocketBase: the sync
interceptor keeps the task record true.

    class SendEmail(BaseSimpleProcessor[EmailJobData]):
        name = "send-email"
        input_model = EmailJobData

        async def process(self, data: EmailJobData, ctx: TaskContext) -> dict[str, str]:
            ctx.report_progress(50)
            return {"messageId": await send(data.to, data.subject, data.body)}

Events: `on_active`, `on_completed`, `on_failed` (told whether the failure is final) and
`on_progress` fire at the moments BullMQ's worker events fire. A hook that raises is logged and
never changes the task's outcome.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import Field
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from durable_tasks._reporting import current_progress_sink
from durable_tasks._runner import as_result, attempt_context, run_user_code
from durable_tasks.context import TaskContext
from durable_tasks.errorlog import facts_from_exception
from durable_tasks.errors import ConfigurationError, InvalidInputError
from durable_tasks.models import CamelModel, SimpleJobData, validate_model
from durable_tasks.retry import DEFAULT_HEARTBEAT_TIMEOUT, ActivityOptions, RetryOptions

DataT = TypeVar("DataT", bound=SimpleJobData)
log = logging.getLogger("durable_tasks.processor")


class SimpleActivityInput(CamelModel):
    """What the simple-task workflow sends to one attempt of a simple processor."""

    data: dict[str, Any]
    attempt: int = Field(default=1, ge=1)
    retry: RetryOptions = Field(default_factory=RetryOptions)


class BaseProcessor:
    """Shared helpers of every processor: error formatting and hooks that cannot break a task."""

    name: ClassVar[str] = ""

    @property
    def logger(self) -> logging.Logger:
        """The processor's logger (`durable_tasks.processors.<name>`)."""
        return logging.getLogger(f"durable_tasks.processors.{self.name}")

    @staticmethod
    def format_error(error: BaseException) -> str:
        """`Type: message`, the way the error log and `StepResult.error` show errors."""
        facts = facts_from_exception(error)
        return f"{facts.error_type}: {facts.message}"

    async def _call_hook(self, hook: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        try:
            outcome = fn(*args, **kw)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            log.exception(
                "%s: the %s hook raised; the task's outcome is unchanged", self.name, hook
            )


class BaseSimpleProcessor(BaseProcessor, Generic[DataT]):
    """A standalone job run as a Temporal activity (see the module docstring)."""

    input_model: ClassVar[type[SimpleJobData]] = SimpleJobData
    retry: ClassVar[RetryOptions | RetryPolicy | None] = None
    start_to_close_timeout: ClassVar[timedelta] = timedelta(minutes=10)
    heartbeat_timeout: ClassVar[timedelta | None] = DEFAULT_HEARTBEAT_TIMEOUT

    def process(self, data: DataT, ctx: TaskContext) -> Awaitable[Any] | Any:
        """Do the work. Return a JSON-able result; raise to fail the attempt."""
        raise NotImplementedError(f"{type(self).__name__} must implement process(data, ctx)")

    # -- events (override any) --------------------------------------------------------------

    def on_active(self, data: DataT, ctx: TaskContext) -> Awaitable[None] | None:
        """An attempt starts (BullMQ's `active`)."""
        return None

    def on_completed(self, data: DataT, result: Any, ctx: TaskContext) -> Awaitable[None] | None:
        """The job finished successfully (BullMQ's `completed`)."""
        return None

    def on_failed(
        self, data: DataT, error: BaseException, ctx: TaskContext, *, final: bool
    ) -> Awaitable[None] | None:
        """An attempt failed; `final` says whether the task is now FAILED (BullMQ's `failed`)."""
        return None

    def on_progress(self, data: DataT, percent: float, ctx: TaskContext) -> None:
        """Progress was reported (BullMQ's `progress`). Synchronous: it may fire very often."""
        return None

    # -- wiring -----------------------------------------------------------------------------

    @classmethod
    def options(cls) -> ActivityOptions:
        """Retries and timeouts as declared on the class."""
        if not cls.name:
            raise ConfigurationError(f"{cls.__qualname__} must set a name")
        return ActivityOptions(
            retry=RetryOptions.coerce(cls.retry),
            start_to_close_timeout=cls.start_to_close_timeout,
            heartbeat_timeout=cls.heartbeat_timeout,
        )

    @classmethod
    def validate(cls, raw: Any) -> SimpleJobData:
        """Validate job data into `input_model`; `InvalidInputError` names the field."""
        return validate_model(cls.input_model, raw)

    def activity(self) -> Callable[[SimpleActivityInput], Awaitable[Any]]:
        """The Temporal activity (named after the processor) that runs one attempt."""
        processor = self

        @activity.defn(name=self.name)
        async def run_simple_processor(input: SimpleActivityInput) -> Any:
            return await processor._run_attempt(input)

        return run_simple_processor

    async def _run_attempt(self, input: SimpleActivityInput) -> Any:
        try:
            data: Any = self.validate(input.data)
        except InvalidInputError as err:
            raise ApplicationError(str(err), type="InvalidInputError", non_retryable=True) from None
        sink = current_progress_sink()
        ctx = attempt_context(
            task_id=data.task_id,
            workspace_id=data.workspace_id,
            step=self.name,
            attempt=input.attempt,
            max_attempts=input.retry.maximum_attempts,
            logger_name=self.logger.name,
            progress_sink=sink,
            on_progress=lambda p: self._progress_hook(data, p, ctx),
        )
        await self._call_hook("on_active", self.on_active, data, ctx)

        async def failed(err: Exception) -> None:
            facts = facts_from_exception(err)
            final = ctx.is_last_attempt or not input.retry.retries(
                facts.error_type, non_retryable=facts.non_retryable
            )
            await self._call_hook("on_failed", self.on_failed, data, err, ctx, final=final)

        result = await run_user_code(self.process, data, ctx, ctx=ctx, on_error=failed)
        await self._call_hook("on_completed", self.on_completed, data, result, ctx)
        if sink is not None and ctx.progress > 0:  # the last progress lands before the result
            await sink.flush(ctx.task_id, timeout=2.0)
        return as_result(result)

    def _progress_hook(self, data: Any, percent: float, ctx: TaskContext) -> None:
        try:
            self.on_progress(data, percent, ctx)
        except Exception:
            log.exception("%s: the on_progress hook raised; ignored", self.name)
