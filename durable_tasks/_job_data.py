"""Job data: split into ids and configuration, joined back, validated inside workflows.

Job data on the wire is one JSON object: the ids (`taskId`, `workspaceId`) beside the job's
configuration (and, for flows, the `stepResults` cache). The record keeps the configuration
alone as its `input`. `split_job_data` and `join_job_data` are the one place that knows how the
two relate, so the client, the workflows and the flow engine cannot disagree about it.

Our clients validate before starting, but a workflow can also be started by other means (the
Temporal CLI, another SDK, a front end's starter). Typed `run` arguments that fail to decode
would fail the workflow *task*, which Temporal retries forever; so task workflows take plain
JSON and validate it with `validate_in_workflow`, failing the workflow at once, non-retryably,
with a message naming the field (guarantee 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import to_jsonable_python
from temporalio.exceptions import ApplicationError

from durable_tasks.errors import InvalidInputError
from durable_tasks.models import JobData, TaskIdentity, validate_model

_M = TypeVar("_M", bound=BaseModel)

ID_FIELDS = frozenset({"taskId", "workspaceId"})
"""The JSON names of the ids every job carries."""
FRAMEWORK_FIELDS = frozenset({"stepResults"})
"""Execution state the framework owns: refused in job data on every path (client, CLI, a raw
workflow start), so it can never be forged; the rerun cache comes from the task's record."""
NOT_CONFIG = ID_FIELDS | FRAMEWORK_FIELDS
"""What is never part of a job's configuration (the record's `input`)."""


def refuse_framework_fields(raw: Mapping[str, Any]) -> None:
    """`InvalidInputError` naming the first framework-owned field that job data sets.

    An empty value sets nothing and passes: workflows started before this rule carried
    `"stepResults": {}` in their input, and they must replay and finish as they began.
    """
    for name in sorted(FRAMEWORK_FIELDS & raw.keys()):
        if raw[name] in (None, {}, []):
            continue
        raise InvalidInputError(
            f"invalid job data: {name}: is execution state owned by durable-tasks and cannot "
            "be set through job data (a rerun takes its cache from the task's own record)"
        )


def split_job_data(
    raw: Mapping[str, Any] | BaseModel,
) -> tuple[tuple[str, str] | None, dict[str, Any]]:
    """`((taskId, workspaceId) or None when they are missing or invalid, configuration)`.

    A model's secret fields come out in clear: the configuration goes on to the steps, which
    need the values (the record masks them, see `durable_tasks._redact`).
    """
    data = _revealed_dump(raw) if isinstance(raw, BaseModel) else dict(raw)
    config = {k: v for k, v in data.items() if k not in NOT_CONFIG}
    try:
        ids = JobData.model_validate(
            {"taskId": data.get("taskId"), "workspaceId": data.get("workspaceId")}
        )
    except ValueError:
        return None, config
    return (ids.task_id, ids.workspace_id), config


def _revealed_dump(model: BaseModel) -> dict[str, Any]:
    """`model` as JSON data with `SecretStr`/`SecretBytes` values in clear, not masked."""

    def reveal(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, SecretBytes):
            return value.get_secret_value().decode("utf-8", "replace")
        if isinstance(value, dict):
            return {key: reveal(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [reveal(item) for item in value]
        return value

    revealed: dict[str, Any] = to_jsonable_python(reveal(model.model_dump(mode="python")))
    return revealed


def join_job_data(task_id: str, workspace_id: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Job data from ids and configuration (ids in the configuration are ignored)."""
    joined = {k: v for k, v in config.items() if k not in ID_FIELDS}
    joined.update(taskId=task_id, workspaceId=workspace_id)
    return joined


def task_identity(raw: Any, *, type: str) -> TaskIdentity | None:
    """The identity of the task whose job data is `raw` (None when the ids are not valid)."""
    if not isinstance(raw, Mapping | BaseModel):
        return None
    ids, config = split_job_data(raw)
    if ids is None:
        return None
    return TaskIdentity(task_id=ids[0], workspace_id=ids[1], type=type, input=config)


class InvalidJobDataError(ApplicationError):
    """Job data that reached a worker is invalid: the task fails now, without retries."""

    def __init__(self, message: str) -> None:
        super().__init__(message, type="InvalidInputError", non_retryable=True)


def validate_in_workflow(model: type[_M], raw: Any) -> _M:
    """`raw` as `model`, or `InvalidJobDataError` naming the field."""
    if isinstance(raw, model):
        return raw
    try:
        return validate_model(model, raw)
    except InvalidInputError as err:
        raise InvalidJobDataError(str(err)) from None
