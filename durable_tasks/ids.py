"""The one rule for task ids, workspace ids and task type names, checked at every entry.

A task id is the PocketBase record id, the tail of the Temporal workflow id (`task-<taskId>`)
and a URL path segment (`/api/collections/tasks/records/<taskId>`). The rule is what all three
accept *and compare the same way*:

    taskId:  ^[a-z0-9][a-z0-9_-]{0,63}$    1-64 characters: lowercase letters, digits, - and _,
                                           starting with a letter or a digit

- lowercase only, because PocketBase compares ids case-insensitively and Temporal does not:
  `r5-MiXeD` and `r5-mixed` would be two workflows but one record;
- no `.` or `/`, so an id can never change a URL's path (`..` would name the collection);
- at most 64 characters, the `tasks` collection's limit.

A workspace id is free text (it is compared inside PocketBase filters, which quote it), but
not blank: 1-64 characters, no control characters, no whitespace at either end. A task type is
a processor's name: a non-empty string.

Each check raises `InvalidInputError` naming the field as the JSON names it (`taskId`,
`workspaceId`, `type`), the same way `validate_model` names job-data fields, so the CLI prints
one line and exits 2. An empty task id is an error, never "generate one": callers generate an
id only when none was given at all (`task_id=None`, no `--task-id`).
"""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from durable_tasks.errors import InvalidInputError

TASK_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
"""Task ids: what PocketBase, Temporal and URLs all accept, case included."""
WORKSPACE_ID_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?$"
"""Workspace ids: 1-64 characters, no control characters, no whitespace at either end."""
MAX_ID_LENGTH = 64

_TASK_ID = re.compile(TASK_ID_PATTERN)
_WORKSPACE_ID = re.compile(WORKSPACE_ID_PATTERN)
_TASK_ID_RULE = "1-64 lowercase letters, digits, - or _, starting with a letter or digit"


def task_id_problem(value: Any) -> str | None:
    """Why `value` is not a valid task id, or None when it is."""
    if not isinstance(value, str):
        return f"expected a string, got {_kind(value)}"
    if value == "":
        return "must not be empty (leave it out to get a generated id)"
    if not _TASK_ID.fullmatch(value):
        return f"{_shown(value)} is not a valid task id ({_TASK_ID_RULE})"
    return None


def workspace_id_problem(value: Any) -> str | None:
    """Why `value` is not a valid workspace id, or None when it is."""
    if not isinstance(value, str):
        return f"expected a string, got {_kind(value)}"
    if not value.strip():
        return "must not be empty or blank"
    if not _WORKSPACE_ID.fullmatch(value) or not _is_utf8(value):
        return (
            f"{_shown(value)} is not a valid workspace id (1-64 characters, no control "
            "characters, no whitespace at either end)"
        )
    return None


def check_task_id(value: Any, *, field: str = "taskId") -> str:
    """`value` if it is a valid task id, else `InvalidInputError` naming `field`."""
    problem = task_id_problem(value)
    if problem is not None:
        raise InvalidInputError(f"invalid {field}: {problem}")
    return str(value)


def check_workspace_id(value: Any, *, field: str = "workspaceId") -> str:
    """`value` if it is a valid workspace id, else `InvalidInputError` naming `field`."""
    problem = workspace_id_problem(value)
    if problem is not None:
        raise InvalidInputError(f"invalid {field}: {problem}")
    return str(value)


def check_type_name(value: Any, *, field: str = "type") -> str:
    """`value` if it can name a task type (a non-empty string without control characters)."""
    if not isinstance(value, str):
        raise InvalidInputError(f"invalid {field}: expected a string, got {_kind(value)}")
    if not value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInputError(f"invalid {field}: {_shown(value)} cannot name a task type")
    return value


def _shown(value: str) -> str:
    """`value` for a message: quoted, escaped, cut short (it may be huge or hold anything)."""
    text = value if len(value) <= 80 else value[:77] + "..."
    return ascii(text)


def _is_utf8(value: str) -> bool:
    """False for strings holding lone surrogates (what undecodable bytes become in argv)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _kind(value: Any) -> str:
    return type(value).__name__


_ID_ALPHABET = string.ascii_lowercase + string.digits


def workflow_id_for(task_id: str) -> str:
    """The Temporal workflow id of a task."""
    return f"task-{task_id}"


def new_task_id() -> str:
    """A PocketBase-style id: 15 lowercase letters and digits (it follows the rule above)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15))
