"""The fault scenarios: each starts real tasks, injects one kind of fault, and counts outcomes.

A task is *correct* when its record ends as the scenario requires (and, for crashes, no
completed step ran twice and the retry came within the bound); *lost* when it never reaches a
final status within the scenario's deadline. Every wait is bounded; the only plain sleeps are
the outages themselves (how long a server stays down is the fault being injected).
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus

from durable_tasks.models import TaskRecord, TaskStatus
from faults.stack import Stack

RECOVERY_BOUND_S = 15.0
CANCEL_BOUND_S = 2.0
FINAL = {TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.CANCELLED}
WORKSPACE = "faults"


@dataclass
class Outcome:
    """One row of the table."""

    scenario: str
    tried: int
    correct: int
    lost: int
    seconds: float
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.correct == self.tried and self.lost == 0


async def until(probe: Callable[[], Awaitable[Any] | Any], timeout: float) -> Any:
    """Poll `probe` until it is truthy; its last value (falsy) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        value = await value if asyncio.iscoroutine(value) else value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


def marks(stack: Stack, prefix: str) -> list[Path]:
    return sorted(stack.marks.glob(f"{prefix}*"))


async def final(stack: Stack, task_id: str, timeout: float) -> TaskRecord | None:
    async def probe() -> TaskRecord | None:
        record = await stack.store.get(task_id)
        return record if record is not None and record.status in FINAL else None

    result: TaskRecord | None = await until(probe, timeout)
    return result


def _tag() -> str:
    return secrets.token_hex(3)


async def _start(stack: Stack, task_id: str, flow: bool, **config: Any) -> None:
    kind = "fault-flow" if flow else "fault-task"
    await stack.tasks.start(kind, workspace_id=WORKSPACE, task_id=task_id, input=config)


def ensure_workers(stack: Stack, n: int) -> None:
    while len(stack.live_workers()) < n:
        stack.start_worker()


async def sigkill(stack: Stack, rounds: int) -> Outcome:
    """SIGKILL the worker running a step, alternately a simple task's and a flow's middle step."""
    began, tag, correct, lost, worst = time.monotonic(), _tag(), 0, 0, 0.0
    ensure_workers(stack, 2)
    for i in range(rounds):
        flow, task_id = i % 2 == 1, f"kill-{tag}-{i}"
        step = "b" if flow else "task"
        await _start(stack, task_id, flow, **({"holdStep": "b"} if flow else {"hold": True}))
        first = await until(functools.partial(marks, stack, f"{task_id}.{step}.1."), 60)
        if not first:
            lost += 1
            continue
        killed = time.time()
        stack.kill_worker(int(first[0].name.rsplit(".", 1)[1]))
        ensure_workers(stack, 2)
        second = await until(functools.partial(marks, stack, f"{task_id}.{step}.2."), 60)
        record = await final(stack, task_id, 60)
        if record is None:
            lost += 1
            continue
        recovery = float(second[0].read_text()) - killed if second else float("inf")
        worst = max(worst, recovery)
        once = all(len(marks(stack, f"{task_id}.{s}.")) == 1 for s in ("a", "c")) if flow else True
        correct += record.status == TaskStatus.SUCCESS and once and recovery <= RECOVERY_BOUND_S
    note = f"retry after kill: max {worst:.1f} s (bound {RECOVERY_BOUND_S:.0f} s)"
    return Outcome("worker SIGKILL mid-step", rounds, correct, lost, time.monotonic() - began, note)


async def cancel(stack: Stack, rounds: int) -> Outcome:
    """Cancel a running simple task or flow step; time until the attempt sees it."""
    began, tag, correct, lost, worst = time.monotonic(), _tag(), 0, 0, 0.0
    ensure_workers(stack, 2)
    for i in range(rounds):
        flow, task_id = i % 2 == 1, f"cancel-{tag}-{i}"
        step = "b" if flow else "task"
        await _start(stack, task_id, flow, **({"holdStep": "b"} if flow else {"hold": True}))
        if not await until(functools.partial(marks, stack, f"{task_id}.{step}.1."), 60):
            lost += 1
            continue
        asked = time.time()
        await stack.tasks.cancel(task_id)
        seen = await until(functools.partial(marks, stack, f"{task_id}.{step}.cancelled"), 30)
        record = await final(stack, task_id, 30)
        if record is None:
            lost += 1
            continue
        latency = float(seen[0].read_text()) - asked if seen else float("inf")
        worst = max(worst, latency)
        correct += record.status == TaskStatus.CANCELLED and latency <= CANCEL_BOUND_S
    note = f"cancel reached the attempt: max {worst:.2f} s (bound {CANCEL_BOUND_S:.0f} s)"
    return Outcome("cancel a running step", rounds, correct, lost, time.monotonic() - began, note)


