"""What one run of one task still has to write, merged the way the store's guard rules would.

Newer fields replace older ones, except where the guard rules only let a field rise (progress,
attempts) or set it once (startedAt); error entries queue in order and are never merged away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from durable_tasks.models import ErrorLogEntry, NewTask, TaskPatch
from durable_tasks.store import SyncItem

_RISING = ("progress", "attempts")


@dataclass
class Pending:
    """What one run of one task still has to write."""

    run_id: str
    fields: dict[str, Any] = field(default_factory=dict)
    errors: list[ErrorLogEntry] = field(default_factory=list)
    create: NewTask | None = None
    routine: bool = True

    def merge(self, fields: dict[str, Any], error: ErrorLogEntry | None, routine: bool) -> None:
        for name, value in fields.items():
            old = self.fields.get(name)
            if name in _RISING and old is not None:
                value = max(old, value)
            elif name == "started_at" and old is not None:
                value = old
            elif name == "new_run":
                value = bool(old) or value
            self.fields[name] = value
        if error is not None:
            self.errors.append(error)
        self.routine = self.routine and routine

    def absorb_newer(self, newer: Pending) -> None:
        """Fold a newer pending patch of the same run into this older one."""
        self.merge(newer.fields, None, newer.routine)
        self.errors.extend(newer.errors)
        self.create = self.create or newer.create

    def items(self, task_id: str) -> list[SyncItem]:
        """One item with every field and the first entry; one more per further entry."""
        first = self.errors[0] if self.errors else None
        fields = self.fields
        if isinstance(fields.get("result"), BaseModel):  # a flow's snapshot: JSON only now
            fields = {**fields, "result": fields["result"].model_dump(mode="json", by_alias=True)}
        patch = TaskPatch(run_id=self.run_id, error=first, **fields)
        items = [SyncItem(task_id=task_id, patch=patch, create=self.create)]
        items += [
            SyncItem(task_id=task_id, patch=TaskPatch(run_id=self.run_id, error=e))
            for e in self.errors[1:]
        ]
        return items
