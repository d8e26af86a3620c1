"""A task workflow's argument, decoded inside the workflow so that bad input fails the task.

A typed `run` argument is decoded by the SDK before any workflow code runs; when that fails
(the wrong shape, or JSON nested deeper than the converter decodes) the SDK fails the
*workflow task*, which Temporal retries forever, and the record stays `PENDING` for good. So
task workflows take their argument raw (`temporalio.common.RawValue`) and decode it here, with
the very converter that would have decoded it: a failure becomes `InvalidJobDataError`, which
fails the workflow at once, and the sync writes `FAILED` with the reason (guarantee 7).

The sync must know which record to fail even then: `identity_in_workflow` falls back to the
ids alone, read by the standard library's JSON parser (deep nesting is no problem for it;
the rest of the data is dropped, since whatever we write must be encodable again), and then
to the workflow id (`task-<taskId>`) with an unknown workspace: such a record is updated if it
exists and never created.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue

from durable_tasks._job_data import ID_FIELDS, InvalidJobDataError, split_job_data, task_identity
from durable_tasks.models import TaskIdentity

WORKFLOW_ID_PREFIX = "task-"


def decode_job_object(raw: Any) -> dict[str, Any]:
    """The workflow's argument as a JSON object, or `InvalidJobDataError` saying why not."""
    value = raw
    if isinstance(raw, RawValue):
        try:
            value = workflow.payload_converter().from_payload(raw.payload)
        except Exception as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[-1].strip()
            raise InvalidJobDataError(
                f"invalid job data: could not be decoded (nested too deeply, or not JSON): {reason}"
            ) from None
    if not isinstance(value, dict):
        raise InvalidJobDataError(f"invalid job data: must be a JSON object, not {_kind(value)}")
    return value


def identity_in_workflow(
    raw: Any, *, type: str | None = None, data_key: str | None = None
) -> TaskIdentity | None:
    """The record a task workflow owns, from its raw argument, even when that is undecodable.

    `data_key`: where the job data sits in the argument (the simple shell nests it under
    `data`, beside its `type`); `type`: the task type, else the argument's `type`.
    """
    value, complete = _peek(raw)
    outer = value if isinstance(value, Mapping) else {}
    task_type = type if type is not None else str(outer.get("type", "") or "")
    data = outer.get(data_key) if data_key is not None else value
    if not complete and isinstance(data, Mapping):
        data = {k: data[k] for k in ID_FIELDS if k in data}
    identity = task_identity(data, type=task_type)
    if identity is not None:
        return identity
    task_id = task_id_of_workflow(workflow.info().workflow_id)
    if task_id is None:
        return None
    return TaskIdentity(task_id=task_id, workspace_id="", type=task_type, input=None)


def task_id_of_workflow(workflow_id: str) -> str | None:
    """The task id in a task's workflow id (`task-<taskId>`), if it is a valid one."""
    if not workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return None
    ids, _ = split_job_data(
        {"taskId": workflow_id[len(WORKFLOW_ID_PREFIX) :], "workspaceId": "unknown"}
    )
    return ids[0] if ids is not None else None


def _peek(raw: Any) -> tuple[Any, bool]:
    """`(value, complete)`: decoded by the converter, else by the standard library (ids only)."""
    if not isinstance(raw, RawValue):
        return raw, True
    try:
        return workflow.payload_converter().from_payload(raw.payload), True
    except Exception:
        pass
    try:
        return json.loads(raw.payload.data), False
    except (ValueError, RecursionError):
        return None, False


_KINDS = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


def _kind(value: Any) -> str:
    return "null" if value is None else _KINDS.get(value.__class__, value.__class__.__name__)
