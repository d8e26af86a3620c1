"""What one run of one task still has to write, merged the way the store's guard rules would.

Newer fields replace older ones, except where the guard rules only let a field rise (progress,
attempts) or set it once (startedAt), and the steps that activities reported finished, which
accumulate; error entries queue in order and are never merged away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from durable_tasks._step_merge import step_progress
from durable_tasks.models import ErrorLogEntry, NewTask, StepResult, TaskPatch, TaskStatus
from durable_tasks.store import SyncItem

_RISING = ("progress", "attempts")
_FINAL = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.CANCELLED})
_FINAL_FIELDS = ("status", "completed_at", "result")


def _further(step: StepResult | None, than: StepResult) -> bool:
    """Whether `step` has gone further than `than` (the stores' order, rules 7 and 8)."""
    if step is None:
        return False
    return step_progress(step.status, step.attempts) > step_progress(than.status, than.attempts)


@dataclass
class Pending:
    """What one run of one task still has to write."""

    run_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[ErrorLogEntry] = field(default_factory=list)
    create: NewTask | None = None
    wait: float = math.inf
    """How long after the task's last write this may wait: the least of what was merged."""

    def merge(self, fields: dict[str, Any], error: ErrorLogEntry | None, wait: float) -> None:
        for name, value in fields.items():
            old = self.fields.get(name)
            if name in _RISING and old is not None:
                value = max(old, value)
            elif name == "started_at" and old is not None:
                value = old
            elif name == "new_run":
                value = bool(old) or value
            elif name == "steps" and old is not None:  # per step, the one gone furthest
                value = {**old, **{n: s for n, s in value.items() if not _further(old.get(n), s)}}
            self.fields[name] = value
        if error is not None:
            self.errors.append(error)
        self.wait = min(self.wait, wait)

    def absorb_newer(self, newer: Pending) -> None:
        """Fold a newer pending patch of the same run into this older one."""
        self.merge(newer.fields, None, newer.wait)
        self.errors.extend(newer.errors)
        self.create = self.create or newer.create

    def items(self, task_id: str) -> list[SyncItem]:
        """The patches to send, in order: one for all of it when there is at most one entry;
        else the first carries the fields and first entry, one follows per further entry, and
        a final status comes last, so no reader can see it before every entry behind it."""
        fields = dict(self.fields)
        if isinstance(fields.get("result"), BaseModel):  # a flow's snapshot: JSON only now
            fields["result"] = fields["result"].model_dump(mode="json", by_alias=True)
        final: dict[str, Any] = {}
        if len(self.errors) > 1 and fields.get("status") in _FINAL:
            final = {name: fields.pop(name) for name in _FINAL_FIELDS if name in fields}
        entries: list[ErrorLogEntry | None] = list(self.errors) or [None]
        items = [
            SyncItem(
                task_id=task_id,
                patch=TaskPatch(run_id=self.run_id, error=entries[0], **fields),
                create=self.create,
            )
        ]
        items += [
            SyncItem(task_id=task_id, patch=TaskPatch(run_id=self.run_id, error=entry))
            for entry in entries[1:]
        ]
        if final:
            items.append(SyncItem(task_id=task_id, patch=TaskPatch(run_id=self.run_id, **final)))
        return items
