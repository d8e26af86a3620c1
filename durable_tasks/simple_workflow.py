"""`SimpleTaskWorkflow`: the thin durable shell around one simple processor.

Starting a simple task starts this workflow (id `task-<taskId>`); it runs the processor's
activity through the retry loop, so every failed attempt is logged and the record stays RUNNING
until the attempts are spent. It works on every Temporal server, time-skipping included.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durable_tasks import sync as task_sync
    from durable_tasks.attempts import run_attempts
    from durable_tasks.models import CamelModel, ErrorLogEntry, SimpleJobData
    from durable_tasks.processor import SimpleActivityInput
    from durable_tasks.retry import ActivityOptions
    from durable_tasks.sync import NewTask
    from durable_tasks.workflow_input import identify_task, validate_in_workflow

SIMPLE_WORKFLOW_NAME = "durable-tasks.simple"


class SimpleTaskInput(CamelModel):
    """The workflow's input: which processor, its job data, and its options at start time."""

    type: str
    data: SimpleJobData
    options: ActivityOptions


@workflow.defn(name=SIMPLE_WORKFLOW_NAME)
class SimpleTaskWorkflow:
    """Runs one simple processor with retries; its result is the processor's result."""

    @staticmethod
    def durable_task_identity(raw: Any) -> tuple[str, NewTask] | None:
        """How the sync interceptor learns which record this workflow owns."""
        raw = raw.model_dump(mode="json") if isinstance(raw, SimpleTaskInput) else raw
        data = raw.get("data") if isinstance(raw, dict) else None
        ids = identify_task(data)
        if ids is None or not isinstance(data, dict):
            return None
        config = {k: v for k, v in data.items() if k not in ("taskId", "workspaceId")}
        kind = str(raw.get("type", ""))
        return ids[0], NewTask(workspace_id=ids[1], type=kind, input=config)

    @workflow.run
    async def run(self, raw: dict[str, Any]) -> Any:
        input = validate_in_workflow(SimpleTaskInput, raw)
        sync = task_sync.current()
        options = input.options
        raw = input.data.model_dump(mode="json")

        async def attempt(n: int) -> Any:
            if sync is not None:
                sync.update(attempts=n)
            return await workflow.execute_activity(
                input.type,
                SimpleActivityInput(data=raw, attempt=n, retry=options.retry),
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
