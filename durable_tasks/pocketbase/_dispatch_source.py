"""`PocketBaseDispatchSource`: task records and task types on PocketBase, for the dispatcher.

REST goes through `PocketBaseClient` (threads, login, retries, our exceptions); the live feed
is `PocketBaseRealtime`'s connection, subscribed to `tasks` as the superuser with the sweep's
filter and fields: PocketBase sends a worker only the changes it may act on (a task created
PENDING, a cancel or a rerun asked for), not every state write of every running task.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from durable_tasks.dispatch import RECONNECTED, Reconnected, TaskRequest, TaskType
from durable_tasks.pocketbase._client import IdTaken, NotFound, PocketBaseClient, Request
from durable_tasks.pocketbase._realtime import PocketBaseRealtime
from durable_tasks.pocketbase._records import TASKS, path_id
from durable_tasks.watch import Subscribed

if TYPE_CHECKING:
    from durable_tasks.settings import Settings

TASK_TYPES = "task_types"
_TASKS = f"/api/collections/{TASKS}/records"
_TYPES = f"/api/collections/{TASK_TYPES}/records"
_ACTIONABLE = (
    "status = 'PENDING' || rerunRequested = true || (cancelRequested = true && status = 'RUNNING')"
)
_FIELDS = "id,workspaceId,type,status,input,cancelRequested,rerunRequested,seq"
_LIVE_TOPIC = f"{TASKS}/*?options=" + quote(
    json.dumps({"query": {"filter": _ACTIONABLE, "fields": _FIELDS}}, separators=(",", ":"))
)
"""Every record of `tasks`, filtered and trimmed by PocketBase as a sweep's page is."""


def type_record_id(name: str) -> str:
    """The `task_types` record id of a type: 15 hex digits of its name's hash, so every worker
    upserts the same record without looking it up first."""
    return hashlib.sha256(name.encode()).hexdigest()[:15]


class PocketBaseDispatchSource:
    """The dispatcher's `DispatchSource` (durable_tasks.dispatch) on PocketBase, as a superuser.

    Args:
        url, email, password: the server and a superuser (POCKETBASE_ADMIN_EMAIL / _PASSWORD).
        **options: `PocketBaseClient`'s (`timeout`, `retry_for`, `max_workers`, `token`).
    """

    def __init__(self, url: str, email: str, password: str, **options: Any) -> None:
        self._pb = PocketBaseClient(url, email, password, **options)
        self._realtime = PocketBaseRealtime(url, email, password)
        self.url = self._pb.url

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseDispatchSource:
        """A source for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def publish_types(self, types: Sequence[TaskType]) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"  # PocketBase's form
        for task_type in types:
            body = task_type.model_dump(mode="json", exclude={"last_seen"})
            body["lastSeen"] = now
            record_id = type_record_id(task_type.name)
            path = f"{_TYPES}/{record_id}"
            what = f"publish task type {task_type.name}"
            try:
                await self._pb.send(Request("PATCH", path, what, body=body))
                continue
            except NotFound:
                pass
            try:
                await self._pb.send(Request("POST", _TYPES, what, body={"id": record_id, **body}))
            except IdTaken:  # another worker created it in between
                await self._pb.send(Request("PATCH", path, what, body=body))

    async def task_types(self) -> list[TaskType]:
        params = {"page": 1, "perPage": 500, "skipTotal": 1, "sort": "name"}
        data = await self._pb.send(Request("GET", _TYPES, "list task types", params=params))
        return [_task_type(item) for item in data["items"]]

    async def actionable(self, *, page: int, per_page: int) -> list[TaskRequest]:
        params = {
            "page": page,
            "perPage": per_page,
            "skipTotal": 1,
            "sort": "created,id",
            "filter": _ACTIONABLE,
            "fields": _FIELDS,
        }
        data = await self._pb.send(Request("GET", _TASKS, "list tasks to dispatch", params=params))
        return [TaskRequest.model_validate(item) for item in data["items"]]

    async def claim_rerun(self, task_id: str) -> bool:
        path = f"/api/durable-tasks/tasks/{path_id(task_id)}/claim-rerun"
        try:
            data = await self._pb.send(Request("POST", path, f"claim the rerun of {task_id}"))
        except NotFound:
            return False
        return bool(data.get("claimed"))

    async def changes(self) -> AsyncGenerator[TaskRequest | Reconnected, None]:
        async with aclosing(self._realtime.topic_events(_LIVE_TOPIC)) as events:
            async for event in events:
                if isinstance(event, Subscribed):
                    yield RECONNECTED
                elif event.get("action") in ("create", "update") and isinstance(
                    event.get("record"), dict
                ):
                    yield TaskRequest.model_validate(event["record"])

    async def close(self) -> None:
        await self._pb.close()


def _task_type(item: dict[str, Any]) -> TaskType:
    fixed = dict(item)
    fixed["lastSeen"] = fixed.get("lastSeen") or None
    fixed["inputSchema"] = fixed.get("inputSchema") or {}
    fixed["steps"] = fixed.get("steps") or []
    return TaskType.model_validate(fixed)
