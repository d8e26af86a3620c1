"""Validating a workflow's input inside the workflow (deterministic, sandbox-safe).

Our clients validate before starting, but a workflow can also be started by other means (the
Temporal CLI, another SDK, a front end's starter). Typed `run` arguments that fail to decode
would fail the workflow *task*, which Temporal retries forever; so task workflows take plain
JSON and validate it here, failing the workflow at once, non-retryably, with a message naming
the field (guarantee 7).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from durable_tasks.errors import InvalidInputError
from durable_tasks.models import JobData, validate_model

_M = TypeVar("_M", bound=BaseModel)


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


def identify_task(raw: Any) -> tuple[str, str] | None:
    """`(taskId, workspaceId)` of job data given as a model or JSON, when both are valid."""
    if isinstance(raw, JobData):
        return raw.task_id, raw.workspace_id
    if not isinstance(raw, dict):
        return None
    try:
        ids = JobData.model_validate(
            {"taskId": raw.get("taskId"), "workspaceId": raw.get("workspaceId")}
        )
    except ValueError:
        return None
    return ids.task_id, ids.workspace_id
