"""The worker: placeholder until the processor issues land (run_worker's signature is fixed)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from durable_tasks.settings import Settings


async def run_worker(
    settings: Settings,
    *,
    imports: Sequence[str] = (),
    max_concurrent_activities: int | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker for `settings.task_queue` until `stop` is set (or forever)."""
    raise NotImplementedError
