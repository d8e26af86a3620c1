"""PocketBase's JSON and syntax, in one place: records in, filter literals and ids out."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from durable_tasks.errors import InvalidInputError
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


_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What the `tasks` collection's id field accepts (pb_migrations/): a superset of the task-id
rule of `durable_tasks.ids`, so records made before that rule stay reachable."""


def path_id(record_id: str) -> str:
    """A record id as one URL path segment, quoted; an id no record can have (`.`, `..`, `/`,
    empty) is refused naming `taskId`, since `..` would name the collection itself."""
    if not isinstance(record_id, str) or not _RECORD_ID.fullmatch(record_id):
        raise InvalidInputError(
            f"invalid taskId: {ascii(record_id)[:80]} is not a PocketBase record id"
        )
    return quote(record_id, safe="")
