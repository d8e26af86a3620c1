"""The servers and worker processes of one campaign: started here, stopped by PID, nothing else.

Temporal runs as a dev server with its state in a SQLite file (so it can be restarted with its
workflows intact), PocketBase with this project's migrations and hooks in a data directory of
its own (so it can be stopped and started again on the same port); both on free loopback
ports. Workers are `durable-tasks worker` processes importing `faults.processors`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from durable_tasks.client import TaskClient, connect_temporal
from durable_tasks.dev import (
    PocketBaseProcess,
    TemporalDevServer,
    free_port,
    project_pb_dirs,
    start_pocketbase,
)
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.settings import load_settings
from durable_tasks.testing import PocketBaseServer
from faults.processors import FaultFlow, FaultTask

ROOT = Path(__file__).resolve().parents[1]


class Stack:
    """Temporal, PocketBase, worker processes and a `TaskClient`, all under `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.marks = workdir / "marks"
        self.marks.mkdir(parents=True)
        self.queue = "faults"
        self.admin = ("faults@example.com", secrets.token_urlsafe(18))
        self.pb_port = free_port()
        self.temporal = TemporalDevServer(
            host="127.0.0.1",
            port=free_port(),
            ui_port=free_port(),
            db_file=workdir / "temporal.db",
            log_file=workdir / "temporal.log",
            namespace="default",
        )
        self.pocketbase: PocketBaseProcess | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.tasks: TaskClient
        self.store: PocketBaseTaskStore

    @property
    def env(self) -> dict[str, str]:
        """What a worker or the CLI needs to reach this stack."""
        return {
            **os.environ,
            "TEMPORAL_ADDRESS": self.temporal.address,
            "DURABLE_TASKS_TASK_QUEUE": self.queue,
            "POCKETBASE_URL": f"http://127.0.0.1:{self.pb_port}",
            "POCKETBASE_ADMIN_EMAIL": self.admin[0],
            "POCKETBASE_ADMIN_PASSWORD": self.admin[1],
            "FAULTS_MARKS": str(self.marks),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }

    async def start(self) -> None:
        await self.start_temporal()
        self.start_pocketbase()
        os.environ.update(self.env)  # the in-process CLI cases read the same settings
        settings = load_settings()
        self.store = PocketBaseTaskStore.from_settings(settings)
        registry = ProcessorRegistry.of(FaultTask, FaultFlow)
        client = await connect_temporal(settings)
        self.tasks = TaskClient(client, self.store, registry, task_queue=self.queue)

    async def restart_pocketbase(self) -> None:
        """Start PocketBase again on its data, and log the campaign's own store in afresh.

        Starting runs PocketBase's `superuser upsert`, which renews the superuser's token key:
        tokens from before the restart no longer authenticate (the workers' store logs in again
        when told so; a fresh store is the simplest way to do the same here).
        """
        self.start_pocketbase()
        old = self.store
        self.store = PocketBaseTaskStore.from_settings(load_settings())
        self.tasks = TaskClient(
            self.tasks.temporal, self.store, self.tasks.registry, task_queue=self.queue
        )
        await old.close()

    async def start_temporal(self) -> None:
        self.temporal.start()
        await self.temporal.wait_healthy(60, asyncio.Event())

    def start_pocketbase(self) -> None:
        migrations, hooks = project_pb_dirs()
        self.pocketbase = start_pocketbase(
            self.workdir / "pb_data",
            self.pb_port,
            admin_email=self.admin[0],
            admin_password=self.admin[1],
            migrations_dir=migrations,
            hooks_dir=hooks,
        )

    def pocketbase_api(self) -> PocketBaseServer:
        """The PocketBase as the test helpers see it (users of a workspace, the superuser)."""
        assert self.pocketbase is not None
        return PocketBaseServer(self.pocketbase.url, *self.admin, self.pocketbase)

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"worker-{len(self.workers)}.log").open("wb")
        script = Path(sys.executable).parent / "durable-tasks"
        proc = subprocess.Popen(
            [str(script), "worker", "--import", "faults.processors", "--graceful-shutdown", "2"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.workers.append(proc)
        return proc

    def kill_worker(self, pid: int) -> None:
        """SIGKILL one worker we started, by its PID, and reap it."""
        for proc in self.workers:
            if proc.pid == pid and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.workers if p.poll() is None]

    async def stop(self) -> None:
        for proc in self.live_workers():
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.workers:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        try:
            await self.store.close()
        except AttributeError:  # start() did not get that far
            pass
        if self.pocketbase is not None:
            self.pocketbase.stop()
        self.temporal.stop()
