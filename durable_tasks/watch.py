"""Following one task record as it changes: in order, without gaps, across reconnects.

    watcher = TaskWatcher(store, PocketBaseRealtime.from_settings(settings))
    async for record in watcher.subscribe(task_id):   # the current record first, then changes
        print(record.status, record.progress)         # ends after a final status

A `RecordSource` is the transport: it yields `SUBSCRIBED` once its subscription is live, then
records as they change, and ends or raises when the connection drops. `TaskWatcher` adds what
every subscriber needs (DESIGN.md): realtime events can arrive out of order under concurrent
writes and are not replayed after a reconnect, so it

- orders by the record's `seq` (which grows with every accepted write) and drops anything not
  newer than what it already gave out;
- refetches the record through the `TaskStore` every time a subscription goes live, *after*
  subscribing, so a write made while disconnected is never missed (one made in between arrives
  twice and is dropped once);
- reconnects with a bounded exponential backoff, and gives up only after `give_up_after`
  seconds without a working subscription.

`PocketBaseRealtime` speaks PocketBase's realtime protocol (server-sent events on
`/api/realtime`) with plain httpx, as the superuser: the PocketBase SDK's realtime client runs in
a thread and stops for good on any error, and the SDK stays confined to the task store.
`PollingSource` reads the record through the store at a fixed interval, for where server-sent
events cannot pass (some proxies buffer them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

import httpx

from durable_tasks.errors import (
    StorePermanentError,
    StoreUnavailableError,
    TaskNotFoundError,
)
from durable_tasks.models import TaskRecord

if TYPE_CHECKING:
    from durable_tasks.settings import Settings
    from durable_tasks.store import TaskStore

__all__ = [
    "SUBSCRIBED",
    "Backoff",
    "PocketBaseRealtime",
    "PollingSource",
    "RealtimeError",
    "RecordSource",
    "TaskWatcher",
]

log = logging.getLogger("durable_tasks.watch")


class _Subscribed:
    """The type of `SUBSCRIBED`."""

    def __repr__(self) -> str:
        return "SUBSCRIBED"


SUBSCRIBED: Final = _Subscribed()
"""Yielded by a source once its subscription is live: the watcher refetches the record then."""


class RealtimeError(StoreUnavailableError):
    """The realtime connection broke or spoke nonsense; the watcher reconnects."""


class RecordSource(Protocol):
    """A transport that delivers the changes of one task record (see the module docstring)."""

    def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | _Subscribed, None]:
        """`SUBSCRIBED` once the subscription is live, then each new version of the record."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: `initial`, doubling up to `maximum`, with jitter (never 0 apart)."""

    initial: float = 0.2
    maximum: float = 5.0
    factor: float = 2.0

    def delay(self, failures: int) -> float:
        """The wait before reconnect number `failures` (1-based) since the last success."""
        base = min(self.maximum, self.initial * self.factor ** max(failures - 1, 0))
        return base * random.uniform(0.5, 1.0)


_RECONNECTABLE = (httpx.HTTPError, StoreUnavailableError, OSError)


class TaskWatcher:
    """Ordered, gap-free following of task records over a `RecordSource` (module docstring)."""

    def __init__(
        self,
        store: TaskStore,
        source: RecordSource | None = None,
        *,
        backoff: Backoff = Backoff(),
        give_up_after: float | None = 60.0,
    ) -> None:
        self.store = store
        self.source = source or PollingSource(store)
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.connections = 0
        """Subscriptions that went live so far (1 + the reconnects), for tests and logs."""

    async def subscribe(
        self, task_id: str, *, until_final: bool = True
    ) -> AsyncGenerator[TaskRecord, None]:
        """The record now, then every newer version in `seq` order.

        Ends after a final status when `until_final` (the default). Raises `TaskNotFoundError`
        if the task has no record (or it is deleted), and `StoreUnavailableError` when no
        subscription could be made for `give_up_after` seconds.
        """
        last_seq = -1
        failures = 0
        outage_since: float | None = None
        while True:
            try:
                async with aclosing(self.source.changes(task_id)) as changes:
                    async for item in changes:
                        if isinstance(item, _Subscribed):
                            self.connections += 1
                            failures, outage_since = 0, None
                            record = await self.store.get(task_id)
                            if record is None:
                                raise TaskNotFoundError(f"no task {task_id!r}")
                        else:
                            record = item
                        if record.seq <= last_seq:
                            continue  # late or a duplicate: this version or a newer one is out
                        last_seq = record.seq
                        yield record
                        if until_final and record.status.is_final:
                            return
                reason = "the stream ended"
            except _RECONNECTABLE as err:
                reason = f"{type(err).__name__}: {err}"
            failures += 1
            now = time.monotonic()
            outage_since = outage_since if outage_since is not None else now
            if self.give_up_after is not None and now - outage_since > self.give_up_after:
                raise StoreUnavailableError(
                    f"lost the subscription to task {task_id} and could not get it back for "
                    f"{self.give_up_after:g} s ({reason}); check that PocketBase is running"
                )
            delay = self.backoff.delay(failures)
            log.info("task %s: %s; reconnecting in %.1f s", task_id, reason, delay)
            await asyncio.sleep(delay)


class PollingSource:
    """Reads the record through the store every `interval` seconds (no server push needed)."""

    def __init__(self, store: TaskStore, *, interval: float = 0.5) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.store = store
        self.interval = interval

    async def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | _Subscribed, None]:
        yield SUBSCRIBED
        while True:
            await asyncio.sleep(self.interval)
            record = await self.store.get(task_id)
            if record is None:
                raise TaskNotFoundError(f"task {task_id!r} was deleted")
            yield record


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
        collection: str = "tasks",
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

    async def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | _Subscribed, None]:
        topic = f"{self.collection}/{task_id}"
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
                        payload = _json(data)
                        if payload.get("action") == "delete":
                            raise TaskNotFoundError(f"task {task_id!r} was deleted")
                        if not isinstance(payload.get("record"), dict):
                            raise RealtimeError(f"malformed {topic} event: no record")
                        yield _record_from_json(payload["record"])

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


def _record_from_json(data: dict[str, Any]) -> TaskRecord:
    """A record as PocketBase sends it (empty dates are "", empty JSON null) to a TaskRecord."""
    fixed = dict(data)
    for name in ("startedAt", "completedAt"):
        fixed[name] = fixed.get(name) or None
    fixed["errors"] = fixed.get("errors") or []
    return TaskRecord.model_validate(fixed)
