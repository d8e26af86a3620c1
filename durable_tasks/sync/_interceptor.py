"""`TaskSyncInterceptor`: keeps every task record true without a line of PocketBase in processors.

Install it on the worker (`DurableTasksPlugin` does). Workflow side: for workflows that own a
task (they implement the `TaskOwner` protocol), it claims the record at start (RUNNING, startedAt,
workflowId, runId), attaches a `WorkflowTaskSync` as the workflow's `TaskStateSink` for
progress, results and error entries, and writes SUCCESS, FAILED or CANCELLED at the end — all through local
activities, so a replay never writes again. Workflows that own no task are never touched.
Activity side: it binds the worker's progress outbox as the `ProgressSink`, so
`ctx.report_progress` reaches the record, coalesced; and when the worker shuts down under a
running attempt it fails that attempt as `WorkerShutdown` (retryable) rather than letting it
look like the task's cancellation, so the attempt runs again on another worker.

Adding this interceptor to a worker whose workflows are already running would change their
history, so the workflow side is gated by `workflow.patched(SYNC_PATCH_ID)`: executions that
began without it carry on without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from durable_tasks._attempts import LoggedFailureError, is_cancellation
    from durable_tasks._reporting import (
        TaskOwner,
        attach_task_state,
        bind_progress_sink,
        unbind_progress_sink,
    )
    from durable_tasks.errorlog import facts_from_workflow_error, make_entry
    from durable_tasks.models import ErrorLogEntry, TaskStatus
    from durable_tasks.sync._outbox import ProgressOutbox
    from durable_tasks.sync._writer import NewTask, WorkflowTaskSync

SYNC_PATCH_ID = "durable-tasks-sync-v1"


class TaskSyncInterceptor(Interceptor):
    """Worker interceptor syncing task state to the store (see the module docstring)."""

    def __init__(self, outbox: ProgressOutbox | None = None) -> None:
        self._outbox = outbox

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self._outbox)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _WorkflowInbound


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, outbox: ProgressOutbox | None) -> None:
        super().__init__(next)
        self._outbox = outbox

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        token = bind_progress_sink(self._outbox)
        try:
            return await super().execute_activity(input)
        except asyncio.CancelledError:
            details = activity.cancellation_details()
            if details is not None and details.worker_shutdown:
                # Not the task's cancellation: this worker is going away. Fail the attempt
                # (retryable) so the workflow retries it on another worker.
                raise ApplicationError(
                    "the worker shut down during this attempt; it will be retried elsewhere",
                    type="WorkerShutdown",
                ) from None
            raise
        finally:
            unbind_progress_sink(token)


class _WorkflowInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        owner = input.type
        if not issubclass(owner, TaskOwner) or not input.args:
            return await super().execute_workflow(input)  # not ours: never touched
        if not workflow.patched(SYNC_PATCH_ID):
            return await super().execute_workflow(input)
        identity = owner.durable_task_identity(input.args[0])
        if identity is None:  # not even a task id: nothing to sync; the workflow fails alone
            return await super().execute_workflow(input)
        info = workflow.info()
        # No workspace (input that did not decode, known only by the workflow id): update the
        # record if there is one, never create one.
        create = NewTask.of(identity) if identity.workspace_id else None
        sync = WorkflowTaskSync(task_id=identity.task_id, run_id=info.run_id, create=create)
        attach_task_state(sync)
        sync.update(
            new_run=True,
            status=TaskStatus.RUNNING,
            workflow_id=info.workflow_id,
            started_at=workflow.now(),
        )
        try:
            result = await super().execute_workflow(input)
        except BaseException as err:
            if is_cancellation(err):
                await sync.finish(TaskStatus.CANCELLED)
            elif isinstance(err, Exception) and workflow.is_failure_exception(err):
                if not isinstance(err, LoggedFailureError):
                    sync.log_error(_workflow_error_entry(err, task_type=identity.type))
                await sync.finish(TaskStatus.FAILED)
            # Anything else fails only the workflow task, which Temporal retries: no final write.
            raise
        value = owner.durable_task_record_result(result)
        await sync.finish(TaskStatus.SUCCESS, result=to_jsonable_python(value, by_alias=True))
        return result


def _workflow_error_entry(err: Exception, *, task_type: str) -> ErrorLogEntry:
    """An error-log entry for a failure of the workflow itself (e.g. invalid job data)."""
    return make_entry(
        facts_from_workflow_error(err),
        run_id=workflow.info().run_id,
        step=task_type or workflow.info().workflow_type,
        attempt=1,
        max_attempts=None,
        timestamp=workflow.now(),
        final=True,
    )
