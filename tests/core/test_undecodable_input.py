"""Nothing hangs: input a worker cannot even decode fails the task at once (guarantee 7).

A typed `run` argument that fails to decode fails the workflow *task*, which Temporal retries
forever: the record stayed PENDING for good. These start workflows around the client, as
another SDK or the Temporal CLI could, with arguments of the wrong shape and with job data
nested deeper than the converter decodes, and want the workflow failed within seconds and the
record (when there is one) FAILED with the reason.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client, WorkflowFailureError

from durable_tasks._simple_workflow import SIMPLE_WORKFLOW_NAME
from durable_tasks.models import TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import running_worker
from tests.core.test_simple_processors import Counting
from tests.support.flow_fixtures import Sequential

DEPTH = 200


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


async def _fails_at_once(
    client: Client, store: PocketBaseTaskStore, workflow: str, arg: object, task_id: str, queue: str
) -> tuple[str, TaskRecord | None]:
    handle = await client.start_workflow(workflow, arg, id=f"task-{task_id}", task_queue=queue)
    try:
        await asyncio.wait_for(handle.result(), 30)
    except WorkflowFailureError as err:
        return str(err.cause), await store.get(task_id)
    raise AssertionError("the workflow should have failed")


async def _pending(store: PocketBaseTaskStore, task_id: str, type: str) -> None:
    """The record our client would have created before starting the workflow."""
    await store.create(task_id=task_id, workspace_id="ws", type=type, input={})


def _failed_with(record: TaskRecord | None, words: str) -> None:
    assert record is not None and record.status == TaskStatus.FAILED, record
    assert record.errors and record.errors[-1].final, record.errors
    assert words in record.errors[-1].message, record.errors[-1].message


async def test_a_flow_started_with_a_string_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        await _pending(task_store, "str-flow", "tf-sequential")
        message, record = await _fails_at_once(
            temporal_client, task_store, "tf-sequential", "a string", "str-flow", tasks.task_queue
        )
    assert "must be a JSON object, not a string" in message
    _failed_with(record, "must be a JSON object, not a string")


async def test_a_simple_task_started_with_a_list_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Counting) as tasks:
        await _pending(task_store, "list-simple", "counting")
        message, record = await _fails_at_once(
            temporal_client,
            task_store,
            SIMPLE_WORKFLOW_NAME,
            [1, 2],
            "list-simple",
            tasks.task_queue,
        )
    assert "must be a JSON object" in message
    _failed_with(record, "must be a JSON object")


async def test_a_flow_with_input_nested_too_deep_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        await _pending(task_store, "deep-flow", "tf-sequential")
        data = {"taskId": "deep-flow", "workspaceId": "ws", "deep": nested(DEPTH)}
        message, record = await _fails_at_once(
            temporal_client, task_store, "tf-sequential", data, "deep-flow", tasks.task_queue
        )
    assert "could not be decoded" in message
    _failed_with(record, "could not be decoded")


async def test_a_simple_task_with_input_nested_too_deep_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Counting) as tasks:
        raw = {
            "type": "counting",
            "data": {"taskId": "deep-simple", "workspaceId": "ws", "deep": nested(DEPTH)},
            "options": {},
        }
        message, record = await _fails_at_once(
            temporal_client, task_store, SIMPLE_WORKFLOW_NAME, raw, "deep-simple", tasks.task_queue
        )
    assert "could not be decoded" in message
    _failed_with(record, "could not be decoded")  # created by the sync from the ids
