"""What the client answers: `StartOutcome` for a start, `TaskView` for `status`.

Defined apart from `TaskClient` to keep each module small; `durable_tasks.client` hands both on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from durable_tasks.models import TaskRecord, TaskResult, TaskStatus


@dataclass(frozen=True)
class StartOutcome:
    """What a start did: `started`, or found the task `already running` / `already finished`."""

    task_id: str
    workflow_id: str
    outcome: Literal["started", "already running", "already finished"]
    status: TaskStatus | None = None

    @property
    def message(self) -> str:
        """A one-line summary for people."""
        if self.outcome == "already finished":
            return (
                f"task {self.task_id} already finished ({self.status}); "
                f"use `durable-tasks rerun {self.task_id}` to run it again"
            )
        return f"task {self.task_id} {self.outcome} (workflow {self.workflow_id})"


@dataclass(frozen=True)
class TaskView:
    """A task as `status` shows it: the record, and the live TaskResult of a running flow."""

    record: TaskRecord
    live: TaskResult | None
    workflow_status: str | None
