"""Watching task records the way a front end does, to measure what a front end sees.

`RecordObserver` runs `python -m bench.observe` in a process of its own, as a front end would
be: one PocketBase realtime subscription to every task record (`tasks/*`, as the superuser) for
the whole benchmark, writing for each version that arrives the wall-clock time it arrived, its
status, progress and `seq` to a file. (In the benchmark's own process the busy event loop would
delay the arrivals it notes, and its CPU would count as ours.) From that file:

- **sync lag**: from the moment Temporal closed a task's workflow (its close time, from the
  server) to the arrival of the record's final version;
- **step lag** (flows): from the moment Temporal recorded a step's activity completed to the
  arrival of the first version counting that step as completed; and, for the sync's own share,
  from the completion of the workflow task that took it in (the state is handed to the writer
  at the end of that task, just before Temporal records its completion; its start would count
  the time the task waited in the busy worker);
- **the storm's last value**: whether a RUNNING version with the last reported progress arrived.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from durable_tasks.pocketbase import PocketBaseRealtime

_FINAL = ("SUCCESS", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Version:
    """One version of a record as it arrived."""

    arrived: float
    status: str
    progress: float
    seq: int
    done: int | None = None
    """A flow's `completedCount` in this version (None for a simple task)."""


class RecordObserver:
    """Every version of every task record, as PocketBase pushes them (see the module docstring)."""

    def __init__(self, url: str, email: str, password: str, log: Path) -> None:
        self._args = [sys.executable, "-m", "bench.observe", url, email, password, str(log)]
        self._log = log
        self._process: subprocess.Popen[str] | None = None

    async def __aenter__(self) -> RecordObserver:
        self._process = subprocess.Popen(self._args, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        ready = await asyncio.wait_for(asyncio.to_thread(self._process.stdout.readline), 20)
        if ready.strip() != "subscribed":
            raise RuntimeError(f"the record observer did not subscribe: {ready!r}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)

    @property
    def versions(self) -> dict[str, list[Version]]:
        """What arrived so far, by task id."""
        found: dict[str, list[Version]] = {}
        for line in self._log.read_text().splitlines():
            row = json.loads(line)
            found.setdefault(row["id"], []).append(
                Version(row["arrived"], row["status"], row["progress"], row["seq"], row.get("done"))
            )
        return found

    async def lags_ms(
        self, client: Client, task_ids: Sequence[str], workflow_ids: Sequence[str]
    ) -> list[float]:
        """Close of each workflow (Temporal's clock) → its final record here, in ms."""
        deadline = time.monotonic() + 30
        while True:
            arrivals = {task: _final_arrival(v) for task, v in self.versions.items()}
            if all(arrivals.get(t) is not None for t in task_ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)  # the last events are still on their way
        lags = []
        for task_id, workflow_id in zip(task_ids, workflow_ids, strict=True):
            described = await client.get_workflow_handle(workflow_id).describe()
            arrived = arrivals.get(task_id)
            if described.close_time is None or arrived is None:
                continue
            lags.append(1000 * (arrived - described.close_time.timestamp()))
        return lags

    def step_lags_ms(
        self, task_ids: Sequence[str], steps: Sequence[list[StepTimes]]
    ) -> tuple[list[float], list[float]]:
        """For every completed step of these flows (`steps`: each flow's `step_times`), in ms:
        (Temporal recording the activity completed → the first version counting it, the workflow
        task that took the completion in completing → that version). Call after `lags_ms`: the
        final versions have arrived by then."""
        versions = self.versions
        from_activity: list[float] = []
        from_workflow_task: list[float] = []
        for task_id, times in zip(task_ids, steps, strict=True):
            seen = versions.get(task_id, [])
            for k, step in enumerate(times, 1):
                arrived = next((v.arrived for v in seen if (v.done or 0) >= k), None)
                if arrived is None:
                    continue
                from_activity.append(1000 * (arrived - step.completed))
                if step.taken_in_completed is not None:
                    from_workflow_task.append(1000 * (arrived - step.taken_in_completed))
        return from_activity, from_workflow_task


@dataclass(frozen=True)
class StepTimes:
    """One activity completion in a workflow's history (epoch seconds): when Temporal recorded
    it, and when the workflow task that took it in started and completed (None: never did)."""

    completed: float
    taken_in_started: float | None = None
    taken_in_completed: float | None = None


def step_times(history: WorkflowHistory) -> list[StepTimes]:
    """Every activity completion of `history`, in order, with the workflow task taking it in."""
    found: list[StepTimes] = []
    waiting: list[float] = []  # completions no workflow task has taken in yet
    started: float | None = None
    for event in history.events:
        at = event.event_time.ToDatetime(UTC).timestamp()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            waiting.append(at)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started = at
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and waiting:
            found += [
                StepTimes(c, started if started and started > c else None, at) for c in waiting
            ]
            waiting = []
    return found + [StepTimes(c) for c in waiting]


def _final_arrival(versions: list[Version]) -> float | None:
    return next((v.arrived for v in versions if v.status in _FINAL), None)


async def _follow(url: str, email: str, password: str, log: Path) -> None:
    # The raw event, not a validated TaskRecord: the observer is measuring apparatus, and the
    # less CPU it takes from the two cores the system under test shares, the truer the figures.
    realtime = PocketBaseRealtime(url, email, password)
    with log.open("a", buffering=1) as out:
        async for event in realtime.topic_events(f"{realtime.collection}/*"):
            arrived = time.time()
            if not isinstance(event, dict):
                print("subscribed", flush=True)
                continue
            record = event.get("record") or {}
            result = record.get("result")
            row = {
                "id": record.get("id"),
                "arrived": arrived,
                "status": record.get("status"),
                "progress": record.get("progress"),
                "seq": record.get("seq"),
                "done": result.get("completedCount") if isinstance(result, dict) else None,
            }
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    asyncio.run(_follow(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
