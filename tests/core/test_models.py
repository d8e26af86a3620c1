"""The models at every boundary: camelCase on the wire, snake_case in Python, fields named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from durable_tasks.errors import InvalidInputError
from durable_tasks.models import (
    ErrorLogEntry,
    ParentJobData,
    SimpleJobData,
    StepJobData,
    StepResult,
    StepStatus,
    TaskResult,
    TaskStatus,
    validate_model,
)


def test_camel_case_round_trip() -> None:
    wire = {
        "taskId": "task_123",
        "workspaceId": "ws_456",
        "stepResults": {
            "download": {"stepType": "download", "status": "completed", "data": {"bytes": 5}}
        },
    }
    data = ParentJobData.model_validate(wire)
    assert data.task_id == "task_123" and data.workspace_id == "ws_456"
    assert data.step_results["download"].status == StepStatus.COMPLETED
    dumped = data.model_dump(mode="json", exclude_none=True)
    assert dumped["stepResults"]["download"]["stepType"] == "download"
    assert ParentJobData.model_validate(dumped) == data
    # snake_case is accepted from Python code too
    assert SimpleJobData(task_id="t", workspace_id="w").model_dump()["taskId"] == "t"


def test_extra_configuration_keys_are_kept() -> None:
    data = SimpleJobData.model_validate(
        {"taskId": "t", "workspaceId": "w", "input": {"mediaId": "m"}, "priority": 3}
    )
    assert data.model_extra == {"priority": 3}
    assert data.model_dump(mode="json")["priority"] == 3


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"workspaceId": "w"}, "taskId"),
        ({"taskId": "t"}, "workspaceId"),
        ({"taskId": "has space", "workspaceId": "w"}, "taskId"),
        ({"taskId": "", "workspaceId": "w"}, "taskId"),
    ],
)
def test_invalid_job_data_names_the_field(raw: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_model(SimpleJobData, raw)
    assert str(caught.value).startswith(f"invalid job data: {field}: ")


def test_nested_errors_name_the_path() -> None:
    with pytest.raises(InvalidInputError, match=r"stepResults\.download\.status"):
        validate_model(
            ParentJobData,
            {
                "taskId": "t",
                "workspaceId": "w",
                "stepResults": {"download": {"stepType": "d", "status": "??"}},
            },
        )


def test_step_job_data_gives_the_flow_config_typed() -> None:
    class Config(ParentJobData):
        video_id: str

    job = StepJobData(
        task_id="t",
        workspace_id="w",
        parent_job_id="task-t",
        step_type="s",
        input={"videoId": "v1"},
    )
    assert job.config(Config).video_id == "v1"
    with pytest.raises(InvalidInputError, match="videoId"):
        StepJobData(task_id="t", workspace_id="w", parent_job_id="p", step_type="s").config(Config)


def test_task_result_and_statuses() -> None:
    result = TaskResult(
        steps={"a": StepResult(step_type="a", status=StepStatus.RUNNING)}, total_steps=1
    )
    assert set(result.model_dump(mode="json")) >= {
        "steps", "completedSteps", "failedSteps", "currentStep", "totalSteps",
        "completedCount", "failedCount", "startedAt", "completedAt",
    }  # fmt: skip
    assert [s for s in TaskStatus if s.is_final] == ["SUCCESS", "FAILED", "CANCELLED"]


def test_error_entry_renders_attempt_and_stack() -> None:
    entry = ErrorLogEntry(
        key="run:step:2",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        step="transcode",
        attempt=2,
        max_attempts=3,
        error_type="ValueError",
        message="bad frame",
        stack='  File "x.py", line 1\n',
    )
    assert entry.render() == (
        "[2026-01-02T03:04:05+00:00] transcode attempt 2/3 (will retry) ValueError: bad frame\n"
        '  File "x.py", line 1'
    )
    final = entry.model_copy(update={"final": True, "stack": "", "max_attempts": None})
    assert final.render().endswith("attempt 2/? (final) ValueError: bad frame")


def test_a_message_naming_the_caller_s_keys_stays_one_line() -> None:
    """Keys come from the caller's data; a line break in one must not break the message."""

    class Counts(SimpleJobData):
        counts: dict[str, int]

    with pytest.raises(InvalidInputError) as caught:
        validate_model(Counts, {"taskId": "t", "workspaceId": "w", "counts": {"a\nb\x85": "x"}})
    message = str(caught.value)
    assert message.startswith("invalid job data: counts.a\\nb\\x85: ")
    assert message.isprintable()
