"""An in-memory `TaskStore` with the same guard rules as PocketBase, for unit tests.

Like httpx's `MockTransport`, it ships in the library so users can test their own code without a
server. It is never the only test of a PocketBase behaviour: the contract tests run the same
cases against both stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from durable_tasks._step_merge import keep_finished_steps, merge_steps
from durable_tasks.errors import TaskAlreadyExistsError, TaskNotFoundError
from durable_tasks.models import SyncOutcome, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.store import MAX_ERROR_ENTRIES, MAX_ERROR_LOG_CHARS, SyncItem, SyncResult


class MemoryTaskStore:
    """Task records in a dict, guarded by one lock (the counterpart of PocketBase's transaction)."""

    def __init__(self) -> None:
        self._records: dict[str, TaskRecord] = {}
        self._created: dict[str, datetime] = {}
        self._lock = asyncio.Lock()
        self.writes = 0
        """Number of `sync` calls received, applied or not (what a benchmark counts)."""

    async def create(self, *, task_id: str, workspace_id: str, type: str, input: Any) -> TaskRecord:
        async with self._lock:
            if task_id in self._records:
                existing = self._records[task_id]
                raise TaskAlreadyExistsError(
                    task_id, existing.status, f"task {task_id} already exists ({existing.status})"
                )
            record = TaskRecord(id=task_id, workspace_id=workspace_id, type=type, input=input)
            self._records[task_id] = record
            self._created[task_id] = datetime.now(UTC)
            return record.model_copy(deep=True)

    async def get(self, task_id: str) -> TaskRecord | None:
        record = self._records.get(task_id)
        return record.model_copy(deep=True) if record else None

    async def sync(self, task_id: str, patch: TaskPatch) -> SyncOutcome:
        async with self._lock:
            self.writes += 1
            current = self._records.get(task_id)
            if current is None:
                raise TaskNotFoundError(f"task {task_id} has no record; create it first")
            updated, reason = apply_patch(current, patch)
            changed = updated != current
            if changed:
                updated.seq = current.seq + 1
                self._records[task_id] = updated
            return SyncOutcome(
                applied=changed, reason=reason, record=self._records[task_id].model_copy(deep=True)
            )

    async def sync_many(self, items: Sequence[SyncItem]) -> list[SyncResult]:
        results = []
        for item in items:
            if item.task_id not in self._records and item.create is not None:
                await self.create(
                    task_id=item.task_id,
                    workspace_id=item.create.workspace_id,
                    type=item.create.type,
                    input=item.create.input,
                )
            try:
                outcome = await self.sync(item.task_id, item.patch)
            except TaskNotFoundError:
                results.append(SyncResult(task_id=item.task_id, applied=False, reason="not_found"))
                continue
            results.append(
                SyncResult(
                    task_id=item.task_id,
                    applied=outcome.applied,
                    reason=outcome.reason,
                    seq=outcome.record.seq,
                )
            )
        return results

    async def list(
        self,
        *,
        workspace_id: str | None = None,
        status: TaskStatus | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        found = [
            r.model_copy(deep=True)
            for r in self._records.values()
            if (workspace_id is None or r.workspace_id == workspace_id)
            and (status is None or r.status == status)
            and (type is None or r.type == type)
        ]
        found.sort(key=lambda r: self._created[r.id], reverse=True)
        return found[:limit]

    async def close(self) -> None:
        return None


def apply_patch(current: TaskRecord, patch: TaskPatch) -> tuple[TaskRecord, str]:
    """The guard rules of `durable_tasks.store`, in Python. Returns the new record and a reason."""
    new = current.model_copy(deep=True)
    reason = "applied"
    holder = current.run_id
    if patch.new_run and holder and holder != patch.run_id and current.status == "RUNNING":
        reason = "stale"
    elif not patch.new_run and holder and holder != patch.run_id:
        reason = "stale"
    elif holder == patch.run_id and current.status.is_final:
        reason = "final"
    else:
        if holder != patch.run_id:
            new.run_id = patch.run_id
            if holder:
                new.progress, new.attempts, new.completed_at = 0, 0, None
        _apply_fields(new, patch, same_run=holder == patch.run_id)
    if patch.error is not None and all(e.key != patch.error.key for e in new.errors):
        new.errors = [*new.errors, patch.error][-MAX_ERROR_ENTRIES:]
        text = patch.error.render()
        log = f"{new.error_log}\n\n{text}" if new.error_log else text
        new.error_log = log[-MAX_ERROR_LOG_CHARS:]
    return new, reason


def _apply_fields(new: TaskRecord, patch: TaskPatch, *, same_run: bool) -> None:
    if patch.workflow_id is not None:
        new.workflow_id = patch.workflow_id
    if patch.status is not None:
        new.status = patch.status
    if patch.progress is not None:
        new.progress = max(new.progress, patch.progress)
    if patch.status == TaskStatus.SUCCESS:
        new.progress = 100
    if patch.result is not None:
        # as PocketBase keeps it: JSON (a copy, so the caller's patch is never changed)
        result = patch.model_dump(mode="json", include={"result"})["result"]
        new.result = keep_finished_steps(new.result, result) if same_run else result
    if patch.attempts is not None:
        new.attempts = max(new.attempts, patch.attempts)
    if patch.started_at is not None and new.started_at is None:
        new.started_at = patch.started_at
    if patch.completed_at is not None:
        new.completed_at = patch.completed_at
    if patch.steps:
        reported = {n: s.model_dump(mode="json", exclude_none=True) for n, s in patch.steps.items()}
        new.result, progress = merge_steps(new.result, reported, patch.run_id)
        if progress is not None:
            new.progress = max(new.progress, progress)
