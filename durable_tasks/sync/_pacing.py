"""`Pacing`: when the sync writer's next request may go (group commit).

A request, not a patch, is what costs PocketBase most (measured on this project's machine:
about 0.9 ms of its CPU for a one-patch write request, 0.3 ms for each further patch in it).
So under load a request follows the previous one by at least `linger` seconds, and the patches
of many tasks gather meanwhile; a write after a quiet moment goes out at once, and so does the
state of a task someone waits for (`SyncWriter.flush`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container


class Pacing:
    """The writer's send times, and the tasks whose state may not wait (see the module)."""

    def __init__(self, *, gather: float, linger: float) -> None:
        self.gather = gather
        self.linger = linger
        self.urgent: set[str] = set()
        """Tasks someone waits for: their state skips the linger and the intervals."""
        self._last_send = -linger
        self._woken: asyncio.Event | None = None

    def hurry(self, task_id: str) -> None:
        """Someone waits for `task_id`'s pending state: send it without lingering."""
        self.urgent.add(task_id)
        if self._woken is not None:
            self._woken.set()

    def sent(self) -> None:
        """A request just went out."""
        self._last_send = time.monotonic()

    async def wait_turn(self, pending: Container[str]) -> None:
        """Wait until the next request may go: `gather` always (what one workflow activation
        hands over in a row becomes one write), then the rest of the linger, unless a task in
        `pending` is urgent."""
        await asyncio.sleep(self.gather)
        wait = self._last_send + self.linger - time.monotonic()
        self.urgent = {task_id for task_id in self.urgent if task_id in pending}
        if wait <= 0 or self.urgent:
            return
        self._woken = asyncio.Event()
        try:
            async with asyncio.timeout(wait):
                await self._woken.wait()
        except TimeoutError:
            pass
        finally:
            self._woken = None
