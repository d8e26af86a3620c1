"""Small helpers shared by the tests: waiting for a condition with a deadline (never blindly).

Both poll a probe until it returns something truthy and fail with what they were waiting for
when the deadline passes. The pause between probes is only the polling interval.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T] | T],
    *,
    timeout: float = 20.0,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Await (or call) `probe` until its result is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        outcome = probe()
        last = await outcome if inspect.isawaitable(outcome) else outcome
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}; last: {last!r}")


def wait_until(
    probe: Callable[[], T], *, timeout: float, interval: float = 0.1, what: str = ""
) -> T:
    """`eventually` for synchronous tests (subprocesses, servers started by the test)."""
    deadline = time.monotonic() + timeout
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)
