"""The service's own tests, on durable-tasks' pytest fixtures (durable-tasks[testing]).

Each test leaves what it saw in $EVIDENCE_DIR, so the repository's test that runs this suite
checks outcomes, not just a "passed" line.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from durable_tasks import DurableTasksPlugin, ProcessorRegistry, TaskClient, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import PocketBaseServer, running_worker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import activities.greeting
import workflows.greeting
from activities.greeting import Shout, greet
from workflows.greeting import GreetWorkflow

PROJECT = Path(__file__).resolve().parents[1]
EVIDENCE = Path(os.environ["EVIDENCE_DIR"])
MODULES = ["workflows", "activities"]  # this project's, named as its settings would name them


def _leave(name: str, value: object) -> None:
    (EVIDENCE / f"{name}.json").write_text(json.dumps(value))


def test_workflows_and_activities_are_this_projects_own() -> None:
    files = [Path(m.__file__ or "").resolve() for m in (workflows.greeting, activities.greeting)]
    assert all(f.is_relative_to(PROJECT) for f in files), files
    _leave("packages", [str(f.relative_to(PROJECT)) for f in files])


async def test_one_worker_runs_the_plain_workflow_beside_durable_tasks(
    temporal_client: Client, task_store: PocketBaseTaskStore, task_queue: str
) -> None:
    registry = ProcessorRegistry.discover(MODULES)
    tasks = TaskClient(temporal_client, task_store, registry, task_queue=task_queue)
    worker = Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[GreetWorkflow],
        activities=[greet],
        plugins=[DurableTasksPlugin(task_store, processors=registry)],
    )
    async with worker:
        plain = await temporal_client.execute_workflow(
            GreetWorkflow.run, "ada", id=f"greet-{task_queue}", task_queue=task_queue
        )
        await tasks.start("shout", workspace_id="ws", task_id="shout-1", input={"text": "hi"})
        await tasks.start(
            "greeting-report", workspace_id="ws", task_id="report-1", input={"month": "May"}
        )
        await tasks.wait("shout-1")
        await tasks.wait("report-1")
    shout, report = await task_store.get("shout-1"), await task_store.get("report-1")
    assert shout is not None and report is not None
    assert plain == "hello ada"
    assert shout.status == TaskStatus.SUCCESS and shout.result == {"shouted": "HI"}
    assert report.status == TaskStatus.SUCCESS
    assert await task_store.get(f"greet-{task_queue}") is None  # a plain workflow has no record
    _leave(
        "plugin",
        {
            "types": registry.names,
            "plain": plain,
            "shout": [shout.status, shout.progress, shout.result],
            "report": [report.status, report.result["steps"]["render"]["data"]],
        },
    )


async def test_running_worker_fixture(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Shout) as tasks:
        await tasks.start("shout", workspace_id="ws", task_id="shout-2", input={"text": "again"})
        record = await tasks.wait("shout-2")
    assert record.status == TaskStatus.SUCCESS
    _leave("running_worker", [record.status, record.result])


async def test_the_durable_tasks_worker_runs_the_modules_it_is_told(
    temporal_dev_env: WorkflowEnvironment,
    pocketbase_server: PocketBaseServer,
    task_store: PocketBaseTaskStore,
    task_queue: str,
    tmp_path: Path,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "DURABLE_TASKS_TASK_QUEUE": task_queue,
        "POCKETBASE_URL": pocketbase_server.url,
        "POCKETBASE_ADMIN_EMAIL": pocketbase_server.admin_email,
        "POCKETBASE_ADMIN_PASSWORD": pocketbase_server.admin_password,
        "DURABLE_TASKS_IMPORTS": ",".join(MODULES),
    }
    log = tmp_path / "worker.log"
    command = [
        str(Path(sys.executable).parent / "durable-tasks"),
        "worker",
        "--graceful-shutdown",
        "1",
    ]
    with log.open("w") as out:  # from the project's root, found there as `python -m` finds it
        worker = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=out, stderr=out)
    try:
        registry = ProcessorRegistry.discover(MODULES)
        client = TaskClient(temporal_dev_env.client, task_store, registry, task_queue=task_queue)
        await client.start("shout", workspace_id="ws", task_id="shout-3", input={"text": "cli"})
        record = await asyncio.wait_for(client.wait("shout-3"), 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
    assert record.status == TaskStatus.SUCCESS, log.read_text()
    assert code == 0, log.read_text()
    assert "task types: greeting-report, shout" in log.read_text()
    _leave("cli_worker", [record.status, record.result])
