"""The reconciler: repairs records whose workflow ended without its final state (guarantee 5).

Terminating a workflow, or its execution timeout firing, runs no workflow code, so the sync
interceptor never writes the final state and the record would say RUNNING forever; and a worker
that dies while PocketBase is down may take a closed workflow's final state with it (the sync
writes it after the workflow closes, off Temporal's critical path). The
reconciler compares each RUNNING record with its Temporal execution (the exact run in the
record) and, when that run is closed, writes the final status it implies plus an error-log
entry saying why. Writes go through the same guarded sync, so running it from several workers
at once, or racing a late write of the workflow itself, is harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from durable_tasks.models import ErrorLogEntry, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.store import TaskStore

log = logging.getLogger("durable_tasks.reconcile")

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


async def reconcile(
    temporal: Client, store: TaskStore, *, dry_run: bool = False, limit: int = 500
) -> list[Repair]:
    """Repair every RUNNING record whose run is closed or missing; returns what was repaired."""
    repairs = []
    for record in await store.list(status=TaskStatus.RUNNING, limit=limit):
        repair = await _check(temporal, record)
        if repair is None:
            continue
        repairs.append(repair)
        if not dry_run:
            await _apply(temporal, store, record, repair)
            log.warning(
                "task %s: %s; record set to %s", record.id, repair.reason, repair.new_status
            )
    return repairs


async def _check(temporal: Client, record: TaskRecord) -> Repair | None:
    handle = temporal.get_workflow_handle(
        record.workflow_id or f"task-{record.id}", run_id=record.run_id or None
    )
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return Repair(record.id, "NOT_FOUND", TaskStatus.FAILED, "the workflow no longer exists")
    if desc.status is None or desc.status == WorkflowExecutionStatus.RUNNING:
        return None
    new_status, reason = _OUTCOMES.get(desc.status, (TaskStatus.FAILED, "the workflow closed"))
    return Repair(record.id, desc.status.name, new_status, reason)


async def _apply(temporal: Client, store: TaskStore, record: TaskRecord, repair: Repair) -> None:
    now = datetime.now(UTC)
    error = None
    if repair.new_status != TaskStatus.SUCCESS:
        error = ErrorLogEntry(
            key=f"{record.run_id}:reconcile",
            timestamp=now,
            step=record.type,
            attempt=max(record.attempts, 1),
            error_type=f"Workflow{repair.workflow_status.title().replace('_', '')}",
            message=f"{repair.reason} without finishing its task (repaired by the reconciler)",
            final=True,
        )
    result: Any = None
    if repair.new_status == TaskStatus.SUCCESS:  # the record's result is the workflow's
        handle = temporal.get_workflow_handle(record.workflow_id, run_id=record.run_id or None)
        result = await handle.result()
    await store.sync(
        record.id,
        TaskPatch(
            run_id=record.run_id,
            status=repair.new_status,
            completed_at=now,
            error=error,
            result=result,
        ),
    )
