"""Running a batch of workflows with a bounded number in flight, and what a batch measured.

A batch starts `n` items with at most `concurrency` in flight, times each one end to end (from
the start call to the result) and the whole batch, and notes the CPU time each process spent
(the Temporal dev server, PocketBase, and this process, which is both client and worker). On a
shared machine the CPU per item is steadier than the wall clock.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.pocketbase_logs import Window

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Batch:
    """What one timed batch measured; the PocketBase counts are filled in once the log is written."""

    label: str
    system: str
    n: int
    concurrency: int
    wall_s: float
    latencies_s: list[float]
    windows: list[Window]
    cpu_s: dict[str, float]
    counted: dict[str, int]
    first_workflow_id: str = ""
    task_ids: list[str] = field(default_factory=list)
    steps: int = 1
    """Activities (bare) or steps (ours) per item, for the cost per step."""
    record_writes: int | None = None
    """Accepted writes to the batch's records, their creation included (from `seq`)."""
    record_bytes: int | None = None
    """Size of the first record's `result` and `errors` as JSON."""
    server_requests: int | None = None
    history_events: int | None = None
    history_bytes: int | None = None
    lags_ms: list[float] = field(default_factory=list)
    step_lags_ms: list[float] = field(default_factory=list)
    """Flows: activity completed (Temporal's record of it) → the record counting the step."""
    step_lags_taken_in_ms: list[float] = field(default_factory=list)
    pickups_ms: list[float] = field(default_factory=list)
    """Multi-step rows, bare or ours: activity completed → the workflow task taking it in."""
    """Flows: the workflow task that took the completion in → the record counting the step."""
    rpcs: Counter[str] = field(default_factory=Counter)

    @classmethod
    def merged(cls, rounds: list[Batch]) -> Batch:
        """One batch from the rounds of one workload (interleaved with the other system's)."""
        first = rounds[0]
        if len(rounds) == 1:
            return first
        counted: Counter[str] = Counter()
        cpu: Counter[str] = Counter()
        for batch in rounds:
            counted.update(batch.counted)
            cpu.update(batch.cpu_s)
        return cls(
            label=first.label,
            system=first.system,
            n=sum(b.n for b in rounds),
            concurrency=first.concurrency,
            wall_s=sum(b.wall_s for b in rounds),
            latencies_s=[s for b in rounds for s in b.latencies_s],
            windows=[w for b in rounds for w in b.windows],
            cpu_s=dict(cpu),
            counted=dict(counted),
            first_workflow_id=first.first_workflow_id,
            task_ids=[t for b in rounds for t in b.task_ids],
            steps=first.steps,
        )

    @property
    def per_second(self) -> float:
        return self.n / self.wall_s

    def percentile_ms(self, p: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        return 1000 * percentile(self.latencies_s, p)

    @property
    def cpu_ms_per_step(self) -> float:
        """CPU of every process (ms) per activity or step."""
        return 1000 * sum(self.cpu_s.values()) / (self.n * self.steps)

    def per_item(self, total: float | None) -> float | None:
        return None if total is None else total / self.n

    @property
    def rpcs_per_item(self) -> float:
        """Temporal frontend RPCs per item, as the server counted them."""
        return sum(self.rpcs.values()) / self.n


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


class CpuMeter:
    """CPU seconds (user + system) of this process and of the servers it started."""

    def __init__(self, servers: dict[str, int]) -> None:
        self._servers = servers

    def read(self) -> dict[str, float]:
        used = {name: _cpu_of(pid) for name, pid in self._servers.items()}
        used["bench process"] = time.process_time()
        return used


def _cpu_of(pid: int) -> float:
    # /proc/<pid>/stat: the command may contain spaces, so split after its closing parenthesis.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def child_pid(command_prefix: str) -> int:
    """The pid of this process's child whose command starts with `command_prefix`."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        command, rest = stat.split("(", 1)[1].rsplit(")", 1)
        if int(rest.split()[1]) == me and command.startswith(command_prefix):
            return int(entry.name)
    raise LookupError(f"no child process of {me} named {command_prefix}*")


async def run_concurrently(
    one: Callable[[str], Awaitable[None]],
    ids: list[str],
    concurrency: int,
    timeout: float,
) -> list[float]:
    """Run `one(id)` for every id with at most `concurrency` in flight; each one's latency."""
    latencies: list[float] = []
    pending = iter(ids)

    async def lane() -> None:
        for item in pending:  # lanes share the iterator: each id is taken once
            began = time.perf_counter()
            await one(item)
            latencies.append(time.perf_counter() - began)

    async with asyncio.timeout(timeout):
        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(concurrency, len(ids))):
                lanes.create_task(lane())
    return latencies


@dataclass
class Phase:
    """One workload on one system: how to run an item and the counters to read around it."""

    label: str
    system: str
    prefix: str
    one: Callable[[str], Awaitable[None]]
    counters: dict[str, Callable[[], int]] = field(default_factory=dict)
    workflow_id: Callable[[str], str] = str
    steps: int = 1

    async def warm_up(self, *, n: int, concurrency: int, timeout: float) -> None:
        """Untimed runs, so caches, connections and logins are in place before timing."""
        ids = [f"warm-{self.prefix}-{i:04d}" for i in range(n)]
        await run_concurrently(self.one, ids, concurrency, timeout)

    async def timed(
        self, *, n: int, concurrency: int, cpu: CpuMeter, timeout: float, first: int = 0
    ) -> Batch:
        """Run `n` items (numbered from `first`) and say what they cost."""
        ids = [f"{self.prefix}-{i:05d}" for i in range(first, first + n)]
        start = datetime.now(UTC)
        counted = {name: read() for name, read in self.counters.items()}
        cpu_before = cpu.read()
        began = time.perf_counter()
        latencies = await run_concurrently(self.one, ids, concurrency, timeout)
        wall = time.perf_counter() - began
        cpu_after = cpu.read()
        counted = {name: read() - counted[name] for name, read in self.counters.items()}
        return Batch(
            label=self.label,
            system=self.system,
            n=n,
            concurrency=concurrency,
            wall_s=wall,
            latencies_s=latencies,
            windows=[Window(start, datetime.now(UTC), f"{self.prefix}-")],
            cpu_s={name: cpu_after[name] - cpu_before[name] for name in cpu_before},
            counted=counted,
            first_workflow_id=self.workflow_id(ids[0]),
            task_ids=ids,
            steps=self.steps,
        )
