"""Turn SIGINT/SIGTERM (and SIGHUP) into an `asyncio.Event`, for commands that shut down gracefully.

Long-running commands (`worker`, `dev`) must finish in-flight work and stop what they started
instead of dying on the first `KeyboardInterrupt`, wherever it happens to land. A second signal
sets `force`, so an impatient user can cut a slow graceful shutdown short.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class StopSignals:
    """`stop` is set by the first signal; `force` by any later one."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)
    force: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[signal.Signals] = field(default_factory=list)

    def _on_signal(self, signum: signal.Signals) -> None:
        self.received.append(signum)
        if self.stop.is_set():
            self.force.set()
        self.stop.set()


@contextmanager
def stop_on_signals() -> Iterator[StopSignals]:
    """Within a running event loop, route the stop signals to a `StopSignals` until exit."""
    loop = asyncio.get_running_loop()
    signals = StopSignals()
    for signum in _SIGNALS:
        loop.add_signal_handler(signum, signals._on_signal, signum)
    try:
        yield signals
    finally:
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
