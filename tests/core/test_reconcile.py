"""Guarantee 5: a workflow that ends without running its code does not leave RUNNING behind."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from durable_tasks.context import TaskContext
from durable_tasks.models import SimpleJobData, TaskPatch, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.reconcile import reconcile
from durable_tasks.store import SyncItem, SyncResult
from durable_tasks.sync import SyncWriter
from durable_tasks.testing import running_worker
from tests.support.waiting import eventually

STARTED: dict[str, asyncio.Event] = {}


class Stuck(BaseSimpleProcessor[SimpleJobData]):
    """Never finishes on its own (heartbeats keep it alive)."""

    name = "stuck"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> None:
        STARTED.setdefault(ctx.task_id, asyncio.Event()).set()
        await asyncio.Event().wait()


async def _running(store: PocketBaseTaskStore, task_id: str) -> bool:
    record = await store.get(task_id)
    return record is not None and record.status == TaskStatus.RUNNING and bool(record.run_id)


async def test_terminated_and_timed_out_workflows_are_repaired(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    async with running_worker(temporal_client, task_store, Stuck) as tasks:
        STARTED["term"] = asyncio.Event()
        await tasks.start("stuck", workspace_id="ws", task_id="term")
        await asyncio.wait_for(STARTED["term"].wait(), 20)
        await eventually(lambda: _running(task_store, "term"))
        # A task still running is left alone.
        assert await reconcile(temporal_client, task_store) == []

        await tasks.handle("term").terminate(reason="operator pulled the plug")
        await tasks.start("stuck", workspace_id="ws", task_id="late", timeout=timedelta(seconds=1))
        await eventually(lambda: _running(task_store, "late"))
        await tasks.wait("late")  # returns when the execution timeout has fired
        for task_id in ("term", "late"):
            record = await task_store.get(task_id)
            assert record is not None and record.status == TaskStatus.RUNNING  # nobody wrote

        dry = await reconcile(temporal_client, task_store, dry_run=True)
        assert sorted((r.task_id, r.workflow_status) for r in dry) == [
            ("late", "TIMED_OUT"),
            ("term", "TERMINATED"),
        ]
        assert (await task_store.get("term")).status == TaskStatus.RUNNING  # type: ignore[union-attr]

        repairs = await reconcile(temporal_client, task_store)
        assert {r.task_id for r in repairs} == {"term", "late"}
        for task_id, kind in (("term", "WorkflowTerminated"), ("late", "WorkflowTimedOut")):
            record = await task_store.get(task_id)
            assert record is not None and record.status == TaskStatus.FAILED
            assert record.completed_at is not None
            assert record.errors[-1].error_type == kind and record.errors[-1].final
        assert await reconcile(temporal_client, task_store) == []  # idempotent


class Answer(BaseSimpleProcessor[SimpleJobData]):
    name = "answer"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> dict[str, int]:
        return {"answer": 42}


class LosesFinalStates:
    """The real store, except that final states never arrive: a worker that died after its
    workflow closed, with PocketBase down, before its writer could send the final state."""

    def __init__(self, inner: PocketBaseTaskStore) -> None:
        self.inner = inner

    async def sync_many(self, items: Sequence[SyncItem]) -> list[SyncResult]:
        kept = [i for i in items if i.patch.status is None or not i.patch.status.is_final]
        await self.inner.sync_many(kept)
        return [SyncResult(task_id=i.task_id, applied=True, reason="applied") for i in items]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_completed_workflow_whose_final_state_was_lost_is_repaired_with_its_result(
    temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    writer = SyncWriter(LosesFinalStates(task_store))  # type: ignore[arg-type]
    async with running_worker(temporal_client, task_store, Answer, writer=writer) as tasks:
        await tasks.start("answer", workspace_id="ws", task_id="lost-final")
        assert await tasks.handle("lost-final").result() == {"answer": 42}
        await eventually(lambda: _running(task_store, "lost-final"))
    record = await task_store.get("lost-final")
    assert record is not None and record.status == TaskStatus.RUNNING  # the final state was lost

    repairs = await reconcile(temporal_client, task_store)
    assert [(r.task_id, r.workflow_status) for r in repairs] == [("lost-final", "COMPLETED")]
    record = await task_store.get("lost-final")
    assert record is not None and record.status == TaskStatus.SUCCESS
    assert record.result == {"answer": 42} and record.progress == 100


async def test_a_record_whose_ids_temporal_refuses_is_left_alone_and_the_rest_repaired(
    temporal_dev_env: WorkflowEnvironment, task_store: PocketBaseTaskStore
) -> None:
    """A run id edited by hand (not one Temporal could have made): the real server answers
    INVALID_ARGUMENT (the time-skipping one, NOT_FOUND). That record is reported in the log
    and skipped; the pass goes on."""
    temporal_client = temporal_dev_env.client
    for task_id, run_id in (
        ("edited", "not-a-run-id"),
        ("gone", "0f7f4b3e-0000-4000-8000-000000000000"),
    ):
        await task_store.create(task_id=task_id, workspace_id="ws", type="stuck", input=None)
        await task_store.sync(
            task_id, TaskPatch(run_id=run_id, new_run=True, status=TaskStatus.RUNNING)
        )
    repairs = await reconcile(temporal_client, task_store)
    assert [(r.task_id, r.workflow_status) for r in repairs] == [("gone", "NOT_FOUND")]
    edited = await task_store.get("edited")
    assert edited is not None and edited.status == TaskStatus.RUNNING
