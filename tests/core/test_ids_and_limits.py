"""The id rule, the job-data limits and secret masking, as pure functions (no servers).

The same checks run at every entry (client, CLI, job-data models); the end-to-end tests in
`tests/core/test_client_bad_input.py` and `tests/cli/test_cli_bad_input.py` show they do.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import SecretStr

from durable_tasks._redact import MASK, has_secrets, redact_secrets
from durable_tasks.errors import InvalidInputError
from durable_tasks.ids import (
    TASK_ID_PATTERN,
    check_task_id,
    check_type_name,
    check_workspace_id,
)
from durable_tasks.limits import (
    MAX_INPUT_BYTES,
    MAX_INPUT_DEPTH,
    check_json_input,
    check_round_trip,
)
from durable_tasks.models import CamelModel, SimpleJobData, validate_model


def nested(depth: int) -> dict[str, Any]:
    """An object nested `depth` containers deep (the object itself is depth 1)."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("task_id", ["a", "0", "welcome-1", "r5-mixed", "a_b-c", "x" * 64])
def test_valid_task_ids(task_id: str) -> None:
    assert check_task_id(task_id) == task_id
    assert re.fullmatch(TASK_ID_PATTERN, task_id)


@pytest.mark.parametrize(
    "task_id",
    ["", ".", "..", "a/b", "r5-MiXeD", "A", "-a", "_a", "a b", "a.b", "x" * 65, "é", "a\n",
     "x\udcff", 5, None, ["a"]],
)  # fmt: skip
def test_invalid_task_ids_name_task_id(task_id: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"^invalid taskId: "):
        check_task_id(task_id)


def test_an_empty_task_id_says_it_is_empty() -> None:
    with pytest.raises(InvalidInputError, match="must not be empty"):
        check_task_id("")


@pytest.mark.parametrize(
    "workspace", ["", " ", "\t\n", " w", "w ", "a\x00b", "x" * 65, 3, "w\udcff"]
)
def test_blank_or_malformed_workspace_ids_are_refused(workspace: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"^invalid workspaceId: "):
        check_workspace_id(workspace)
    with pytest.raises(InvalidInputError, match="workspaceId"):
        validate_model(SimpleJobData, {"taskId": "t", "workspaceId": workspace})


@pytest.mark.parametrize("workspace", ["w", "acme corp", "équipe-7", "x" * 64])
def test_workspace_ids_are_free_text(workspace: str) -> None:
    assert check_workspace_id(workspace) == workspace


@pytest.mark.parametrize("type", [["send-email"], None, 3, "", "  ", "a\nb"])
def test_a_type_that_cannot_be_a_name_is_refused(type: Any) -> None:
    with pytest.raises(InvalidInputError, match=r"^invalid type: "):
        check_type_name(type)


def test_job_data_models_apply_the_same_rule() -> None:
    with pytest.raises(
        InvalidInputError, match=r"^invalid job data: taskId: Value error, .T1. is not"
    ):
        validate_model(SimpleJobData, {"taskId": "T1", "workspaceId": "w"})
    assert validate_model(SimpleJobData, {"taskId": "t1", "workspaceId": "w"}).task_id == "t1"


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ({"a": float("nan")}, "input.a: nan is not a JSON number"),
        ({"a": [1, float("inf")]}, "input.a.1: inf is not a JSON number"),
        ({"a": "\ud800"}, "input.a: not valid Unicode"),
        ({"\udcff": 1}, "input key: not valid Unicode"),
        ({"a": b"bytes"}, "input.a: bytes is not a JSON value"),
        ({"a": {1, 2}}, "input.a: set is not a JSON value"),
        ({"a": {1: "x"}}, "input.a: keys must be strings"),
        (nested(MAX_INPUT_DEPTH + 1), f"nested deeper than {MAX_INPUT_DEPTH} levels"),
        ({"blob": "x" * MAX_INPUT_BYTES}, f"more than the {MAX_INPUT_BYTES} allowed"),
        ([1, 2], "invalid input: expected a JSON object, got list"),
        ("{}", "invalid input: expected a JSON object, got str"),
    ],
)
def test_input_outside_the_limits_names_the_field(value: Any, named: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        check_json_input(value)
    assert named in str(caught.value)


def test_a_self_containing_input_is_refused_not_looped_on() -> None:
    value: dict[str, Any] = {}
    value["self"] = value
    with pytest.raises(InvalidInputError, match="nested deeper"):
        check_json_input(value)


def test_input_at_the_limits_is_accepted_and_round_trips() -> None:
    deepest = nested(MAX_INPUT_DEPTH)
    assert check_json_input(deepest) is deepest
    check_round_trip({"type": "t", "data": deepest, "options": {}})
    check_json_input({"blob": "x" * (MAX_INPUT_BYTES - 20)})


def test_the_round_trip_check_catches_what_the_converter_cannot_carry() -> None:
    with pytest.raises(InvalidInputError, match="a worker could not decode it"):
        check_round_trip(nested(300))


class Credentials(CamelModel):
    api_key: SecretStr
    region: str = "eu"


class SecretJob(SimpleJobData):
    password: SecretStr
    token: SecretStr | None = None
    credentials: Credentials | None = None
    many: list[Credentials] = []
    user: str = ""


def test_secret_fields_are_masked_nested_ones_too() -> None:
    raw = {
        "password": "hunter2",
        "token": None,
        "credentials": {"apiKey": "k-1", "region": "us"},
        "many": [{"api_key": "k-2"}],
        "user": "ada",
        "extra": {"password": "not declared, so not known to be secret"},
    }
    masked = redact_secrets(SecretJob, raw)
    assert masked == {
        "password": MASK,
        "token": None,
        "credentials": {"apiKey": MASK, "region": "us"},
        "many": [{"api_key": MASK}],
        "user": "ada",
        "extra": {"password": "not declared, so not known to be secret"},
    }
    assert raw["password"] == "hunter2"  # the caller's data is left alone
    assert has_secrets(SecretJob) and not has_secrets(SimpleJobData)
