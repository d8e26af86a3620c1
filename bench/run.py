"""`python -m bench.run`: bare Temporal and durable-tasks, measured in the same run, one report.

It starts its own Temporal dev server and PocketBase (bench/stack.py), runs a bare-Temporal
worker and a durable-tasks worker in this process, and measures, after a warm-up, each workload
on bare Temporal and on durable-tasks, the compared rows in alternating rounds (`--rounds`):

1. a workflow with one no-op activity vs a no-op simple task (`TaskClient.start` + `wait`);
2. three sequential no-op activities vs a three-step flow;
3. 10, 100 and 500 sequential no-op activities vs flows of as many steps (cost per step,
   record size, history size);
4. one in flight, for latency without queueing;
5. a progress storm: 10,000 `report_progress` calls from one task;
6. PocketBase capacity: the sync writer alone, with and without batching.

Sync lag is what a front end sees: from Temporal closing a workflow to the final record arriving
on a realtime subscription. Every budget is printed as met or missed, and the whole report is
written to bench/results/latest.json. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import string
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import (
    BareOneActivityWorkflow,
    BareStepsWorkflow,
    BareThreeActivitiesWorkflow,
    bare_noop,
)
from bench.budgets import evaluate
from bench.capacity import tasks_per_second
from bench.flow import ThreeStepFlow
from bench.long_flows import LONG_FLOWS
from bench.measure import Batch, Phase
from bench.observe import StepTimes, step_times
from bench.processors import STORM_LAST, NoopTask, ProgressStormTask
from bench.report import render, to_json
from bench.stack import Probes, Servers, servers
from durable_tasks.client import TaskClient, workflow_id_for
from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.sync import SyncWriter
from durable_tasks.worker import build_worker

WORKSPACE = "bench"
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
LONG_LOAD = {10: (20, 10), 100: (4, 4), 500: (2, 2)}
"""Steps → (flows, in flight) of the long-flow rows at the default scale."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Bare Temporal vs durable-tasks on the same real servers, side by side.",
    )
    add = parser.add_argument
    add("--n", type=int, default=200, help="timed items per row (200)")
    add("--concurrency", type=int, default=50, help="in flight at once (50)")
    add("--warmup", type=int, default=None, help="untimed runs before each row (min(n, 20))")
    add("--idle-n", type=int, default=40, help="runs with one in flight (40)")
    add("--long-steps", default="10,100,500", help="step counts of the long-flow rows")
    add("--long-scale", type=float, default=1.0, help="scale the long-flow rows' flow counts")
    add("--storm-reports", type=int, default=10_000, help="report_progress calls in the storm")
    add("--capacity-tasks", type=int, default=1000, help="tasks per capacity run (1000)")
    add("--task-queue-partitions", type=int, default=1, help="partitions on the dev server (1)")
    add("--timeout", type=float, default=600.0, help="seconds allowed per row (600)")
    add("--rounds", type=int, default=2, help="alternating bare/ours rounds per compared row (2)")
    add("--rows", default="", help="only these rows (keys), e.g. one,simple or capacity")
    add("--results", type=Path, default=RESULTS, help="where to write the JSON report")
    args = parser.parse_args(argv)
    args.long_steps = [int(s) for s in args.long_steps.split(",") if s.strip()]
    for name in ("n", "concurrency", "idle_n", "storm_reports", "capacity_tasks", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if any(s not in LONG_FLOWS for s in args.long_steps):
        parser.error(f"--long-steps: each must be one of {sorted(LONG_FLOWS)}")
    args.rows = [r for r in args.rows.split(",") if r.strip()]
    if args.warmup is None:
        args.warmup = min(args.n, 20)
    return args


class _Rows:
    """How to run an item on either system, and the plan of rows."""

    def __init__(self, client: Client, tasks: TaskClient, writer: SyncWriter, queue: str) -> None:
        self.client, self.tasks, self.writer, self.queue = client, tasks, writer, queue
        self.tag = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))

    def bare(self, label: str, key: str, workflow: Any, arg: int = 1, steps: int = 1) -> Phase:
        async def one(workflow_id: str) -> None:
            await self.client.execute_workflow(workflow, arg, id=workflow_id, task_queue=self.queue)

        return Phase(label, "bare Temporal", f"{self.tag}-{key}", one, steps=steps)

    def ours(
        self, label: str, key: str, type: str, input: dict[str, Any] | None = None, steps: int = 1
    ) -> Phase:
        async def one(task_id: str) -> None:
            await self.tasks.start(type, workspace_id=WORKSPACE, task_id=task_id, input=input)
            record = await self.tasks.wait(task_id)
            if record.status != TaskStatus.SUCCESS:
                raise RuntimeError(f"task {task_id} ended {record.status}: {record.error_log}")

        counters = {"progress writes": lambda: self.writer.progress_writes}
        return Phase(
            label, "durable-tasks", f"{self.tag}-{key}", one, counters, workflow_id_for, steps
        )

    def plan(self, args: argparse.Namespace) -> list[Row]:
        """(key, phase, n, in flight, warm-up), bare before ours for each workload."""
        load = (args.n, args.concurrency, args.warmup)
        rows = [
            ("one", self.bare("1 no-op activity", "one", BareOneActivityWorkflow.run), *load),
            ("simple", self.ours("1 no-op simple task", "simple", NoopTask.name), *load),
            (
                "three",
                self.bare(
                    "3 sequential no-op activities", "three", BareThreeActivitiesWorkflow.run
                ),
                *load,
            ),
            ("flow", self.ours("3-step flow", "flow", "bench-three-steps", steps=3), *load),
        ]
        for steps in args.long_steps:
            flows, flight = LONG_LOAD[steps]
            flows = max(1, round(flows * args.long_scale))
            each = (flows, min(flight, flows), 1)
            rows += [
                (
                    f"bare{steps}",
                    self.bare(
                        f"{steps} sequential no-op activities",
                        f"bare{steps}",
                        BareStepsWorkflow.run,
                        steps,
                        steps,
                    ),
                    *each,
                ),
                (
                    f"steps{steps}",
                    self.ours(
                        f"{steps}-step flow", f"steps{steps}", f"bench-steps-{steps}", steps=steps
                    ),
                    *each,
                ),
            ]
        idle = (args.idle_n, 1, 0)
        rows += [
            ("idleone", self.bare("1 no-op activity, 1 in flight", "idleone", BareOneActivityWorkflow.run), *idle),
            ("idlesimple", self.ours("1 no-op simple task, 1 in flight", "idlesimple", NoopTask.name), *idle),
            ("storm", self.ours(f"progress storm ({args.storm_reports} reports)", "storm", ProgressStormTask.name, {"reports": args.storm_reports}), 1, 1, 0),
        ]  # fmt: skip
        unknown = set(args.rows) - {row[0] for row in rows} - {"capacity"}
        if unknown:
            raise SystemExit(f"--rows: unknown {sorted(unknown)}; known: {[r[0] for r in rows]}")
        return [row for row in rows if not args.rows or row[0] in args.rows]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers, measure every row and the capacity, stop what was started."""
    async with servers(args.task_queue_partitions) as stack:
        batches = await _measure(args, stack)
        capacity: dict[str, float] = {}
        if not args.rows or "capacity" in args.rows:
            _say("PocketBase capacity: the sync writer alone, with and without batching")
            url, email, password = stack.pocketbase
            capacity = {
                mode: await tasks_per_second(url, email, password, prefix=f"cap-{mode}", tasks=args.capacity_tasks, batching=batching)
                for mode, batching in (("batched", True), ("unbatched", False))
            }  # fmt: skip
        storm = _storm(batches["storm"], stack.probes, args) if "storm" in batches else {}
    return {"batches": batches, "capacity": capacity, "storm": storm}


async def _measure(args: argparse.Namespace, stack: Servers) -> dict[str, Batch]:
    probes = stack.probes
    worker_store, client_store = (
        PocketBaseTaskStore(*stack.pocketbase),
        PocketBaseTaskStore(*stack.pocketbase),
    )
    writer = SyncWriter(worker_store)
    registry = ProcessorRegistry.of(
        NoopTask, ProgressStormTask, ThreeStepFlow, *LONG_FLOWS.values()
    )
    queue = f"bench-{secrets.token_hex(3)}"
    tasks = TaskClient(stack.client, client_store, registry, task_queue=f"{queue}-ours")
    rows = _Rows(stack.client, tasks, writer, f"{queue}-bare")
    bare_worker = Worker(
        stack.client,
        task_queue=rows.queue,
        workflows=[BareOneActivityWorkflow, BareThreeActivitiesWorkflow, BareStepsWorkflow],
        activities=[bare_noop],
    )
    ours_worker = build_worker(
        stack.client,
        task_queue=tasks.task_queue,
        store=worker_store,
        registry=registry,
        writer=writer,
    )
    batches: dict[str, Batch] = {}
    try:
        async with bare_worker, ours_worker:
            plan = rows.plan(args)
            for _, phase, _, flight, warmup in plan:
                if warmup:
                    await phase.warm_up(n=warmup, concurrency=flight, timeout=args.timeout)
            rounds: dict[str, list[Batch]] = {}
            rpcs = await probes.rpcs.snapshot()
            for (key, phase, _, flight, _), n, first in _schedule(plan, args.rounds):
                began = time.monotonic()
                batch = await phase.timed(
                    n=n, concurrency=flight, cpu=probes.cpu, timeout=args.timeout, first=first
                )
                rpcs, before = await probes.rpcs.snapshot(), rpcs
                batch.rpcs = rpcs - before
                rounds.setdefault(key, []).append(batch)
                _say(f"{batch.system:13} {batch.label}: {n} in {time.monotonic() - began:.1f} s")
            for key, parts in rounds.items():
                batches[key] = Batch.merged(parts)
                batches[key].rpcs = sum((b.rpcs for b in parts), Counter())
        await _after(batches, stack.client, probes)
    finally:
        await worker_store.close()
        await client_store.close()
    return batches


_PARTNERS = {"one": "simple", "three": "flow", "idleone": "idlesimple"}
"""Bare rows and the durable-tasks rows they are compared with, run in alternating rounds."""

Row = tuple[str, Phase, int, int, int]


def _schedule(plan: list[Row], rounds: int) -> list[tuple[Row, int, int]]:
    """(row, items, first item number) in running order: each compared pair runs in `rounds`
    rounds, in mirrored order (bare, ours, ours, bare, ...), so a drift during the run weighs on
    both systems alike instead of on whichever ran later: the machine's other load, and the
    Temporal dev server's own CPU per workflow, which grows as its in-memory store fills."""
    by_key = {row[0]: row for row in plan}
    order: list[tuple[Row, int, int]] = []
    placed: set[str] = set()
    for row in plan:
        if row[0] in placed:
            continue
        partner = by_key.get(_PARTNERS.get(row[0], ""))
        pair = [row] if partner is None else [row, partner]
        parts = max(1, min(rounds, row[2])) if partner is not None else 1
        first = 0
        for i in range(parts):
            size = row[2] // parts + (1 if i < row[2] % parts else 0)
            members = pair if i % 2 == 0 else pair[::-1]  # bare, ours, ours, bare, ...
            order += [(member, size, first) for member in members]
            first += size
        placed.update(member[0] for member in pair)
    return order


