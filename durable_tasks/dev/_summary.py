"""What `durable-tasks dev` prints once the stack is up: where everything is, how to log in."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from durable_tasks.dev._credentials import Credentials
    from durable_tasks.dev._pocketbase_server import PocketBaseProcess
    from durable_tasks.dev._temporal_server import TemporalDevServer
    from durable_tasks.settings import Settings

HOST = "127.0.0.1"


class _StackConfig(Protocol):
    """What the summary reads of the stack's configuration (`DevStackConfig`)."""

    @property
    def with_worker(self) -> bool: ...

    @property
    def smtp_port(self) -> int: ...

    @property
    def data_dir(self) -> Path: ...


def print_summary(
    out: TextIO,
    config: _StackConfig,
    settings: Settings,
    board: tuple[Credentials, Credentials, str],
    temporal: TemporalDevServer,
    pocketbase: PocketBaseProcess,
) -> None:
    """The summary: addresses, logs, the superuser and the demo user, the export line."""
    credentials, demo, video_url = board
    worker = (
        f"task queue {settings.task_queue!r}"
        if config.with_worker
        else "not started (--no-worker); run `durable-tasks worker` in another shell"
    )
    lines = [
        "",
        f"  Temporal          {temporal.address}  (pid {temporal.pid}, namespace "
        f"{settings.temporal_namespace!r}, log {temporal.log_file})",
        f"  Temporal UI       {temporal.ui_url}",
        f"  PocketBase        {pocketbase.url}  (pid {pocketbase.pid}, log {pocketbase.log_path})",
        f"  Task board        {pocketbase.url}/  (log in as the demo user)",
        f"  PocketBase admin  {pocketbase.url}/_/",
        f"  SMTP sink         {HOST}:{config.smtp_port}  (mail in {config.data_dir / 'mail'})",
        f"  Superuser         {credentials.email}  password {credentials.password}",
        f"                    ({credentials.origin})",
        f"  Demo user         {demo.email}  password {demo.password}  (workspace demo)",
        f"                    ({demo.origin})",
        f"  Sample video      {video_url or 'none'}  (a videoUrl for video-processing)",
        f"  Worker            {worker}",
        "",
        "  Other shells reach this stack with:",
        f"    export TEMPORAL_ADDRESS={settings.temporal_address} "
        f"POCKETBASE_URL={settings.pocketbase_url}",
        "",
        "durable-tasks dev is ready; Ctrl-C stops "
        + ("the worker, then both servers." if config.with_worker else "both servers."),
    ]
    print("\n".join(lines), file=out, flush=True)
