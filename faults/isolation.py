"""Isolation probes through PocketBase's own API, as a front end of workspace A would send them.

User A tries to read, list, filter, sort, expand, create, update and delete workspace B's
tasks, and to move itself into workspace B. Each probe is correct when PocketBase refuses it
(or answers without any of B's data).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from faults.scenarios import Outcome
from faults.stack import Stack

RECORDS = "/api/collections/tasks/records"


def _ids(response: httpx.Response) -> set[str]:
    if response.status_code != 200:
        return set()
    return {item["id"] for item in response.json().get("items", [])}


async def isolation(stack: Stack) -> Outcome:
    began = time.monotonic()
    b_ids = set()
    for i in range(3):
        task_id = f"isob{i}{int(time.time())}"[:15]
        await stack.store.create(task_id=task_id, workspace_id="iso-b", type="fault-task", input={})
        b_ids.add(task_id)
    b1 = sorted(b_ids)[0]
    api = stack.pocketbase_api()
    alice = api.user_client("iso-a")
    me = alice.get("/api/collections/users/records").json()["items"][0]["id"]

    def denied(response: httpx.Response) -> bool:
        return response.status_code in (400, 401, 403, 404) or not (_ids(response) & b_ids)

    probes: list[tuple[str, Callable[[], bool]]] = [
        ("view", lambda: alice.get(f"{RECORDS}/{b1}").status_code == 404),
        ("list", lambda: not _ids(alice.get(RECORDS, params={"perPage": 500})) & b_ids),
        ("filter", lambda: denied(alice.get(RECORDS, params={"filter": "workspaceId='iso-b'"}))),
        ("filter by id", lambda: denied(alice.get(RECORDS, params={"filter": f"id='{b1}'"}))),
        ("filter or", lambda: denied(alice.get(RECORDS, params={"filter": "id!='' || workspaceId='iso-b'"}))),
        ("sort", lambda: denied(alice.get(RECORDS, params={"sort": "-workspaceId"}))),
        ("expand", lambda: denied(alice.get(RECORDS, params={"expand": "workspaceId"}))),
        ("fields", lambda: denied(alice.get(RECORDS, params={"fields": "id,input,workspaceId"}))),
        ("update", lambda: alice.patch(f"{RECORDS}/{b1}", json={"status": "FAILED"}).status_code >= 400),
        ("delete", lambda: alice.delete(f"{RECORDS}/{b1}").status_code >= 400),
        ("create in B", lambda: alice.post(RECORDS, json={"workspaceId": "iso-b", "type": "x"}).status_code >= 400),
        ("move self to B", lambda: alice.patch(f"/api/collections/users/records/{me}", json={"workspaceId": "iso-b"}).status_code >= 400),
        ("batch update", lambda: alice.post("/api/batch", json={"requests": [{"method": "PATCH", "url": f"{RECORDS}/{b1}", "body": {"status": "FAILED"}}]}).status_code >= 400),
    ]  # fmt: skip
    correct = 0
    try:
        for _, probe in probes:
            correct += probe()
        record = await stack.store.get(b1)
        intact = record is not None and record.status.value == "PENDING"
    finally:
        alice.close()
    note = "as a workspace user, through the REST API" + ("" if intact else "; B's record changed!")
    return Outcome(
        "isolation probes", len(probes), correct if intact else 0, 0, time.monotonic() - began, note
    )