async def _batch(stack: Stack, prefix: str, n: int, seconds: float) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(n)]
    gate = asyncio.Semaphore(50)

    async def one(i: int, task_id: str) -> None:
        async with gate:
            await _start(stack, task_id, i % 2 == 1, seconds=seconds)

    await asyncio.gather(*(one(i, t) for i, t in enumerate(ids)))
    return ids


async def _settle(stack: Stack, ids: list[str], timeout: float) -> tuple[int, int]:
    """(correct, lost): SUCCESS at 100 % and Temporal agreeing; lost: not final in time."""
    gate = asyncio.Semaphore(50)

    async def one(task_id: str) -> tuple[bool, bool]:
        async with gate:
            record = await final(stack, task_id, timeout)
            if record is None:
                return False, True
            # The record's final write lands before the workflow closes: wait for it to close.
            handle = stack.tasks.handle(task_id)

            async def closed() -> WorkflowExecutionStatus | None:
                status = (await handle.describe()).status
                return None if status == WorkflowExecutionStatus.RUNNING else status

            agrees = await until(closed, 30) == WorkflowExecutionStatus.COMPLETED
        return record.status == TaskStatus.SUCCESS and record.progress == 100 and agrees, False

    outcomes = await asyncio.gather(*(one(t) for t in ids))
    return sum(c for c, _ in outcomes), sum(lost for _, lost in outcomes)


async def pocketbase_outage(stack: Stack, n: int, outage: float) -> Outcome:
    """PocketBase stopped for `outage` seconds while `n` tasks run, then started again."""
    began = time.monotonic()
    ensure_workers(stack, 2)
    ids = await _batch(stack, f"pbdown-{_tag()}", n, seconds=2.0)
    assert stack.pocketbase is not None
    stack.pocketbase.stop()
    await asyncio.sleep(outage)  # the fault itself: PocketBase stays down this long
    await stack.restart_pocketbase()
    correct, lost = await _settle(stack, ids, 180)
    name = f"PocketBase down {outage:.0f} s"
    return Outcome(name, n, correct, lost, time.monotonic() - began, f"{n} tasks and flows running")


async def temporal_restart(stack: Stack, n: int) -> Outcome:
    """The Temporal dev server stopped mid-run and started again on its SQLite state."""
    began = time.monotonic()
    ensure_workers(stack, 2)
    prefix = f"trestart-{_tag()}"
    ids = await _batch(stack, prefix, n, seconds=2.0)
    await until(lambda: len(marks(stack, prefix)) >= n // 2, 60)
    stack.temporal.stop()
    await stack.start_temporal()
    correct, lost = await _settle(stack, ids, 240)
    return Outcome("Temporal restart", n, correct, lost, time.monotonic() - began, "--db-filename")


async def load(stack: Stack, tasks: int, flows: int) -> Outcome:
    """`tasks` simple tasks and `flows` flows started at once, on four workers."""
    began = time.monotonic()
    ensure_workers(stack, 4)
    tag = _tag()
    simple = await _batch_of(stack, f"load-{tag}-t", tasks, flow=False)
    flowing = await _batch_of(stack, f"load-{tag}-f", flows, flow=True)
    correct, lost = await _settle(stack, simple + flowing, 600)
    note = f"{tasks} tasks + {flows} flows at once"
    return Outcome("load", tasks + flows, correct, lost, time.monotonic() - began, note)


async def _batch_of(stack: Stack, prefix: str, n: int, *, flow: bool) -> list[str]:
    ids = [f"{prefix}{i}" for i in range(n)]
    gate = asyncio.Semaphore(50)

    async def one(task_id: str) -> None:
        async with gate:
            await _start(stack, task_id, flow)

    await asyncio.gather(*(one(t) for t in ids))
    return ids
