"""`durable-tasks worker`: run a worker against the Temporal and PocketBase named by the settings.

The command only parses options, loads the settings (a bad one is a one-line error, exit 2) and
turns SIGINT/SIGTERM into the `stop` event `run_worker` waits on, so a deploy's SIGTERM lets
in-flight activities finish instead of killing them. A second signal stops it at once: an
operator must always be able to end a shutdown that takes too long (or hangs: once in CI the
Temporal SDK's worker shutdown never returned).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from durable_tasks._signals import stop_on_signals
from durable_tasks.cli._common import check_importable, import_from_working_directory, positive_int
from durable_tasks.errors import ConfigurationError

if TYPE_CHECKING:
    from durable_tasks.settings import Settings

_DESCRIPTION = """\
Run a worker: it polls the task queue (DURABLE_TASKS_TASK_QUEUE) on the Temporal server at
TEMPORAL_ADDRESS and runs the flow processors (workflows) and simple processors (activities) it
knows, writing every task's state to PocketBase (POCKETBASE_URL, as POCKETBASE_ADMIN_EMAIL).

The worker runs the processors defined in the modules (packages recursively) named by
DURABLE_TASKS_IMPORTS (comma-separated) and --import; with none named it exits 2. They are
imported with the current directory first on the path. Before it polls, it connects to Temporal
and logs in to PocketBase: a wrong setting ends it at once with one line and exit 2. SIGINT or
SIGTERM stops it gracefully: it stops polling and lets running activities finish. A second
signal stops it at once (exit 130): what it had not written yet is sent again by the next
worker's replay, or repaired by the reconciler.
"""

_FORCED_EXIT = 130
_CANCEL_GRACE_S = 3.0
"""After a second signal: how long the cancelled worker gets before the process just exits."""
log = logging.getLogger("durable_tasks.worker")

_EPILOG = """\
examples:
  durable-tasks worker --import myapp.processors
  DURABLE_TASKS_IMPORTS=myapp.processors,myapp.flows durable-tasks worker
  durable-tasks worker --import myapp.processors --max-concurrent-activities 20
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `worker` command."""
    parser = subparsers.add_parser(
        "worker",
        help="run a worker that executes tasks (Ctrl-C stops it gracefully)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="run the processors defined in MODULE (repeatable), e.g. myapp.processors; added "
        "to those DURABLE_TASKS_IMPORTS names",
    )
    parser.add_argument(
        "--max-concurrent-activities",
        type=positive_int,
        default=None,
        metavar="N",
        help="run at most N activities at once in this worker (default: the SDK's default)",
    )
    parser.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        type=_host_port,
        default=None,
        help="serve Prometheus metrics of the Temporal runtime (task latencies, slots, polls) "
        "at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464",
    )
    parser.add_argument(
        "--graceful-shutdown",
        type=positive_int,
        default=30,
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, give running activities this long to finish before they are "
        "cancelled and retried on another worker (default: 30)",
    )
    parser.add_argument(
        "--no-dispatch",
        dest="dispatch",
        action="store_false",
        help="do not start tasks from PocketBase records (PENDING records, cancel and rerun "
        "requests) nor publish this worker's task types; by default every worker does both",
    )
    parser.set_defaults(handler=_run, default_log_level="info")


def _host_port(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:9464, got {text!r}")
    return text


def _run(args: argparse.Namespace) -> int:
    from durable_tasks.registry import NOTHING_TO_IMPORT, processor_modules
    from durable_tasks.settings import load_settings

    settings = load_settings()
    if not processor_modules(settings.imports, args.imports):
        raise ConfigurationError(NOTHING_TO_IMPORT)  # before connecting anywhere
    import_from_working_directory()
    check_importable(args.imports)
    grace = timedelta(seconds=args.graceful_shutdown)
    asyncio.run(
        _serve(
            settings,
            args.imports,
            args.max_concurrent_activities,
            grace,
            args.metrics,
            dispatch=args.dispatch,
        )
    )
    return 0


async def _serve(
    settings: Settings,
    imports: list[str],
    max_concurrent: int | None,
    grace: timedelta,
    metrics: str | None,
    *,
    dispatch: bool = True,
) -> None:
    from durable_tasks.worker import run_worker

    with stop_on_signals() as signals:
        work = asyncio.create_task(
            run_worker(
                settings,
                imports=imports,
                max_concurrent_activities=max_concurrent,
                stop=signals.stop,
                graceful_shutdown=grace,
                metrics_address=metrics,
                dispatch=dispatch,
            )
        )
        forced = asyncio.create_task(signals.force.wait())
        await asyncio.wait({work, forced}, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if not work.done():
            log.warning("a second signal: stopping now, without the rest of the graceful shutdown")
            work.cancel()
            await asyncio.wait({work}, timeout=_CANCEL_GRACE_S)
            if not work.done():  # what it waits on ignores cancellation: leave it behind
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(_FORCED_EXIT)
            raise SystemExit(_FORCED_EXIT)
        work.result()
