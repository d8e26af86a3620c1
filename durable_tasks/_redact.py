"""Secret fields of job data, masked before the configuration becomes a record's `input`.

A processor marks a field secret by typing it `pydantic.SecretStr` (or `SecretBytes`). The
processor receives the value (job data travels to the worker as it was given), but the record,
which everyone in the workspace can read and which PocketBase pushes over realtime, keeps
`"**********"` in its place, as pydantic prints such fields in logs and reprs. Passing a
reference (the name of a secret your worker can look up) is better still: then no secret sits in
Temporal's history either.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretBytes, SecretStr
from temporalio.client import WorkflowHandle
from temporalio.converter import DataConverter

from durable_tasks._job_data import split_job_data
from durable_tasks.errors import InvalidInputError

MASK = "**********"
"""What a secret field's value becomes in the record (pydantic's own mask)."""


def redact_secrets(model: type[BaseModel], config: Any) -> Any:
    """`config` with the values of `model`'s secret fields masked (nested models included)."""
    if not isinstance(config, dict):
        return config
    masked = dict(config)
    for name, info in model.model_fields.items():
        for key in {name, info.alias or name}:
            if key in masked:
                masked[key] = _redact_value(info.annotation, masked[key])
    return masked


def has_secrets(model: type[BaseModel]) -> bool:
    """True when some field of `model` (or of a model nested in it) is secret."""
    return any(_mentions_secret(info.annotation, set()) for info in model.model_fields.values())


def _redact_value(annotation: Any, value: Any) -> Any:
    if value is None:
        return None
    if _is_secret(annotation):
        return MASK
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return redact_secrets(annotation, value)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        for arg in args:
            if _is_secret(arg):
                return MASK
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return redact_secrets(models[0], value) if models else value
    if origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
        return [_redact_value(args[0], item) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {key: _redact_value(args[1], item) for key, item in value.items()}
    return value


def _is_secret(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, SecretStr | SecretBytes)


def _mentions_secret(annotation: Any, seen: set[type[BaseModel]]) -> bool:
    if _is_secret(annotation):
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(_mentions_secret(f.annotation, seen) for f in annotation.model_fields.values())
    return any(_mentions_secret(arg, seen) for arg in get_args(annotation))


async def given_config(
    handle: WorkflowHandle[Any, Any], converter: DataConverter, task_id: str
) -> dict[str, Any]:
    """The configuration a task's last run was started with, secrets included, read back from
    its history (the record keeps them masked)."""
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        decoded = await converter.decode(payloads, [dict[str, Any]])
        raw = decoded[0] if decoded else {}
        data = raw.get("data", raw) if "options" in raw else raw
        return split_job_data(data)[1]
    raise InvalidInputError(
        f"invalid taskId: task {task_id} has secret fields the record keeps as {MASK} and "
        "its history is gone; start a new task with them"
    )
