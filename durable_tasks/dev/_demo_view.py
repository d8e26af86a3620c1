"""Progress bars for several tasks at once (the demo), read from their records.

On a terminal it draws one bar per task and one per flow step with rich; elsewhere (CI, a pipe)
it prints a plain line whenever a record changes. It follows the records by polling the store
a few times a second: simple, and exact for a handful of tasks (`durable-tasks watch` uses
realtime events for one task).
"""

from __future__ import annotations

import asyncio
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from durable_tasks.models import TaskRecord
from durable_tasks.store import TaskStore

POLL_S = 0.25


class DemoView:
    """Follows task records until each is final, drawing their progress."""

    def __init__(self, out: TextIO) -> None:
        self.console = Console(file=out)
        self._seen: dict[str, tuple[int, str]] = {}

    async def follow(self, store: TaskStore, task_ids: list[str]) -> list[TaskRecord]:
        """Return the final records, in the order of `task_ids`."""
        if not self.console.is_terminal:
            return await self._follow_plain(store, task_ids)
        columns = (
            TextColumn("{task.description:<34}"),
            BarColumn(),
            TextColumn("{task.percentage:>5.1f}%  {task.fields[status]}"),
        )
        bars: dict[str, TaskID] = {}
        with Progress(*columns, console=self.console) as progress:
            while True:
                records = await _fetch(store, task_ids)
                for rec in records:
                    self._draw(progress, bars, rec)
                if all(r.status.is_final for r in records):
                    return records
                await asyncio.sleep(POLL_S)

    def _draw(self, progress: Progress, bars: dict[str, TaskID], rec: TaskRecord) -> None:
        key = rec.id
        if key not in bars:
            bars[key] = progress.add_task(f"{rec.type} {rec.id}", total=100, status="")
        progress.update(bars[key], completed=rec.progress, status=str(rec.status))
        for name, step in _steps(rec).items():
            step_key = f"{rec.id}/{name}"
            done = 100 if step.get("status") in ("completed", "failed", "skipped") else 0
            if step_key not in bars:
                bars[step_key] = progress.add_task(f"  └ {name}", total=100, status="")
            progress.update(bars[step_key], completed=done, status=step.get("status", ""))

    async def _follow_plain(self, store: TaskStore, task_ids: list[str]) -> list[TaskRecord]:
        while True:
            records = await _fetch(store, task_ids)
            for rec in records:
                state = (rec.seq, str(rec.status))
                if self._seen.get(rec.id) != state:
                    self._seen[rec.id] = state
                    steps = " ".join(f"{n}={s.get('status')}" for n, s in _steps(rec).items())
                    line = f"{rec.id}: {rec.status} {rec.progress:.0f}% {steps}".rstrip()
                    self.console.print(line, highlight=False, soft_wrap=True)
            if all(r.status.is_final for r in records):
                return records
            await asyncio.sleep(POLL_S)


async def _fetch(store: TaskStore, task_ids: list[str]) -> list[TaskRecord]:
    records = []
    for task_id in task_ids:
        rec = await store.get(task_id)
        if rec is None:
            raise LookupError(f"task {task_id} has no record")
        records.append(rec)
    return records


def _steps(rec: TaskRecord) -> dict[str, Any]:
    result = rec.result if isinstance(rec.result, dict) else {}
    steps = result.get("steps")
    return steps if isinstance(steps, dict) else {}
