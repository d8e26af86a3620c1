"""The task store interface: the only way the rest of the code reaches task records.

Two implementations share one contract (and one contract test suite): `PocketBaseTaskStore`
(`durable_tasks.pocketbase`, the only package that imports the PocketBase SDK) and
`MemoryTaskStore` (`durable_tasks.memory_store`, a test double for unit tests of your own code).

Every state change goes through `sync(task_id, patch)`, a guarded merge done atomically by the
store (in PocketBase: a transactional route in `pb_hooks/`). The rules, per record:

1. `patch.new_run` claims the record for `patch.run_id` unless another run still holds it
   RUNNING (then the patch is dropped as `stale`). A claim by a different run resets the per-run
   state: `progress`, `attempts` and `completedAt` start over; the error log is kept.
2. A patch from a run that does not hold the record is dropped as `stale` (a record that no run
   holds yet is claimed implicitly).
3. Within the holding run, once the status is final (SUCCESS, FAILED, CANCELLED) every later
   change is dropped as `final`, except an error-log entry.
4. Otherwise the given fields are applied; `progress` only ever rises (SUCCESS sets 100),
   `attempts` only rises, `startedAt` is set once.
5. An error-log entry is appended once per `key` (to `errors` and, rendered, to `errorLog`).
6. `seq` grows by one with every patch that changed anything.
7. `steps` (a flow step's own report that it finished) merge into the stored `result`: a step
   it shows pending or running, at no later attempt than the report's, takes the reported
   state (fields the report leaves unset keep their stored value); `completedSteps`,
   `failedSteps`, their counts and `currentStep` are recounted, and `progress` rises to the
   flow's formula (`durable_tasks.progress`). A step the result does not know, or shows
   finished already, is left alone.
8. A `result` snapshot of the same flow run as the stored one (same run, same `startedAt`)
   never shows a step the stored result has finished as pending or running again at the same
   or an earlier attempt: that step keeps its stored state, and the lists and counts are
   recounted (a later attempt shows: Temporal refused the finished one, after its timeout).
   A workflow's snapshot taken before a step finished may land after the step's own report,
   written by another worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from durable_tasks.models import CamelModel, NewTask, SyncOutcome, TaskPatch, TaskRecord, TaskStatus

MAX_ERROR_ENTRIES = 500
"""Structured error entries kept per record (oldest dropped first) to stay within JSON limits."""

MAX_ERROR_LOG_CHARS = 1_000_000
"""Characters of rendered error log kept per record (oldest trimmed first)."""


MAX_SYNC_BATCH = 500
"""Items in one `sync_many` call (PocketBase applies a batch in one transaction)."""


class SyncItem(CamelModel):
    """One patch of a batch, and how to create the record first if it has none."""

    task_id: str
    patch: TaskPatch
    create: NewTask | None = None


class SyncResult(CamelModel):
    """What one item of a batch did: `applied`, and why (the guard rules' reason).

    `reason` is `applied`, `stale` or `final` as for `sync`; `not_found` when the record does
    not exist and the item could not create it; `rejected: <why>` when the store refused it.
    """

    task_id: str
    applied: bool
    reason: str
    seq: int = -1


@runtime_checkable
class TaskStore(Protocol):
    """Reads and guarded writes of task records. All methods are safe to call from the loop."""

    async def create(self, *, task_id: str, workspace_id: str, type: str, input: Any) -> TaskRecord:
        """Create a `PENDING` record; raises `TaskAlreadyExistsError` if the id is taken."""
        ...

    async def get(self, task_id: str) -> TaskRecord | None:
        """The record, or None if there is none."""
        ...

    async def sync(self, task_id: str, patch: TaskPatch) -> SyncOutcome:
        """Apply `patch` under the guard rules above; raises `StoreError` subclasses on failure."""
        ...

    async def sync_many(self, items: Sequence[SyncItem]) -> list[SyncResult]:
        """Apply each item under the guard rules, in order, atomically as one batch.

        Items are independent: one that is refused says so in its result and the rest apply.
        Raises `StoreUnavailableError` when the store cannot be reached (nothing applied).
        """
        ...

    async def list(
        self,
        *,
        workspace_id: str | None = None,
        status: TaskStatus | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        """Records matching every given filter, newest first."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
