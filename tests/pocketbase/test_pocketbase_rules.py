"""Guarantee 8 and the schema's own guards, checked through PocketBase's public API.

A front end talks to PocketBase directly with a user's token, so these tests do too: users of
two workspaces, anonymous callers, and a superuser editing records by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from durable_tasks.models import ErrorLogEntry, TaskPatch, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.testing import PocketBaseServer

RECORDS = "/api/collections/tasks/records"
UserClient = Callable[[str], httpx.Client]


@pytest.fixture
async def two_workspaces(task_store: PocketBaseTaskStore) -> PocketBaseTaskStore:
    """Tasks a1, a2 in workspace A and b1 in workspace B."""
    for task_id, workspace in [("a1", "ws-a"), ("a2", "ws-a"), ("b1", "ws-b")]:
        await task_store.create(task_id=task_id, workspace_id=workspace, type="demo", input={})
    return task_store


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


def me(client: httpx.Client) -> dict[str, Any]:
    """The user's own record (the users list rule shows a user only themselves)."""
    response = client.get("/api/collections/users/records")
    assert response.status_code == 200, response.text
    (record,) = response.json()["items"]
    return dict(record)


async def test_a_user_sees_only_their_workspace(
    two_workspaces: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    alice = workspace_client("ws-a")
    assert ids(alice.get(RECORDS)) == ["a1", "a2"]
    # Asking for the other workspace explicitly changes nothing.
    assert ids(alice.get(RECORDS, params={"filter": "workspaceId = 'ws-b'"})) == []
    assert alice.get(f"{RECORDS}/a1").status_code == 200
    assert alice.get(f"{RECORDS}/b1").status_code == 404

    bob = workspace_client("ws-b")
    assert ids(bob.get(RECORDS)) == ["b1"]
    assert bob.get(f"{RECORDS}/a1").status_code == 404


async def test_realtime_delivers_only_the_users_workspace(
    two_workspaces: PocketBaseTaskStore,
    workspace_client: UserClient,
    pocketbase_server: PocketBaseServer,
) -> None:
    """Subscriptions follow the list/view rules: B's changes never reach A's subscriber."""
    store = two_workspaces
    alice = workspace_client("ws-a")
    async with realtime(pocketbase_server.url, alice.headers["Authorization"], "tasks") as events:
        # B's writes are interleaved before A's: had they been sent, they would be here too.
        for task_id in ["b1", "a1", "b1", "a2"]:
            await store.sync(task_id, TaskPatch(run_id="r1", progress=10))
        received = [await asyncio.wait_for(events.get(), 10) for _ in range(2)]
        await store.sync("a1", TaskPatch(run_id="r1", progress=20))  # a last one, as a marker
        received.append(await asyncio.wait_for(events.get(), 10))
    assert sorted((e["action"], e["record"]["id"]) for e in received) == [
        ("update", "a1"),
        ("update", "a1"),
        ("update", "a2"),
    ]
    assert events.empty()


async def test_a_user_cannot_move_to_another_workspace(
    two_workspaces: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    alice = workspace_client("ws-a")
    own = me(alice)
    url = f"/api/collections/users/records/{own['id']}"

    moved = alice.patch(url, json={"workspaceId": "ws-b"})
    assert moved.status_code == 404, moved.text  # how PocketBase answers a failed update rule
    assert me(alice)["workspaceId"] == "ws-a"
    assert ids(alice.get(RECORDS)) == ["a1", "a2"]
    # The rule blocks that field only: the rest of the profile stays editable.
    assert alice.patch(url, json={"name": "Alice"}).status_code == 200


async def test_anonymous_callers_see_nothing(
    two_workspaces: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    with httpx.Client(base_url=pocketbase_server.url) as anonymous:
        assert ids(anonymous.get(RECORDS)) == []
        assert anonymous.get(f"{RECORDS}/a1").status_code == 404


def test_public_sign_up_is_closed(pocketbase_server: PocketBaseServer) -> None:
    with httpx.Client(base_url=pocketbase_server.url) as anonymous:
        response = anonymous.post(
            "/api/collections/users/records",
            json={
                "email": "mallory@example.com",
                "password": "correct-horse-battery",
                "passwordConfirm": "correct-horse-battery",
                "workspaceId": "ws-a",
            },
        )
    assert response.status_code == 403, response.text


async def test_users_cannot_write_tasks(
    two_workspaces: PocketBaseTaskStore, workspace_client: UserClient
) -> None:
    alice = workspace_client("ws-a")
    before = await two_workspaces.get("a1")

    # Creating a PENDING task is a user's right now (test_front_end_rules.py); a finished one,
    # or execution state on their own task, never.
    created = alice.post(
        RECORDS, json={"id": "a9", "workspaceId": "ws-a", "type": "demo", "status": "SUCCESS"}
    )
    updated = alice.patch(f"{RECORDS}/a1", json={"status": "SUCCESS", "progress": 100})
    deleted = alice.delete(f"{RECORDS}/a1")
    synced = alice.post("/api/durable-tasks/tasks/a1/sync", json={"runId": "x", "status": "FAILED"})

    assert [r.status_code for r in (created, updated, deleted)] == [400, 404, 403]
    assert synced.status_code == 403  # the sync route is for superusers only
    assert await two_workspaces.get("a9") is None
    assert await two_workspaces.get("a1") == before


async def test_hand_edits_cannot_undo_a_final_status_or_lower_progress(
    two_workspaces: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    store = two_workspaces
    await store.sync("a1", TaskPatch(run_id="r1", new_run=True, status=TaskStatus.RUNNING))
    await store.sync("a1", TaskPatch(run_id="r1", progress=60))
    await store.sync("a2", TaskPatch(run_id="r1", status=TaskStatus.FAILED))

    with pocketbase_server.admin_client() as admin:
        lower = admin.patch(f"{RECORDS}/a1", json={"progress": 10})
        revived = admin.patch(f"{RECORDS}/a2", json={"status": "RUNNING"})
        assert (lower.status_code, revived.status_code) == (400, 400)
        assert "progress never goes back" in lower.json()["message"].lower()
        assert "final" in revived.json()["message"]
        assert (await store.get("a1")).progress == 60  # type: ignore[union-attr]
        assert (await store.get("a2")).status == TaskStatus.FAILED  # type: ignore[union-attr]

        # Allowed edits go through and count as a new version, like any accepted write.
        seq = (await store.get("a1")).seq  # type: ignore[union-attr]
        raised = admin.patch(f"{RECORDS}/a1", json={"progress": 70})
        assert raised.status_code == 200, raised.text
        assert raised.json()["seq"] == seq + 1
        # A new run starts over, so the same edit under another runId is fine.
        rerun = admin.patch(f"{RECORDS}/a2", json={"status": "RUNNING", "runId": "manual"})
        assert rerun.status_code == 200, rerun.text


async def test_a_hand_edit_of_a_record_that_changed_since_it_was_loaded_is_refused(
    two_workspaces: PocketBaseTaskStore, pocketbase_server: PocketBaseServer
) -> None:
    """The dashboard sends every field it loaded, `seq` included: when a worker wrote since,
    the edit would put back stale fields (an error entry, a cleared rerun flag), so it is
    refused by name, and the same edit on a fresh load goes through."""
    store = two_workspaces
    await store.sync("a1", TaskPatch(run_id="r1", new_run=True, status=TaskStatus.RUNNING))
    with pocketbase_server.admin_client() as admin:
        loaded = admin.get(f"{RECORDS}/a1").json()
        entry = ErrorLogEntry(
            key="a1:step:1", timestamp=datetime.now(UTC), step="step", attempt=1,
            error_type="Flaky", message="will retry",
        )  # fmt: skip
        # A worker's write lands: an error entry, progress unchanged, so nothing else refuses
        # the stale edit; without the check it would erase the entry.
        await store.sync("a1", TaskPatch(run_id="r1", attempts=1, error=entry))
        stale = admin.patch(f"{RECORDS}/a1", json={**loaded, "cancelRequested": True})
        assert stale.status_code == 400, stale.text
        assert stale.json()["message"].lower().startswith("seq: the record changed since it was")
        after = await store.get("a1")
        assert after is not None and [e.key for e in after.errors] == ["a1:step:1"]
        assert after.seq == loaded["seq"] + 1

        fresh = admin.get(f"{RECORDS}/a1").json()
        edited = admin.patch(f"{RECORDS}/a1", json={**fresh, "cancelRequested": True})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["attempts"], edited.json()["seq"]) == (1, fresh["seq"] + 1)
        assert edited.json()["cancelRequested"] is True
        kept = await store.get("a1")
        assert kept is not None and [e.key for e in kept.errors] == ["a1:step:1"]


@contextlib.asynccontextmanager
async def realtime(url: str, token: str, topic: str) -> AsyncIterator[asyncio.Queue[Any]]:
    """Subscribe to `topic` on PocketBase's realtime (SSE) endpoint as the token's owner; yields
    a queue of the events' data."""
    events: asyncio.Queue[Any] = asyncio.Queue()
    subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def read(client: httpx.AsyncClient) -> None:
        async with client.stream("GET", "/api/realtime") as stream:
            async for event, data in _sse_events(stream.aiter_lines()):
                if event == "PB_CONNECT":
                    body = {"clientId": json.loads(data)["clientId"], "subscriptions": [topic]}
                    answer = await client.post(
                        "/api/realtime", json=body, headers={"Authorization": token}
                    )
                    answer.raise_for_status()
                    subscribed.set_result(None)
                elif event == topic:
                    events.put_nowait(json.loads(data))

    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(10.0, read=None)) as client:
        reader = asyncio.create_task(read(client))
        try:
            await asyncio.wait_for(asyncio.shield(subscribed), 10)
            yield events
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str]]:
    event, data = "", []
    async for line in lines:
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and event:
            yield event, "\n".join(data)
            event, data = "", []
