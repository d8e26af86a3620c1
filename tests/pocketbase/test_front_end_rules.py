"""What a front end may write through PocketBase's own API (pb_migrations/1700000200_front_end_api.js).

Users start tasks by creating records and ask for cancels and reruns by setting flags; every
other field is the worker's. Checked as real workspace users against a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from durable_tasks.models import ErrorLogEntry, TaskPatch, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import PocketBaseServer

RECORDS = "/api/collections/tasks/records"
TYPES = "/api/collections/task_types/records"
UserClient = Callable[[str], httpx.Client]


async def test_a_user_creates_a_pending_task_in_their_own_workspace(
    task_store: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    alice = workspace_client("ws-a")
    created = alice.post(RECORDS, json={"id": "mine-1", "type": "send-email", "input": {"x": 1}})
    assert created.status_code == 200, created.text
    body = created.json()
    assert (body["workspaceId"], body["status"], body["seq"]) == ("ws-a", "PENDING", 0)
    record = await task_store.get("mine-1")
    assert record is not None and record.input == {"x": 1}
    # Naming the own workspace and PENDING explicitly is the same request.
    explicit = alice.post(
        RECORDS,
        json={"id": "mine-2", "type": "t", "workspaceId": "ws-a", "status": "PENDING"},
    )
    assert explicit.status_code == 200, explicit.text


@pytest.mark.parametrize(
    "body",
    [
        {"workspaceId": "ws-b"},
        {"status": "RUNNING"},
        {"status": "SUCCESS"},
        {"progress": 50},
        {"result": {"forged": True}},
        {"errorLog": "x"},
        {"errors": []},
        {"attempts": 1},
        {"workflowId": "task-x"},
        {"runId": "r"},
        {"startedAt": "2026-01-01 00:00:00.000Z"},
        {"completedAt": "2026-01-01 00:00:00.000Z"},
        {"seq": 7},
        {"cancelRequested": True},
        {"rerunRequested": True},
    ],
    ids=lambda body: next(iter(body)) + "=" + str(next(iter(body.values()))),
)
async def test_a_user_cannot_create_anything_but_a_pending_task_of_their_own(
    task_store: PocketBaseTaskStore, workspace_client: UserClient, body: dict[str, Any]
) -> None:
    alice = workspace_client("ws-a")
    refused = alice.post(RECORDS, json={"id": "bad-1", "type": "t", **body})
    assert refused.status_code in (400, 403), refused.text
    assert await task_store.get("bad-1") is None


async def test_an_anonymous_caller_cannot_create_a_task(
    task_store: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    with httpx.Client(base_url=pocketbase_server.url) as anonymous:
        refused = anonymous.post(RECORDS, json={"id": "anon", "type": "t", "workspaceId": "ws-a"})
    assert refused.status_code in (400, 403), refused.text
    assert await task_store.get("anon") is None


async def test_a_user_sets_only_the_request_flags_and_only_on_their_own_tasks(
    task_store: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    for task_id, workspace in [("a1", "ws-a"), ("b1", "ws-b")]:
        await task_store.create(task_id=task_id, workspace_id=workspace, type="t", input={})
    alice = workspace_client("ws-a")

    cancel = alice.patch(f"{RECORDS}/a1", json={"cancelRequested": True})
    assert cancel.status_code == 200, cancel.text
    rerun = alice.patch(f"{RECORDS}/a1", json={"rerunRequested": True})
    assert rerun.status_code == 200, rerun.text
    assert (rerun.json()["cancelRequested"], rerun.json()["rerunRequested"]) == (True, True)

    other = alice.patch(f"{RECORDS}/b1", json={"cancelRequested": True})
    assert other.status_code == 404, other.text  # invisible, as for a read
    b1 = await task_store.get("b1")
    assert b1 is not None and b1.seq == 0

    before = await task_store.get("a1")
    for forged in [
        {"status": "SUCCESS"},
        {"progress": 100},
        {"progress+": 10},
        {"result": {"x": 1}},
        {"errorLog": "x"},
        {"errors": []},
        {"attempts": 3},
        {"workflowId": "w"},
        {"runId": "r"},
        {"startedAt": "2026-01-01 00:00:00.000Z"},
        {"completedAt": "2026-01-01 00:00:00.000Z"},
        {"seq": 99},
        {"workspaceId": "ws-b"},
        {"type": "other"},
        {"input": {"y": 2}},
        {"cancelRequested": False, "status": "CANCELLED"},
    ]:
        refused = alice.patch(f"{RECORDS}/a1", json=forged)
        assert refused.status_code in (400, 403, 404), (forged, refused.text)
    assert await task_store.get("a1") == before
    assert alice.delete(f"{RECORDS}/a1").status_code in (403, 404)


async def test_the_worker_still_writes_everything(task_store: PocketBaseTaskStore) -> None:
    """The rules bind users only: the superuser store creates and syncs as before."""
    await task_store.create(task_id="w1", workspace_id="ws-a", type="t", input={})
    outcome = await task_store.sync(
        "w1", TaskPatch(run_id="r1", new_run=True, status=TaskStatus.RUNNING, progress=10)
    )
    assert outcome.applied and outcome.record.status == TaskStatus.RUNNING


def test_task_types_are_readable_by_users_and_writable_by_superusers_only(
    pocketbase_server: PocketBaseServer, workspace_client: UserClient
) -> None:
    pocketbase_server.reset()
    alice = workspace_client("ws-a")
    entry = {"name": "probe-type", "kind": "simple", "lastSeen": "2026-01-01 00:00:00.000Z"}
    assert alice.post(TYPES, json=entry).status_code in (400, 403)
    with pocketbase_server.admin_client() as admin:
        created = admin.post(TYPES, json=entry)
        assert created.status_code == 200, created.text
        type_id = created.json()["id"]
        try:
            assert [t["name"] for t in alice.get(TYPES).json()["items"]] == ["probe-type"]
            changed = alice.patch(f"{TYPES}/{type_id}", json={"kind": "flow"})
            assert changed.status_code in (403, 404), changed.text
            assert alice.delete(f"{TYPES}/{type_id}").status_code in (403, 404)
            with httpx.Client(base_url=pocketbase_server.url) as anonymous:
                assert anonymous.get(TYPES).json()["items"] == []
        finally:
            admin.delete(f"{TYPES}/{type_id}").raise_for_status()


async def test_only_superusers_claim_a_rerun_and_only_once(
    task_store: PocketBaseTaskStore,
    workspace_client: UserClient,
    pocketbase_server: PocketBaseServer,
) -> None:
    await task_store.create(task_id="r1", workspace_id="ws-a", type="t", input={})
    alice = workspace_client("ws-a")
    assert alice.patch(f"{RECORDS}/r1", json={"rerunRequested": True}).status_code == 200
    claim = "/api/durable-tasks/tasks/r1/claim-rerun"
    assert alice.post(claim).status_code in (401, 403)
    with pocketbase_server.admin_client() as admin:
        answers = [admin.post(claim).json()["claimed"] for _ in range(3)]
    assert answers == [True, False, False]
    assert alice.get(f"{RECORDS}/r1").json()["rerunRequested"] is False


async def test_a_users_flag_never_undoes_nor_loses_to_the_workers_writes(
    task_store: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    """A user's PATCH races the worker's writes to the same record (the board's Cancel button
    while the task reports progress). PocketBase reads the record before the update hook runs,
    so the user's save must take only the flags from the request: the worker's progress and
    error entries that landed in between stay, and the user's request is never refused."""
    await task_store.create(task_id="race", workspace_id="ws-a", type="t", input={})
    await task_store.sync("race", TaskPatch(run_id="r1", new_run=True, status=TaskStatus.RUNNING))
    alice = workspace_client("ws-a")
    writes, flags = 60, 60

    def user_flags() -> list[tuple[int, bool | None]]:
        answers = []
        for i in range(flags):
            sent = i % 2 == 1  # ends on True, which no default could fake
            answer = alice.patch(f"{RECORDS}/race", json={"cancelRequested": sent})
            got = answer.json().get("cancelRequested") if answer.status_code == 200 else None
            answers.append((answer.status_code, got if got is sent else None))
        return answers

    async def worker_writes() -> None:
        for i in range(1, writes + 1):
            entry = ErrorLogEntry(
                key=f"race:step:{i}",
                timestamp=datetime.now(UTC),
                step="step",
                attempt=i,
                error_type="Flaky",
                message=f"attempt {i}",
            )
            patch = TaskPatch(run_id="r1", progress=i, attempts=i, error=entry)
            assert (await task_store.sync("race", patch)).applied

    answers, _ = await asyncio.wait_for(
        asyncio.gather(asyncio.to_thread(user_flags), worker_writes()), timeout=60
    )
    assert answers == [(200, i % 2 == 1) for i in range(flags)]
    record = await task_store.get("race")
    assert record is not None
    assert (record.status, record.progress, record.attempts) == (TaskStatus.RUNNING, writes, writes)
    assert [entry.attempt for entry in record.errors] == list(range(1, writes + 1))
    assert alice.get(f"{RECORDS}/race").json()["cancelRequested"] is True
