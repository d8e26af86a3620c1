"""Simple processors end to end on the time-skipping server, with the in-memory store.

These pin the workflow logic fast; the same scenarios run against a real PocketBase in
test_simple_pocketbase.py.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from durable_tasks.context import TaskContext
from durable_tasks.memory_store import MemoryTaskStore
from durable_tasks.models import SimpleJobData, TaskStatus
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.testing import running_worker


class GreetData(SimpleJobData):
    name: str


class Greet(BaseSimpleProcessor[GreetData]):
    name = "greet"
    input_model = GreetData

    async def process(self, data: GreetData, ctx: TaskContext) -> dict[str, Any]:
        ctx.report_progress(50)
        return {"greeting": f"hello {data.name}"}


FAILS: dict[str, int] = {}


class Flaky(BaseSimpleProcessor[SimpleJobData]):
    name = "flaky"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> str:
        FAILS[data.task_id] = FAILS.get(data.task_id, 0) + 1
        if ctx.attempt <= int(data.input["fail_times"]):
            raise ValueError(f"boom {ctx.attempt}")
        return "ok"


async def test_simple_success_and_retry(temporal_client: Client, task_queue: str) -> None:
    store = MemoryTaskStore()
    async with running_worker(
        temporal_client, store, Greet, Flaky, task_queue=task_queue
    ) as client:
        out = await client.start("greet", workspace_id="ws1", input={"name": "ada"}, task_id="t1")
        assert out.outcome == "started"
        record = await client.wait("t1")
        assert record.status == TaskStatus.SUCCESS
        assert record.progress == 100
        assert record.result == {"greeting": "hello ada"}
        assert record.started_at and record.completed_at

        await client.start(
            "flaky", workspace_id="ws1", input={"input": {"fail_times": 2}}, task_id="t2"
        )
        record = await client.wait("t2")
        assert record.status == TaskStatus.SUCCESS, record
        assert len(record.errors) == 2
        assert record.attempts == 3

        await client.start(
            "flaky", workspace_id="ws1", input={"input": {"fail_times": 5}}, task_id="t3"
        )
        record = await client.wait("t3")
        assert record.status == TaskStatus.FAILED
        assert [e.attempt for e in record.errors] == [1, 2, 3]
        assert [e.final for e in record.errors] == [False, False, True]
        print(record.error_log)
