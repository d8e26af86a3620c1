"""PocketBase's JSON and syntax, in one place: records in, filter literals and ids out."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from durable_tasks.models import TaskRecord

TASKS = "tasks"
"""The collection of task records."""


def task_record(data: dict[str, Any]) -> TaskRecord:
    """A record as PocketBase sends it (empty dates are "", empty JSON null) as a `TaskRecord`."""
    fixed = dict(data)
    for name in ("startedAt", "completedAt"):
        fixed[name] = fixed.get(name) or None
    fixed["errors"] = fixed.get("errors") or []
    return TaskRecord.model_validate(fixed)


def filter_literal(value: str) -> str:
    """A PocketBase filter string literal (the SDK's `filter()` mishandles backslashes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def path_id(record_id: str) -> str:
    """A record id as one URL path segment (`..` or `/` can never change the path)."""
    return quote(record_id, safe="")
