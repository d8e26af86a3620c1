"""Guarantee 7, second half: bad input that reaches a worker fails the task at once.

Our clients refuse bad input before starting anything (see the processor tests); these start
workflows *around* the client, as another SDK or the Temporal CLI could, and check the task
fails non-retryably with a message naming the field, its record saying so.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client, WorkflowFailureError

from durable_tasks._simple_workflow import SIMPLE_WORKFLOW_NAME
from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import running_worker
from tests.core.test_simple_processors import Counting
from tests.support.flow_fixtures import Sequential


async def _fails(client: Client, workflow: str, arg: object, wid: str, queue: str) -> str:
    handle = await client.start_workflow(workflow, arg, id=wid, task_queue=queue)
    try:
        await asyncio.wait_for(handle.result(), 30)
    except WorkflowFailureError as err:
        return str(err.cause)
    raise AssertionError("the workflow should have failed")


async def test_flow_with_bad_input_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        bad = {"taskId": "bad-flow", "workspaceId": "ws", "failTimes": "not a dict"}
        message = await _fails(
            temporal_client, "tf-sequential", bad, "task-bad-flow", tasks.task_queue
        )
    assert "failTimes" in message
    record = await task_store.get("bad-flow")  # created by the sync, as the workflow owns it
    assert record is not None and record.status == TaskStatus.FAILED
    assert [(e.error_type, e.final) for e in record.errors] == [("InvalidInputError", True)]
    assert "failTimes" in record.errors[0].message


async def test_simple_task_with_bad_input_fails_at_once(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Counting) as tasks:
        raw = {
            "type": "counting",
            "data": {"taskId": "bad-simple", "workspaceId": "ws", "steps": "lots"},
            "options": {},
        }
        message = await _fails(
            temporal_client, SIMPLE_WORKFLOW_NAME, raw, "task-bad-simple", tasks.task_queue
        )
        assert "steps" in message
        record = await task_store.get("bad-simple")
        assert record is not None and record.status == TaskStatus.FAILED
        assert record.attempts == 1  # refused by the first attempt, never retried
        assert "steps" in record.errors[-1].message

        nameless = {"type": "counting", "data": {"steps": 1}, "options": {}}
        message = await _fails(
            temporal_client, SIMPLE_WORKFLOW_NAME, nameless, "task-x", tasks.task_queue
        )
        assert "taskId" in message  # no record to write to, but the workflow still fails now
