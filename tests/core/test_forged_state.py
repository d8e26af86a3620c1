"""Job data is configuration only: execution state can never be forged through a start.

A flow's step cache (`stepResults`) once travelled in job data, so a caller could start a flow
that skipped a step and reported made-up data as its result. Now job data carrying it is
refused on every path, and a rerun's cache comes from the task's own record alone.
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client, WorkflowFailureError

from durable_tasks.errors import InvalidInputError
from durable_tasks.models import StepStatus, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import running_worker
from tests.support.flow_fixtures import RUNS, Sequential

FORGED = {"fetch": {"stepType": "fetch", "status": "completed", "data": "FORGED"}}


async def test_the_client_refuses_a_step_cache_in_job_data(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        with pytest.raises(InvalidInputError, match=r"^invalid job data: stepResults: "):
            await tasks.start(
                "tf-sequential", workspace_id="ws", task_id="forge-1", input={"stepResults": FORGED}
            )
    assert await task_store.get("forge-1") is None  # refused before anything was created


async def test_a_raw_start_with_a_step_cache_fails_at_once_and_runs_nothing(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    RUNS.clear()
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        raw = {"taskId": "forge-2", "workspaceId": "ws", "stepResults": FORGED}
        handle = await temporal_client.start_workflow(
            "tf-sequential", raw, id="task-forge-2", task_queue=tasks.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), 30)
    assert "stepResults" in str(failed.value.cause)
    assert RUNS == {}  # not one step ran
    record = await task_store.get("forge-2")
    assert record is not None and record.status == TaskStatus.FAILED
    assert "stepResults" in record.errors[-1].message
    assert "FORGED" not in str(record.result)


async def test_a_rerun_takes_its_cache_from_the_record_only(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    """The rerun keeps what the record says completed, and nothing else."""
    RUNS.clear()
    async with running_worker(temporal_client, task_store, Sequential) as tasks:
        data = {"failTimes": {"store": 9}}  # fetch and shrink complete, store fails for good
        await tasks.start("tf-sequential", workspace_id="ws", task_id="forge-3", input=data)
        first = await tasks.wait("forge-3")
        assert first.status == TaskStatus.FAILED
        assert first.result["steps"]["fetch"]["status"] == StepStatus.COMPLETED
        runs_before = dict(RUNS)

        await tasks.rerun("forge-3")
        second = await tasks.wait("forge-3")
    assert second.result["steps"]["fetch"] == first.result["steps"]["fetch"]
    assert RUNS["forge-3:fetch"] == runs_before["forge-3:fetch"]  # not run again
    assert RUNS["forge-3:store"] > runs_before["forge-3:store"]  # the failed step ran again
