"""Activity-side progress writes: coalesced, rate-limited, never blocking the work.

A processor may report progress a thousand times a second; the record needs a few writes a
second at most, and the last value must land. Each task gets one flusher that writes the newest
pending value, then waits `min_interval` before the next. If the store is down the flusher keeps
retrying the newest value with backoff (logging the task id) until `give_up_after`, while the
processor carries on. Progress writes never carry a status, so they can never undo a final one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from durable_tasks.errors import StoreError
from durable_tasks.models import TaskPatch
from durable_tasks.store import TaskStore

log = logging.getLogger("durable_tasks.sync._outbox")


@dataclass
class _Slot:
    run_id: str
    value: float
    dirty: bool = True
    flusher: asyncio.Task[None] | None = None
    landed: asyncio.Event = field(default_factory=asyncio.Event)


class ProgressOutbox:
    """Coalescing progress writer shared by every activity of a worker (a `ProgressSink`)."""

    def __init__(
        self, store: TaskStore, *, min_interval: float = 0.25, give_up_after: float = 600.0
    ) -> None:
        self._store = store
        self._min_interval = min_interval
        self._give_up_after = give_up_after
        self._slots: dict[str, _Slot] = {}
        self.writes = 0

    def report(self, task_id: str, run_id: str, percent: float) -> None:
        """Queue `percent` for the task; returns at once. Call from the event loop."""
        slot = self._slots.get(task_id)
        if slot is None or slot.run_id != run_id:
            slot = self._slots[task_id] = _Slot(run_id=run_id, value=percent)
        else:
            slot.value = max(slot.value, percent)
            slot.dirty = True
            slot.landed.clear()
        if slot.flusher is None or slot.flusher.done():
            slot.flusher = asyncio.get_running_loop().create_task(self._flush_loop(task_id, slot))

    async def flush(self, task_id: str, timeout: float) -> bool:
        """Wait up to `timeout` s for the task's newest value to land; True if it did."""
        slot = self._slots.get(task_id)
        if slot is None or not slot.dirty:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(slot.landed.wait()), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Stop every flusher (values not yet written are dropped, with a warning)."""
        for task_id, slot in list(self._slots.items()):
            if slot.flusher is not None and not slot.flusher.done():
                if slot.dirty:
                    log.warning(
                        "task %s: progress %.0f%% not written at shutdown", task_id, slot.value
                    )
                slot.flusher.cancel()
        self._slots.clear()

    async def _flush_loop(self, task_id: str, slot: _Slot) -> None:
        loop = asyncio.get_running_loop()
        failing_since: float | None = None
        backoff = 0.5
        while slot.dirty:
            slot.dirty = False
            value = slot.value
            try:
                self.writes += 1
                await self._store.sync(task_id, TaskPatch(run_id=slot.run_id, progress=value))
            except StoreError as err:
                slot.dirty = True
                now = loop.time()
                failing_since = failing_since or now
                if now - failing_since > self._give_up_after:
                    log.error("task %s: giving up writing progress %.0f%%: %s", task_id, value, err)
                    break
                log.warning("task %s: progress write failed, retrying: %s", task_id, err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            failing_since, backoff = None, 0.5
            if not slot.dirty:
                slot.landed.set()
            await asyncio.sleep(self._min_interval)
        if self._slots.get(task_id) is slot and not slot.dirty:
            del self._slots[task_id]