async def _after(batches: dict[str, Batch], client: Client, probes: Probes) -> None:
    """What is read once the rows are done: records, the request log, histories, lags."""
    _say("reading records, PocketBase's request log and histories")
    await asyncio.to_thread(probes.log.wait_flushed)
    for key, batch in batches.items():
        history = await client.get_workflow_handle(batch.first_workflow_id).fetch_history()
        batch.history_events = len(history.events)
        batch.history_bytes = len(history.to_json())
        workflow_ids = (
            [workflow_id_for(t) for t in batch.task_ids]
            if batch.system == "durable-tasks"
            else batch.task_ids
        )
        ours = batch.system == "durable-tasks"
        times: list[list[StepTimes]] = []
        if batch.concurrency > 1 or (ours and batch.steps > 1):
            for workflow_id in workflow_ids:
                handle = client.get_workflow_handle(workflow_id)
                times.append(step_times(await handle.fetch_history()))
        if batch.concurrency > 1:
            batch.pickups_ms = [
                1000 * (step.taken_in_started - step.completed)
                for flow in times
                for step in flow
                if step.taken_in_started is not None
            ]
        if not ours:
            continue
        records = await asyncio.to_thread(
            probes.log.task_records, batch.task_ids[0].rsplit("-", 1)[0] + "-"
        )
        batch.record_writes = sum(r["seq"] + 1 for r in records)
        first = next((r for r in records if r["id"] == batch.task_ids[0]), None)
        if first is not None:
            batch.record_bytes = len(json.dumps(first["result"])) + len(json.dumps(first["errors"]))
        batch.server_requests = sum(probes.log.all_requests(w) for w in batch.windows)
        if key != "storm":
            batch.lags_ms = await probes.observer.lags_ms(client, batch.task_ids, workflow_ids)
            if batch.steps > 1:
                batch.step_lags_ms, batch.step_lags_taken_in_ms = probes.observer.step_lags_ms(
                    batch.task_ids, times
                )


def _storm(batch: Batch, probes: Probes, args: argparse.Namespace) -> dict[str, Any]:
    versions = probes.observer.versions.get(batch.task_ids[0], [])
    running = [v for v in versions if v.status == "RUNNING"]
    reporting_s = max(batch.wall_s - 1.0, 0.001)  # the task holds its last value for 1 s
    writes = batch.counted.get("progress writes", 0)
    return {
        "reports": args.storm_reports,
        "progress_writes": writes,
        "reporting_s": round(reporting_s, 3),
        "writes_per_s": round(writes / reporting_s, 2),
        "last_value_landed": any(v.progress == STORM_LAST for v in running),
    }


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _say(f"benchmark: n={args.n}, {args.concurrency} in flight; servers start now")
    measured = asyncio.run(bench(args))
    budgets = evaluate(measured["batches"], measured["storm"], measured["capacity"])
    print(render(measured["batches"], measured["storm"], measured["capacity"], budgets))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    settings = {name: value for name, value in vars(args).items() if name != "results"}
    report = to_json(  # without where it is written: the report holds no path of this machine
        settings, measured["batches"], measured["storm"], measured["capacity"], budgets
    )
    args.results.write_text(json.dumps(report, indent=2, default=str) + "\n")
    _say(f"report written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
