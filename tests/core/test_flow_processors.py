"""Flow processors against a real PocketBase, on the time-skipping Temporal server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client

from durable_tasks.client import TaskClient
from durable_tasks.models import SyncOutcome, TaskPatch, TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.store import SyncItem, SyncResult
from durable_tasks.testing import running_worker
from tests.support.flow_fixtures import (
    GATES,
    RUNS,
    STORE,
    Diamond,
    FailFast,
    Policies,
    Sequential,
    Skip,
    Wide,
    gate,
)


class RecordingStore:
    """The real store, plus a log of what every write left in the record."""

    def __init__(self, inner: PocketBaseTaskStore) -> None:
        self.inner = inner
        self.applied: list[TaskRecord] = []
        self._batch = asyncio.Lock()

    async def sync(self, task_id: str, patch: TaskPatch) -> SyncOutcome:
        outcome = await self.inner.sync(task_id, patch)
        if outcome.applied:
            self.applied.append(outcome.record)
        return outcome

    async def sync_many(self, items: Sequence[SyncItem]) -> list[SyncResult]:
        """One item at a time through `sync`, so every write's record is seen (the batch route
        itself is covered by the store contract tests). Reads through this store wait for the
        whole batch, as they would for the route's one transaction: a task's final status and
        its last error entries can share a batch, and no reader may see one without the other."""
        results = []
        async with self._batch:
            for item in items:
                outcome = await self.sync(item.task_id, item.patch)
                results.append(
                    SyncResult(
                        task_id=item.task_id,
                        applied=outcome.applied,
                        reason=outcome.reason,
                        seq=outcome.record.seq,
                    )
                )
        return results

    async def get(self, task_id: str) -> TaskRecord | None:
        async with self._batch:
            return await self.inner.get(task_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest_asyncio.fixture
async def tasks(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> AsyncIterator[TaskClient]:
    RUNS.clear()
    GATES.clear()
    STORE.clear()
    recording = RecordingStore(task_store)
    async with running_worker(
        temporal_client,
        recording,
        Sequential,
        Diamond,
        Policies,
        Skip,
        FailFast,
        Wide,  # type: ignore[arg-type]
    ) as client:
        yield client
    STORE.clear()


async def test_sequential_flow_result_and_progress(
    tasks: TaskClient, task_store: PocketBaseTaskStore
) -> None:
    STORE["s"] = task_store
    await tasks.start("tf-sequential", workspace_id="ws", task_id="seq1")
    record = await tasks.wait("seq1")
    assert record.status == TaskStatus.SUCCESS
    result = record.result
    assert result["completedSteps"] == ["fetch", "shrink", "store"]
    assert result["failedSteps"] == [] and result["currentStep"] is None
    assert (result["totalSteps"], result["completedCount"], result["failedCount"]) == (3, 3, 0)
    assert result["startedAt"] and result["completedAt"]
    for name in ("fetch", "shrink", "store"):
        step = result["steps"][name]
        assert step["status"] == "completed" and step["attempts"] == 1
        assert step["startedAt"] <= step["completedAt"]
    assert result["steps"]["shrink"]["data"] == {"step": "shrink", "deps": ["fetch"]}
    progress = [r.progress for r in tasks.store.applied if r.id == "seq1"]  # type: ignore[attr-defined]
    assert progress == sorted(progress), progress  # never backwards
    # The first step running (the 0.05 bonus), then each completed step counted: by its own
    # report (33, 66, 99), or, when the workflow's snapshot joined the report while it waited
    # for its request, with the next step running (35, 68); the last may come with SUCCESS.
    assert (progress[0], progress[-1]) == (1, 100), progress
    assert set(progress[1:-1]) <= {33, 35, 66, 68, 99}, progress
    assert {33, 35} & set(progress) and {66, 68} & set(progress), progress
    assert all(p < 100 for p in progress[:-1])  # 100 only with SUCCESS
    statuses = [r.status for r in tasks.store.applied if r.id == "seq1"]  # type: ignore[attr-defined]
    assert statuses[-1] == TaskStatus.SUCCESS and set(statuses[:-1]) == {TaskStatus.RUNNING}


async def test_parallel_branches_really_overlap(tasks: TaskClient) -> None:
    await tasks.start("tf-diamond", workspace_id="ws", task_id="dia1")
    record = await tasks.wait("dia1")
    assert record.status == TaskStatus.SUCCESS, record.error_log
    steps = record.result["steps"]
    assert steps["left"]["data"] == "left met right"
    assert steps["right"]["data"] == "right met left"
    assert steps["join"]["data"]["deps"] == ["left", "right"]


async def test_step_fails_twice_then_succeeds(tasks: TaskClient) -> None:
    await tasks.start(
        "tf-sequential", workspace_id="ws", input={"failTimes": {"shrink": 2}}, task_id="re1"
    )
    record = await tasks.wait("re1")
    assert record.status == TaskStatus.SUCCESS
    assert record.result["steps"]["shrink"]["attempts"] == 3
    assert record.attempts == 5  # a flow's attempts: every step attempt of the run (1 + 3 + 1)
    assert [(e.step, e.attempt, e.final) for e in record.errors] == [
        ("shrink", 1, False),
        ("shrink", 2, False),
    ]
    assert RUNS["re1:fetch"] == 1 and RUNS["re1:store"] == 1


async def test_policy_fail_cancels_siblings_and_starts_nothing(tasks: TaskClient) -> None:
    data = {"failTimes": {"a": 9}, "block": ["slow"]}
    await tasks.start("tf-fail", workspace_id="ws", input=data, task_id="pf1")
    record = await tasks.wait("pf1")
    assert record.status == TaskStatus.FAILED
    steps = record.result["steps"]
    assert steps["a"]["status"] == "failed" and steps["a"]["attempts"] == 3
    assert steps["slow"]["status"] == "cancelled"  # the running sibling was stopped
    assert steps["after"]["status"] == "skipped" and "pf1:after" not in RUNS
    assert record.result["failedSteps"] == ["a"]
    assert len(record.errors) == 3


async def test_policy_ignore_runs_dependents(tasks: TaskClient) -> None:
    await tasks.start(
        "tf-policies", workspace_id="ws", input={"failTimes": {"b": 9}}, task_id="pi1"
    )
    record = await tasks.wait("pi1")
    assert record.status == TaskStatus.SUCCESS
    assert record.result["failedSteps"] == ["b"]
    assert record.result["completedSteps"] == ["a", "c", "d", "e"]
    assert record.progress == 100


async def test_policy_skip_dependents_lets_other_branches_finish(tasks: TaskClient) -> None:
    await tasks.start("tf-skip", workspace_id="ws", input={"failTimes": {"b": 9}}, task_id="ps1")
    record = await tasks.wait("ps1")
    assert record.status == TaskStatus.FAILED
    steps = record.result["steps"]
    assert steps["c"]["status"] == "skipped" and "ps1:c" not in RUNS
    assert steps["d"]["status"] == steps["e"]["status"] == "completed"
    assert record.result["failedSteps"] == ["b"]
    assert record.progress < 100


async def test_recoverable_failed_step_result_is_not_retried(tasks: TaskClient) -> None:
    await tasks.start("tf-policies", workspace_id="ws", input={"failSoft": ["b"]}, task_id="soft1")
    record = await tasks.wait("soft1")
    assert RUNS["soft1:b"] == 1  # no retry
    assert record.result["steps"]["b"]["status"] == "failed"
    assert record.result["steps"]["b"]["error"] == "nothing to do"
    assert record.status == TaskStatus.SUCCESS  # b's policy is ignore
    assert [(e.step, e.error_type) for e in record.errors] == [("b", "StepFailed")]


async def test_cancel_mid_flow(tasks: TaskClient) -> None:
    await tasks.start(
        "tf-sequential", workspace_id="ws", input={"block": ["shrink"]}, task_id="can1"
    )
    await asyncio.wait_for(gate("can1:shrink:started").wait(), 20)
    assert await tasks.cancel("can1")
    record = await tasks.wait("can1")
    assert record.status == TaskStatus.CANCELLED
    steps = record.result["steps"]
    assert steps["fetch"]["status"] == "completed"
    assert steps["shrink"]["status"] == "cancelled"
    assert steps["store"]["status"] == "pending" and "can1:store" not in RUNS
    # A cancelled step is not finished: fetch done and shrink running was floor(105 / 3); the
    # cancel leaves it there (it used to count shrink as done: 66, and 99 for a one-step flow).
    assert record.progress == 35


async def test_rerun_skips_completed_steps(tasks: TaskClient) -> None:
    await tasks.start(
        "tf-sequential", workspace_id="ws", input={"failTimes": {"store": 3}}, task_id="rr1"
    )
    failed = await tasks.wait("rr1")
    assert failed.status == TaskStatus.FAILED
    assert (RUNS["rr1:fetch"], RUNS["rr1:shrink"], RUNS["rr1:store"]) == (1, 1, 3)
    outcome = await tasks.rerun("rr1")
    assert outcome.outcome == "started"
    again = await tasks.wait("rr1")
    # store fails on attempts 1-3 of every run: the rerun fails again, but repeats nothing done
    assert (RUNS["rr1:fetch"], RUNS["rr1:shrink"], RUNS["rr1:store"]) == (1, 1, 6)
    assert again.status == TaskStatus.FAILED
    assert len(again.errors) == 6  # the error log keeps the first run's entries too
    assert again.run_id != failed.run_id


async def test_wide_fan_out_of_200_steps(
    tasks: TaskClient, task_store: PocketBaseTaskStore
) -> None:
    await tasks.start("tf-wide", workspace_id="ws", task_id="wide1")
    record = await asyncio.wait_for(tasks.wait("wide1"), 120)
    assert record.status == TaskStatus.SUCCESS
    assert record.result["completedCount"] == 201 and record.result["totalSteps"] == 201
    fresh = await task_store.get("wide1")
    assert fresh is not None and fresh.result == record.result  # stored whole, not cut


def test_base_parent_processor_warns() -> None:
    from durable_tasks.flow import BaseParentProcessor

    with pytest.warns(DeprecationWarning, match="BaseFlowProcessor"):

        class Legacy(BaseParentProcessor[Any]):  # noqa: F841
            pass
