"""`TaskSyncInterceptor`: keeps every task record true without a line of PocketBase in processors.

Install it on the worker (`DurableTasksPlugin` does). Workflow side: for workflows that own a
task (they implement the `TaskOwner` protocol) it attaches a `TaskStateSink`, claims the record
at start (RUNNING, startedAt, workflowId, runId) and writes SUCCESS, FAILED or CANCELLED at the
end; processors and the flow engine report progress, results and error entries in between.
Workflows that own no task are never touched. Two sinks, chosen per run by the sync memo:

- version 2 (`EmittingTaskSync`, every start by `TaskClient`): state goes to the worker's
  batching `SyncWriter`; no command, no history event, nothing waits for PocketBase;
- version 1 (`WorkflowTaskSync`, runs started by other means): local activities, gated by
  `workflow.patched(SYNC_PATCH_ID)`, so histories from before either version replay unchanged.

Activity side: it binds the writer as the `ProgressSink`, so `ctx.report_progress` reaches the
record, coalesced, and a flow step's completion reaches it as the step returns; and when the
worker shuts down under a running attempt it fails that attempt as `WorkerShutdown`
(retryable) rather than letting it look like the task's cancellation, so the attempt runs
again on another worker.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeGuard

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
        SYNC_MEMO,
        SYNC_VERSION,
        TaskOwner,
        attach_task_state,
        bind_progress_sink,
        memo_flag,
        unbind_progress_sink,
    )
    from durable_tasks.errorlog import facts_from_workflow_error, make_entry
    from durable_tasks.models import ErrorLogEntry, NewTask, TaskIdentity, TaskStatus
    from durable_tasks.sync._batch_writer import SyncWriter
    from durable_tasks.sync._emitter import EmittingTaskSync
    from durable_tasks.sync._writer import WorkflowTaskSync

SYNC_PATCH_ID = "durable-tasks-sync-v1"


class TaskSyncInterceptor(Interceptor):
    """Worker interceptor syncing task state to the store (see the module docstring)."""

    def __init__(self, writer: SyncWriter | None = None) -> None:
        self._writer = writer

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityInbound(next, self._writer)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        # The class Temporal instantiates per workflow, bound to this worker's writer.
        return type("_WorkflowInbound", (_WorkflowInbound,), {"writer": self._writer})


class _ActivityInbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, writer: SyncWriter | None) -> None:
        super().__init__(next)
        self._writer = writer

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        token = bind_progress_sink(self._writer)
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
    writer: SyncWriter | None = None

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        owner = input.type
        if not _owns_a_task(owner) or not input.args:
            return await super().execute_workflow(input)  # not ours: never touched
        sync: EmittingTaskSync | WorkflowTaskSync
        info = workflow.info()
        current = self.writer is not None and (memo_flag(SYNC_MEMO) >= SYNC_VERSION)
        if current:
            identity = owner.durable_task_identity(input.args[0])
            if identity is None:  # not even a task id: nothing to sync; it fails alone
                return await super().execute_workflow(input)
            assert self.writer is not None
            sync = EmittingTaskSync(
                self.writer,
                task_id=identity.task_id,
                run_id=info.run_id,
                create=_create(identity),
            )
            attach_task_state(sync)
            sync.claim(workflow_id=info.workflow_id)
        else:  # version 1: runs started by other means, and histories from before version 2
            if not workflow.patched(SYNC_PATCH_ID):
                return await super().execute_workflow(input)
            identity = owner.durable_task_identity(input.args[0])
            if identity is None:
                return await super().execute_workflow(input)
            sync = WorkflowTaskSync(
                task_id=identity.task_id, run_id=info.run_id, create=_create(identity)
            )
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


def _create(identity: TaskIdentity) -> NewTask | None:
    """How to create the record if it is missing; no workspace (input that did not decode,
    known only by the workflow id): update the record if there is one, never create one."""
    return NewTask.of(identity) if identity.workspace_id else None


_OWNERS: dict[tuple[str, str], bool] = {}


def _owns_a_task(cls: type[Any]) -> TypeGuard[type[TaskOwner]]:
    """Whether workflows of `cls` own a task record: a protocol check that inspects the class,
    made once per workflow class. Keyed by name, as the sandbox re-imports the class per run."""
    key = (cls.__module__, cls.__qualname__)
    owns = _OWNERS.get(key)
    if owns is None:
        owns = _OWNERS[key] = issubclass(cls, TaskOwner)
    return owns


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
