"""`PocketBaseRealtime`: PocketBase's realtime protocol as a `RecordSource` for `TaskWatcher`.

Plain httpx, not the SDK: the SDK's realtime client runs in a thread and stops for good on any
error, while `TaskWatcher` wants a stream that ends or raises so it can reconnect and refetch.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import httpx

from durable_tasks.errors import StorePermanentError, TaskNotFoundError
from durable_tasks.models import TaskRecord
from durable_tasks.pocketbase._records import TASKS, task_record
from durable_tasks.watch import SUBSCRIBED, RealtimeError, Subscribed

if TYPE_CHECKING:
    from durable_tasks.settings import Settings


class PocketBaseRealtime:
    """PocketBase realtime (SSE on `/api/realtime`) as a `RecordSource`, with plain httpx.

    The protocol: `GET /api/realtime` opens the stream and sends `PB_CONNECT` with a client id;
    `POST /api/realtime` with that id, the topic `tasks/<id>` and an Authorization header sets
    the subscription; every change then arrives as an event named by the topic, carrying
    `{"action": "update", "record": {...}}`. PocketBase closes streams idle for 5 minutes.

    Args:
        url: the server, e.g. `http://127.0.0.1:8090`.
        email, password: a superuser (POCKETBASE_ADMIN_EMAIL / _PASSWORD).
        collection: the collection holding task records.
        timeout: seconds to connect and for the non-streaming requests.
        idle_timeout: seconds without a byte after which the stream is presumed dead (longer
            than PocketBase's own 5-minute idle close, so that one ends the stream cleanly).
    """

    def __init__(
        self,
        url: str,
        email: str,
        password: str,
        *,
        collection: str = TASKS,
        timeout: float = 10.0,
        idle_timeout: float = 330.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._email = email
        self._password = password
        self.collection = collection
        self._timeout = httpx.Timeout(timeout, read=idle_timeout)

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> PocketBaseRealtime:
        """A source for `POCKETBASE_URL` with the superuser from the settings."""
        email, password = settings.require_pocketbase_credentials()
        return cls(settings.pocketbase_url, email, password, **options)

    async def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | Subscribed, None]:
        topic = f"{self.collection}/{task_id}"
        async with aclosing(self.topic_events(topic)) as events:
            async for event in events:
                if isinstance(event, Subscribed):
                    yield event
                    continue
                if event.get("action") == "delete":
                    raise TaskNotFoundError(f"task {task_id!r} was deleted")
                if not isinstance(event.get("record"), dict):
                    raise RealtimeError(f"malformed {topic} event: no record")
                yield task_record(event["record"])

    async def topic_events(self, topic: str) -> AsyncGenerator[dict[str, Any] | Subscribed, None]:
        """One realtime connection subscribed to `topic` (`tasks/<id>`, or `tasks/*` for every
        record) as the superuser: `SUBSCRIBED` once the subscription is live, then each event's
        payload (`{"action": ..., "record": {...}}`). Ends or raises when the connection drops."""
        async with httpx.AsyncClient(base_url=self.url, timeout=self._timeout) as http:
            token = await self._login(http)
            async with (
                http.stream("GET", "/api/realtime") as stream,
                aclosing(_sse_events(stream.aiter_lines())) as events,
            ):
                if stream.status_code != 200:
                    raise RealtimeError(f"GET /api/realtime answered HTTP {stream.status_code}")
                async for name, data in events:
                    if name == "PB_CONNECT":
                        client_id = _json(data).get("clientId")
                        if not isinstance(client_id, str):
                            raise RealtimeError("malformed PB_CONNECT event: no clientId")
                        await self._subscribe(http, token, client_id, topic)
                        yield SUBSCRIBED
                    elif name == topic:
                        yield _json(data)

    async def _login(self, http: httpx.AsyncClient) -> str:
        response = await http.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": self._email, "password": self._password},
        )
        if response.status_code in (400, 401, 403, 404):
            raise StorePermanentError(
                f"PocketBase at {self.url} refused the superuser credentials: check "
                "POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD"
            )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    async def _subscribe(
        self, http: httpx.AsyncClient, token: str, client_id: str, topic: str
    ) -> None:
        response = await http.post(
            "/api/realtime",
            json={"clientId": client_id, "subscriptions": [topic]},
            headers={"Authorization": token},
        )
        if response.status_code >= 400:
            raise RealtimeError(
                f"PocketBase refused the subscription to {topic}: HTTP {response.status_code} "
                f"{response.text[:200]}"
            )


async def _sse_events(lines: AsyncIterator[str]) -> AsyncGenerator[tuple[str, str], None]:
    """`(event name, data)` of a server-sent event stream (the parts PocketBase uses)."""
    name = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", []
        elif line.startswith(":"):
            continue  # a comment (keep-alive)
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


def _json(data: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except json.JSONDecodeError as err:
        raise RealtimeError(f"malformed realtime event: {err}") from None
    if not isinstance(value, dict):
        raise RealtimeError("malformed realtime event: not a JSON object")
    return value
