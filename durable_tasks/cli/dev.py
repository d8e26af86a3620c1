"""`durable-tasks dev`: the whole stack (Temporal, PocketBase, a worker) for local development.

The command resolves ports and the data directory (flag, else environment, else default) and hands
over to `durable_tasks.dev`, which holds the logic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from durable_tasks.cli._common import import_from_working_directory
from durable_tasks.errors import ConfigurationError

if TYPE_CHECKING:
    from durable_tasks.dev import DevStackConfig

_DESCRIPTION = """\
Start a complete local stack from the pip-installed binaries, with no Docker and no downloads:

  - a Temporal dev server (state kept in DATA_DIR/temporal.db) and its web UI,
  - PocketBase (state in DATA_DIR/pb) with the package's pb_migrations/ and pb_hooks/,
    and a superuser: POCKETBASE_ADMIN_EMAIL/POCKETBASE_ADMIN_PASSWORD if set, otherwise one
    generated on first start and saved in DATA_DIR/pocketbase-admin.json (mode 0600),
  - a worker in this process, pointed at both (unless --no-worker), running the processors of
    the modules named by --import and DURABLE_TASKS_IMPORTS (imported with the current directory
    first on the path; with none named it exits 2).

It waits until both servers are healthy, then prints the Temporal UI and PocketBase admin URLs
and the superuser's credentials. Ctrl-C (or SIGTERM) stops the worker, then both servers.
If a port is already taken it says which and exits 2 before starting anything.
"""

_EPILOG = """\
environment (a flag wins over its variable):
  DURABLE_TASKS_DEV_TEMPORAL_PORT, DURABLE_TASKS_DEV_UI_PORT,
  DURABLE_TASKS_DEV_POCKETBASE_PORT, DURABLE_TASKS_DEV_DATA_DIR

examples:
  durable-tasks dev --import myapp.processors
  durable-tasks dev --import workflows --import activities   # this repository's examples (make run)
  durable-tasks dev --no-worker --temporal-port 7300 --ui-port 8300 --pocketbase-port 8100 --smtp-port 8125
"""

# option dest -> (environment variable, default)
_FALLBACKS: dict[str, tuple[str, str]] = {
    "temporal_port": ("DURABLE_TASKS_DEV_TEMPORAL_PORT", "7233"),
    "ui_port": ("DURABLE_TASKS_DEV_UI_PORT", "8233"),
    "pocketbase_port": ("DURABLE_TASKS_DEV_POCKETBASE_PORT", "8090"),
    "smtp_port": ("DURABLE_TASKS_DEV_SMTP_PORT", "8025"),
    "data_dir": ("DURABLE_TASKS_DEV_DATA_DIR", ".data"),
}


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return int(text)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `dev` command."""
    parser = subparsers.add_parser(
        "dev",
        help="run Temporal, PocketBase and a worker locally (what `make run` does)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--temporal-port", type=_port, metavar="PORT", help="Temporal gRPC port (default 7233)"
    )
    parser.add_argument(
        "--ui-port", type=_port, metavar="PORT", help="Temporal web UI port (default 8233)"
    )
    parser.add_argument(
        "--pocketbase-port", type=_port, metavar="PORT", help="PocketBase HTTP port (default 8090)"
    )
    parser.add_argument(
        "--smtp-port",
        type=_port,
        metavar="PORT",
        help="port of the local SMTP sink the email example sends to (default 8025)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where both servers keep their state, logs and the superuser file (default .data)",
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="run the processors defined in MODULE on the stack's worker (repeatable); added to "
        "those DURABLE_TASKS_IMPORTS names",
    )
    parser.add_argument(
        "--no-worker",
        dest="with_worker",
        action="store_false",
        help="start only the two servers (run `durable-tasks worker` yourself)",
    )
    parser.set_defaults(handler=_run, default_log_level="info")


def _resolve(args: argparse.Namespace, dest: str) -> str:
    """The flag's value, else its environment variable, else the default, as text."""
    value = getattr(args, dest)
    if value is not None:
        return str(value)
    variable, default = _FALLBACKS[dest]
    return os.environ.get(variable) or default


def _resolve_port(args: argparse.Namespace, dest: str) -> int:
    text = _resolve(args, dest)
    try:
        return _port(text)
    except argparse.ArgumentTypeError as exc:
        raise ConfigurationError(f"{_FALLBACKS[dest][0]}: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    from durable_tasks.dev import DevServerError, DevStackConfig, PocketBaseStartError

    config = DevStackConfig(
        data_dir=Path(_resolve(args, "data_dir")),
        temporal_port=_resolve_port(args, "temporal_port"),
        ui_port=_resolve_port(args, "ui_port"),
        pocketbase_port=_resolve_port(args, "pocketbase_port"),
        smtp_port=_resolve_port(args, "smtp_port"),
        with_worker=args.with_worker,
        imports=tuple(args.imports),
    )
    import_from_working_directory()
    try:
        return asyncio.run(_main(config))
    except (DevServerError, PocketBaseStartError) as exc:
        # Not a usage error: a server failed. Keep its log lines, they say why.
        print(f"durable-tasks: error: {exc}", file=sys.stderr)
        return 1


async def _main(config: DevStackConfig) -> int:
    from durable_tasks._signals import stop_on_signals
    from durable_tasks.dev import run_dev_stack

    with stop_on_signals() as signals:
        return await run_dev_stack(config, signals, sys.stdout)
