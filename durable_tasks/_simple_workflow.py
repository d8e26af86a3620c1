"""`SimpleTaskWorkflow`: the thin durable shell around one simple processor.

Starting a simple task starts this workflow (id `task-<taskId>`); it runs the processor's
activity through the retry loop, so every failed attempt is logged and the record stays RUNNING
until the attempts are spent. It works on every Temporal server, time-skipping included.

The job data travels as JSON and is validated once, by the processor's activity against the
processor's own model; the workflow only needs the ids (`durable_task_identity`). Its argument
arrives raw and is decoded inside (`durable_tasks._workflow_input`), so an argument that does
not even decode fails the task instead of hanging it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durable_tasks._attempts import run_attempts
    from durable_tasks._job_data import validate_in_workflow
    from durable_tasks._reporting import current_task_state
    from durable_tasks._workflow_input import decode_job_object, identity_in_workflow
    from durable_tasks.models import CamelModel, ErrorLogEntry, TaskIdentity
    from durable_tasks.processor import SimpleActivityInput
    from durable_tasks.retry import ActivityOptions

SIMPLE_WORKFLOW_NAME = "durable-tasks.simple"


class SimpleTaskInput(CamelModel):
    """The workflow's input: which processor, its job data, and its options at start time."""

    type: str = Field(min_length=1)
    data: dict[str, Any]
    options: ActivityOptions


@workflow.defn(name=SIMPLE_WORKFLOW_NAME)
class SimpleTaskWorkflow:
    """Runs one simple processor with retries; its result is the processor's result."""

    @classmethod
    def durable_task_identity(cls, raw: Any) -> TaskIdentity | None:
        """The record this workflow owns (the `TaskOwner` protocol)."""
        raw = raw.model_dump(mode="json") if isinstance(raw, SimpleTaskInput) else raw
        return identity_in_workflow(raw, data_key="data")

    @classmethod
    def durable_task_record_result(cls, result: Any) -> Any:
        """The record's `result` is the processor's return value."""
        return result

    @workflow.run
    async def run(self, raw: RawValue) -> Any:
        input = validate_in_workflow(SimpleTaskInput, decode_job_object(raw))
        sync = current_task_state()
        options = input.options

        async def attempt(n: int) -> Any:
            if sync is not None:
                sync.update(attempts=n)
            return await workflow.execute_activity(
                input.type,
                SimpleActivityInput(data=input.data, attempt=n, retry=options.retry),
                start_to_close_timeout=options.start_to_close_timeout,
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )

        def failed(entry: ErrorLogEntry) -> None:
            if sync is not None:
                sync.log_error(entry)

        return await run_attempts(
            step=input.type, retry=options.retry, attempt_fn=attempt, on_failed=failed
        )
