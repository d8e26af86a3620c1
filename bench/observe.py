"""Watching task records the way a front end does, to measure what a front end sees.

`RecordObserver` holds one PocketBase realtime subscription to every task record (`tasks/*`,
as the superuser) for the whole benchmark and notes, for each version that arrives, the wall
clock time it arrived, its status, progress and `seq`. From that:

- **sync lag**: from the moment Temporal closed a task's workflow (its close time, from the
  server) to the arrival of the record's final version;
- **the storm's last value**: whether a RUNNING version with the last reported progress arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass

from temporalio.client import Client

from durable_tasks.models import TaskRecord
from durable_tasks.pocketbase import PocketBaseRealtime


@dataclass(frozen=True)
class Version:
    """One version of a record as it arrived."""

    arrived: float
    status: str
    progress: float
    seq: int


class RecordObserver:
    """Every version of every task record, as PocketBase pushes them (see the module docstring)."""

    def __init__(self, url: str, email: str, password: str) -> None:
        self._source = PocketBaseRealtime(url, email, password)
        self.versions: dict[str, list[Version]] = {}
        self._live = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RecordObserver:
        self._task = asyncio.create_task(self._follow())
        async with asyncio.timeout(10):
            await self._live.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _follow(self) -> None:
        async for item in self._source.changes("*"):
            if not isinstance(item, TaskRecord):
                self._live.set()
                continue
            self.versions.setdefault(item.id, []).append(
                Version(time.time(), str(item.status), item.progress, item.seq)
            )

    def final_arrival(self, task_id: str) -> float | None:
        """When the record's first final version arrived."""
        for version in self.versions.get(task_id, []):
            if version.status in ("SUCCESS", "FAILED", "CANCELLED"):
                return version.arrived
        return None

    async def lags_ms(
        self, client: Client, task_ids: Sequence[str], workflow_ids: Sequence[str]
    ) -> list[float]:
        """Close of each workflow (Temporal's clock) → its final record here, in ms."""
        async with asyncio.timeout(30):
            while any(self.final_arrival(t) is None for t in task_ids):
                await asyncio.sleep(0.05)  # the last events are still on their way
        lags = []
        for task_id, workflow_id in zip(task_ids, workflow_ids, strict=True):
            described = await client.get_workflow_handle(workflow_id).describe()
            arrived = self.final_arrival(task_id)
            if described.close_time is None or arrived is None:
                continue
            lags.append(1000 * (arrived - described.close_time.timestamp()))
        return lags
