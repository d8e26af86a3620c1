"""The `durable-tasks` command line: one argparse sub-command per module in this package.

Every public module here (a name without a leading underscore) is a command group: it exposes
`register(subparsers)`, which adds its sub-command(s) and sets `handler` (a function taking the
parsed `argparse.Namespace` and returning the exit code) with `parser.set_defaults(handler=...)`.
Adding a command is adding a module; nothing here has to change. `register` must stay cheap:
import Temporal, PocketBase and friends inside the handler, so `--help` and usage errors are fast.

Exit codes, shared by every command:

    0  success
    1  the task failed or was cancelled (or the command could not finish its job)
    2  usage or input error: bad arguments (argparse's own convention), a missing or malformed
       setting, invalid job data -- anything the user fixes before trying again

A `DurableTasksError` that escapes a handler is printed as one line,
`durable-tasks: error: <message>`, and exits 2: users see what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from durable_tasks.errors import DurableTasksError

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "console_main", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

PROG = "durable-tasks"

Handler = Callable[[argparse.Namespace], int]

_DESCRIPTION = """\
BullMQ-style task processors for Python, made durable by Temporal, with every task's state
visible in PocketBase.

Settings come from the environment: TEMPORAL_ADDRESS (default localhost:7233),
TEMPORAL_NAMESPACE (default), DURABLE_TASKS_TASK_QUEUE (durable-tasks), POCKETBASE_URL
(http://127.0.0.1:8090), POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD, and
DURABLE_TASKS_IMPORTS: the modules (comma-separated) that define your processors.
"""

_EPILOG = """\
exit codes: 0 success, 1 task failed or cancelled, 2 usage or input error.
Run `durable-tasks COMMAND --help` for the options of one command.
"""


def _package_version() -> str:
    try:
        return version("durable-tasks")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _command_modules() -> list[str]:
    """The command modules of this package, sorted so `--help` lists commands in a stable order."""
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every command module registered."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_package_version()}")
    parser.add_argument(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default=None,
        help="how much to log to stderr (default: info for long-running commands, else warning)",
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text lines for people, or one JSON object per line (with taskId, workflowId, "
        "...) for log pipelines (default: text)",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for name in _command_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(subparsers)
    return parser


def _configure_logging(args: argparse.Namespace) -> None:
    from durable_tasks.logs import configure_logging

    level_name = args.log_level or getattr(args, "default_log_level", "warning")
    configure_logging(level_name, json_lines=args.log_format == "json")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `durable-tasks` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging(args)
    try:
        return handler(args)
    except DurableTasksError as exc:
        # One line whatever the message holds, so scripts can grep it and users never scroll.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # A command without its own signal handling was interrupted: no traceback, the usual code.
        return 130


def console_main() -> NoReturn:
    """The `durable-tasks` console script (and `python -m durable_tasks.cli`): `main`, then exit
    without interpreter finalization.

    Temporal's core runtime can abort the interpreter while it finalizes after a failed
    connection ("Fatal Python error: PyGILState_Release", exit 134; sdk-python #300), which
    would turn a clean one-line error with exit 2 into a crash. Everything the command wrote is
    flushed first; nothing else needs the interpreter's teardown.
    """

    try:
        code = main()
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)
