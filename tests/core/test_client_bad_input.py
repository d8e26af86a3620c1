"""`TaskClient` against real servers: every bad argument is an `InvalidInputError` naming the
field, before anything is created; what it accepts, a worker decodes; secrets stay out of the
record, the error log and the logs.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from durable_tasks._redact import MASK
from durable_tasks._simple_workflow import SIMPLE_WORKFLOW_NAME
from durable_tasks.client import TaskClient
from durable_tasks.context import TaskContext
from durable_tasks.errors import InvalidInputError
from durable_tasks.limits import MAX_INPUT_BYTES, MAX_INPUT_DEPTH
from durable_tasks.models import SimpleJobData, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import running_worker
from tests.core.test_ids_and_limits import nested
from tests.support.flow_fixtures import SecretFlow


class Keep(BaseSimpleProcessor[SimpleJobData]):
    """Returns how deep its configuration goes: proof the worker decoded all of it."""

    name = "keep"
    input_model = SimpleJobData

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> int:
        depth, value = 0, (data.model_extra or {}).get("tree")
        while isinstance(value, dict) and value:
            depth, value = depth + 1, value["a"]
        return depth


class LoginData(SimpleJobData):
    user: str
    password: SecretStr


class Login(BaseSimpleProcessor[LoginData]):
    """Needs the secret in clear; fails its first attempt so the error log has an entry."""

    name = "login"
    input_model = LoginData

    async def process(self, data: LoginData, ctx: TaskContext) -> dict[str, Any]:
        ctx.logger.info("logging in %s with %s", data.user, data.password)
        if ctx.attempt == 1:
            raise RuntimeError(f"login of {data.user} refused with {data.password!r}")
        return {"user": data.user, "ok": data.password.get_secret_value() == "hunter2"}


BAD_STARTS: list[tuple[dict[str, Any], str]] = [
    ({"type": ["keep"]}, "invalid type: expected a string, got list"),
    ({"type": ""}, "invalid type"),
    ({"workspace_id": "   "}, "invalid workspaceId: must not be empty or blank"),
    ({"workspace_id": ""}, "invalid workspaceId"),
    ({"workspace_id": None}, "invalid workspaceId: expected a string"),
    ({"task_id": ""}, "invalid taskId: must not be empty"),
    ({"task_id": ".."}, "invalid taskId: '..' is not a valid task id"),
    ({"task_id": "Bad-Case"}, "invalid taskId: 'Bad-Case'"),
    ({"task_id": 7}, "invalid taskId: expected a string"),
    ({"input": {"a": b"\xff"}}, "invalid input.a: bytes is not a JSON value"),
    ({"input": {"a": float("nan")}}, "invalid input.a: nan is not a JSON number"),
    ({"input": {"a": float("-inf")}}, "invalid input.a: -inf is not a JSON number"),
    ({"input": {"a": "\udc80"}}, "invalid input.a: not valid Unicode"),
    ({"input": {"tree": nested(200)}}, f"nested deeper than {MAX_INPUT_DEPTH} levels"),
    ({"input": {"tree": nested(5000)}}, f"nested deeper than {MAX_INPUT_DEPTH} levels"),
    ({"input": {"blob": "x" * (MAX_INPUT_BYTES + 1)}}, "bytes as JSON, more than"),
    ({"input": [1]}, "invalid input: expected a JSON object, got list"),
    ({"timeout": 5}, "invalid timeout"),
]


@pytest.mark.parametrize(("change", "named"), BAD_STARTS)
async def test_bad_start_arguments_name_the_field_and_create_nothing(
    temporal_client: Client, task_store: PocketBaseTaskStore, change: dict[str, Any], named: str
) -> None:
    async with running_worker(temporal_client, task_store, Keep) as tasks:
        arguments: dict[str, Any] = {"workspace_id": "ws", "task_id": "bad-1", "input": {}}
        arguments.update(change)
        type = arguments.pop("type", "keep")
        with pytest.raises(InvalidInputError) as caught:
            await tasks.start(type, **arguments)
        assert named in str(caught.value)
        assert await task_store.list() == []  # nothing created


async def test_ids_differing_only_in_case_cannot_both_start(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Keep) as tasks:
        await tasks.start("keep", workspace_id="ws", task_id="r5-mixed")
        with pytest.raises(InvalidInputError, match=r"^invalid taskId: 'r5-MiXeD'"):
            await tasks.start("keep", workspace_id="ws", task_id="r5-MiXeD")
        assert (await tasks.wait("r5-mixed")).status == TaskStatus.SUCCESS
    assert [r.id for r in await task_store.list()] == ["r5-mixed"]


async def test_no_task_id_generates_one_an_empty_one_does_not(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Keep) as tasks:
        outcome = await tasks.start("keep", workspace_id="ws")
        assert len(outcome.task_id) == 15
        with pytest.raises(InvalidInputError, match="taskId"):
            await tasks.start("keep", workspace_id="ws", task_id="")
        assert (await tasks.wait(outcome.task_id)).status == TaskStatus.SUCCESS


@pytest.mark.parametrize("bad_id", [".", "..", "a/b", "", "X"])
async def test_every_entry_taking_a_task_id_refuses_a_bad_one(
    temporal_client: Client, task_store: PocketBaseTaskStore, bad_id: str
) -> None:
    registry = ProcessorRegistry.of(Keep)
    tasks = TaskClient(temporal_client, task_store, registry, task_queue="unused")
    for entry in (tasks.status, tasks.cancel, tasks.rerun, tasks.wait):
        with pytest.raises(InvalidInputError, match=r"^invalid taskId: "):
            await entry(bad_id)


async def test_input_at_the_depth_limit_runs_to_success(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    """Whatever the client accepts, the worker decodes: the deepest allowed input runs."""
    tree = nested(MAX_INPUT_DEPTH - 1)  # the job data object itself is one level
    async with running_worker(temporal_client, task_store, Keep) as tasks:
        await tasks.start("keep", workspace_id="ws", task_id="deep", input={"tree": tree})
        record = await tasks.wait("deep")
    assert record.status == TaskStatus.SUCCESS, record.error_log
    assert record.result == MAX_INPUT_DEPTH - 2


async def test_secret_fields_stay_out_of_the_record_error_log_and_logs(
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    job = {"user": "ada", "password": "hunter2"}
    async with running_worker(temporal_client, task_store, Login) as tasks:
        await tasks.start("login", workspace_id="ws", task_id="login-1", input=job)
        record = await tasks.wait("login-1")
        assert record.status == TaskStatus.SUCCESS, record.error_log
        assert record.result == {"user": "ada", "ok": True}  # the processor had it in clear
        assert record.input == {"user": "ada", "password": MASK}
        assert len(record.errors) == 1 and "hunter2" not in record.error_log
        assert "hunter2" not in str([e.model_dump() for e in record.errors])

        # A rerun gets the secret back from the task's history, not from the masked record.
        await tasks.rerun("login-1")
        again = await tasks.wait("login-1")
        assert again.status == TaskStatus.SUCCESS and again.result == {"user": "ada", "ok": True}

        # A workflow started around the client: the record the sync creates masks it too.
        raw = {
            "type": "login",
            "data": {"taskId": "login-2", "workspaceId": "ws", **job},
            "options": Login.options().model_dump(mode="json"),
        }
        handle = await temporal_client.start_workflow(
            SIMPLE_WORKFLOW_NAME,
            raw,
            id="task-login-2",
            task_queue=tasks.task_queue,
            execution_timeout=timedelta(minutes=1),
        )
        await handle.result()
        created = await task_store.get("login-2")
    assert created is not None and created.input == {"user": "ada", "password": MASK}
    assert "hunter2" not in caplog.text
    assert "logging in ada" in caplog.text  # the log line was written, masked


async def test_a_flows_steps_get_its_secret_and_the_record_does_not(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, SecretFlow) as tasks:
        job = {"user": "ada", "password": "hunter2"}
        await tasks.start("tf-secret", workspace_id="ws", task_id="secret-flow", input=job)
        record = await tasks.wait("secret-flow")
    assert record.status == TaskStatus.SUCCESS, record.error_log
    assert record.result["steps"]["check"]["data"] is True
    assert record.input == {"user": "ada", "password": MASK}
