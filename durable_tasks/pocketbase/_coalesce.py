"""`Coalescer`: concurrent calls of one kind share a request, without waiting for company.

A lone call is sent at once, as it would be without this class: the latency of one task at a
time does not change. While `lanes` requests are in flight, new calls queue, and the next free
lane sends everything queued (up to `max_batch`) as one request. So batches grow with the load
and shrink with it: 50 tasks starting together cost a handful of PocketBase requests (and
transactions) instead of 50, which is what keeps one PocketBase node from being the ceiling.
With a `linger`, a busy coalescer also spaces its requests at least that far apart, so calls
that arrive one by one (tasks started at a steady rate) still share requests; a call after a
quiet moment is still sent at once.

A failed request fails every call it carried, with the same error, as if each had been sent
alone (the client under it has already retried what can be retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Coalescer(Generic[_In, _Out]):
    """Sends queued calls in batches through `send` (see the module docstring).

    `send` gets the items of one batch and answers one result per item, in order.
    """

    def __init__(
        self,
        send: Callable[[Sequence[_In]], Awaitable[Sequence[_Out]]],
        *,
        max_batch: int = 200,
        lanes: int = 2,
        linger: float = 0.0,
    ) -> None:
        if max_batch < 1 or lanes < 1 or linger < 0:
            raise ValueError("max_batch and lanes must be at least 1, linger at least 0")
        self._send = send
        self._max_batch = max_batch
        self._lanes = lanes
        self._queue: list[tuple[_In, asyncio.Future[_Out]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._linger = linger
        self._last_send = float("-inf")

    async def call(self, item: _In) -> _Out:
        """The result for `item`, sent alone or with the calls queued beside it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_Out] = loop.create_future()
        self._queue.append((item, future))
        # Lanes are counted on this loop: a loop closed with a lane pending (a finished
        # asyncio.run) must not keep a lane taken forever.
        if sum(1 for t in self._running if t.get_loop() is loop and not t.done()) < self._lanes:
            lane = loop.create_task(self._drain())
            self._running.add(lane)
            lane.add_done_callback(self._running.discard)
        return await future

    async def _drain(self) -> None:
        while self._queue and await self._my_turn():
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            live = [(item, future) for item, future in batch if not future.done()]
            if not live:  # every caller gave up (cancelled) while queued
                continue
            try:
                results = await self._send([item for item, _ in live])
                if len(results) != len(live):
                    raise RuntimeError(f"{len(results)} answers for {len(live)} items")
            except asyncio.CancelledError:
                for _, future in live:
                    future.cancel()
                raise
            except Exception as exc:  # each caller gets the error it would have had alone
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _my_turn(self) -> bool:
        """Wait out the linger; False if another lane took every queued call meanwhile.

        The next send time is reserved before sleeping, so two lanes never wake to send
        together; a reservation that sent nothing is handed back.
        """
        loop = asyncio.get_running_loop()
        previous = self._last_send
        self._last_send = at = max(loop.time(), previous + self._linger)
        if at > loop.time():
            await asyncio.sleep(at - loop.time())
        if self._queue:
            return True
        if self._last_send == at:
            self._last_send = previous
        return False
