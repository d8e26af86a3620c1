"""The reconciler: repairs records that their workflow will never bring to a final state.

Guarantee 5: terminating a workflow, or its execution timeout firing, runs no workflow code,
so the sync interceptor never writes the final state and the record would say RUNNING forever;
and a worker that dies while PocketBase is down may take a closed workflow's final state with
it (the sync writes it after the workflow closes, off Temporal's critical path). The reconciler compares each RUNNING (and PENDING) record with its Temporal execution (the
exact run in the record) and, when that run is closed, writes the final status it implies plus
an error-log entry saying why.

Nothing hangs (guarantee 7): a workflow whose *workflow task* keeps failing (input its code
cannot take, a bug in a flow's hook) is retried by Temporal forever and never fails, so its
record would stay PENDING or RUNNING. When the pending workflow task has failed
`stuck_after` times in a row, the reconciler terminates the run, so Temporal and the record
agree, and writes FAILED with the reason; `durable-tasks rerun` starts it afresh once fixed.

Writes go through the same guarded sync, so running it from several workers at once, or
racing a late write of the workflow itself, is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from durable_tasks.models import ErrorLogEntry, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.store import TaskStore

log = logging.getLogger("durable_tasks.reconcile")

STUCK_AFTER_ATTEMPTS = 3
"""Failed attempts in a row of a workflow task before its workflow counts as stuck."""
STUCK = "WORKFLOW_TASK_FAILING"

_OUTCOMES: dict[WorkflowExecutionStatus, tuple[TaskStatus, str]] = {
    WorkflowExecutionStatus.TERMINATED: (TaskStatus.FAILED, "the workflow was terminated"),
    WorkflowExecutionStatus.TIMED_OUT: (TaskStatus.FAILED, "the workflow's execution timed out"),
    WorkflowExecutionStatus.FAILED: (TaskStatus.FAILED, "the workflow failed"),
    WorkflowExecutionStatus.CANCELED: (TaskStatus.CANCELLED, "the workflow was cancelled"),
    WorkflowExecutionStatus.COMPLETED: (TaskStatus.SUCCESS, "the workflow completed"),
    WorkflowExecutionStatus.CONTINUED_AS_NEW: (TaskStatus.FAILED, "the workflow continued as new"),
}


@dataclass(frozen=True)
class Repair:
    """One record the reconciler fixed (or would fix, in a dry run)."""

    task_id: str
    workflow_status: str
    new_status: TaskStatus
    reason: str
    run_id: str = ""
    """The run the repair is about (the record's, or the latest when the record names none)."""


async def reconcile(
    temporal: Client,
    store: TaskStore,
    *,
    dry_run: bool = False,
    limit: int = 500,
    stuck_after: int = STUCK_AFTER_ATTEMPTS,
) -> list[Repair]:
    """Repair every RUNNING or PENDING record whose run is closed, missing or stuck."""
    repairs = []
    for status in (TaskStatus.RUNNING, TaskStatus.PENDING):
        for record in await store.list(status=status, limit=limit):
            repair = await _check(temporal, record, stuck_after)
            if repair is None:
                continue
            repairs.append(repair)
            if not dry_run:
                await _apply(temporal, store, record, repair)
                log.warning(
                    "task %s: %s; record set to %s", record.id, repair.reason, repair.new_status
                )
    return repairs


async def _check(temporal: Client, record: TaskRecord, stuck_after: int) -> Repair | None:
    handle = temporal.get_workflow_handle(
        record.workflow_id or f"task-{record.id}", run_id=record.run_id or None
    )
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT:  # e.g. a run id edited by hand
            log.warning("task %s: left alone, Temporal refused its ids: %s", record.id, err)
            return None  # one bad record must not stop the repair of the others
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        if record.status == TaskStatus.PENDING:
            return None  # its client may be starting the workflow right now
        return Repair(record.id, "NOT_FOUND", TaskStatus.FAILED, "the workflow no longer exists")
    if desc.status is None or desc.status == WorkflowExecutionStatus.RUNNING:
        attempts = _failing_workflow_task_attempts(desc)
        if attempts < stuck_after:
            return None
        reason = (
            f"the workflow's task failed {attempts} times in a row (input its code cannot "
            "take, or a bug in workflow code; the workflow's history in Temporal shows the "
            "error), so the workflow was terminated"
        )
        return Repair(record.id, STUCK, TaskStatus.FAILED, reason, run_id=desc.run_id)
    new_status, reason = _OUTCOMES.get(desc.status, (TaskStatus.FAILED, "the workflow closed"))
    return Repair(record.id, desc.status.name, new_status, reason, run_id=desc.run_id)


def _failing_workflow_task_attempts(desc: WorkflowExecutionDescription) -> int:
    """The attempt of the pending workflow task (1 when it has not failed; 0 when none)."""
    raw = desc.raw_description
    if not raw.HasField("pending_workflow_task"):
        return 0
    return raw.pending_workflow_task.attempt


async def _apply(temporal: Client, store: TaskStore, record: TaskRecord, repair: Repair) -> None:
    if repair.workflow_status == STUCK:
        try:
            await temporal.get_workflow_handle(f"task-{record.id}", run_id=repair.run_id).terminate(
                reason=f"durable-tasks reconciler: {repair.reason}"
            )
        except RPCError as err:  # closed meanwhile (another reconciler): the write still holds
            log.info("task %s: terminate: %s", record.id, err)
    run_id = record.run_id or repair.run_id
    now = datetime.now(UTC)
    error = None
    if repair.new_status != TaskStatus.SUCCESS:
        error = ErrorLogEntry(
            key=f"{run_id}:reconcile",
            timestamp=now,
            step=record.type,
            attempt=max(record.attempts, 1),
            error_type=f"Workflow{repair.workflow_status.title().replace('_', '')}",
            message=f"{repair.reason} without finishing its task (repaired by the reconciler)",
            final=True,
        )
    result: Any = None
    if repair.new_status == TaskStatus.SUCCESS:  # the record's result is the workflow's
        handle = temporal.get_workflow_handle(
            record.workflow_id or f"task-{record.id}", run_id=run_id or None
        )
        result = await handle.result()
    await store.sync(
        record.id,
        TaskPatch(
            run_id=run_id,
            new_run=not record.run_id,  # a PENDING record: claim it for the run it is about
            status=repair.new_status,
            completed_at=now,
            error=error,
            result=result,
        ),
    )
