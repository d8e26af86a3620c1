"""Following one task record as it changes: in order, without gaps, across reconnects.

    watcher = TaskWatcher(store, PocketBaseRealtime.from_settings(settings))  # durable_tasks.pocketbase
    async for record in watcher.subscribe(task_id):   # the current record first, then changes
        print(record.status, record.progress)         # ends after a final status

A `RecordSource` is the transport: it yields `SUBSCRIBED` once its subscription is live, then
records as they change, and ends or raises when the connection drops. `TaskWatcher` adds what
every subscriber needs: realtime events can arrive out of order under concurrent
writes and are not replayed after a reconnect, so it

- orders by the record's `seq` (which grows with every accepted write) and drops anything not
  newer than what it already gave out;
- refetches the record through the `TaskStore` every time a subscription goes live, *after*
  subscribing, so a write made while disconnected is never missed (one made in between arrives
  twice and is dropped once);
- reconnects with a bounded exponential backoff, and gives up only after `give_up_after`
  seconds without a working subscription.

`durable_tasks.pocketbase.PocketBaseRealtime` is the source for PocketBase's realtime stream.
`PollingSource` reads the record through the store at a fixed interval, for where server-sent
events cannot pass (some proxies buffer them).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

import httpx

from durable_tasks.errors import (
    StoreUnavailableError,
    TaskNotFoundError,
)
from durable_tasks.models import TaskRecord

if TYPE_CHECKING:
    from durable_tasks.store import TaskStore

__all__ = [
    "SUBSCRIBED",
    "Backoff",
    "Subscribed",
    "PollingSource",
    "RealtimeError",
    "RecordSource",
    "TaskWatcher",
]

log = logging.getLogger("durable_tasks.watch")


class Subscribed:
    """The type of `SUBSCRIBED`."""

    def __repr__(self) -> str:
        return "SUBSCRIBED"


SUBSCRIBED: Final = Subscribed()
"""Yielded by a source once its subscription is live: the watcher refetches the record then."""


class RealtimeError(StoreUnavailableError):
    """The realtime connection broke or spoke nonsense; the watcher reconnects."""


class RecordSource(Protocol):
    """A transport that delivers the changes of one task record (see the module docstring)."""

    def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | Subscribed, None]:
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
                        if isinstance(item, Subscribed):
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

    async def changes(self, task_id: str) -> AsyncGenerator[TaskRecord | Subscribed, None]:
        yield SUBSCRIBED
        while True:
            await asyncio.sleep(self.interval)
            record = await self.store.get(task_id)
            if record is None:
                raise TaskNotFoundError(f"task {task_id!r} was deleted")
            yield record
