"""`durable-tasks start`, `cancel` and `rerun`: the commands that change what runs.

Each is a thin shell over `TaskClient`, so the CLI and the Python API behave the same: input is
validated before anything is started, a duplicate start says "already running" or "already
finished" instead of deduplicating silently, and a rerun keeps a flow's completed steps.
"""

from __future__ import annotations

import argparse
from typing import Any

from durable_tasks.cli._common import (
    EXIT_FAILED,
    EXIT_OK,
    SETTINGS_HELP,
    add_import_option,
    add_task_id,
    check_task_arg,
    exit_code_for,
    final_line,
    load,
    parse_input,
    run,
    task_client,
    wait_final,
)

_START_DESCRIPTION = f"""\
Start a task of type TYPE in workspace W with the job data given by --input (a JSON object).

The data is validated against the processor's input model before anything is started: a bad
field is named and nothing is created (exit 2); an unknown TYPE lists the known ones. The task
record is created (PENDING) and the workflow `task-<TASK_ID>` started; the command prints the
task id and "started". Starting a task id that is running prints "already running" (and, with
--wait, waits for it); one that has finished prints "already finished" and starts nothing: use
`durable-tasks rerun` for that.

{SETTINGS_HELP}"""

_START_EPILOG = """\
examples:
  durable-tasks start send-email --workspace acme --input '{"to": "ada@example.com"}'
  durable-tasks start video-processing --workspace acme --input @job.json --wait
  durable-tasks start report --workspace acme --task-id report-2024-06 --import myapp.processors

exit codes: 0 started (with --wait: the task succeeded), 1 with --wait: the task failed or
was cancelled, 2 invalid input, unknown type or bad settings.
"""

_CANCEL_DESCRIPTION = f"""\
Cancel a running task. Running steps are cancelled through their heartbeats and the record ends
CANCELLED. With --wait, wait until the task has ended.

{SETTINGS_HELP}"""

_CANCEL_EPILOG = """\
examples:
  durable-tasks cancel k3j5x9q2m1z8a7b
  durable-tasks cancel k3j5x9q2m1z8a7b --wait

exit codes: 0 cancelled (requested; with --wait: the task ended CANCELLED), 1 the task was not
running (or finished otherwise before the cancel took effect), 2 no such task.
"""

_RERUN_DESCRIPTION = f"""\
Run a finished (SUCCESS, FAILED or CANCELLED) task again with the same job data. A flow keeps
the steps that completed in the earlier run and starts from where it failed; a simple task runs
again from the start. A task that is still running is refused.

{SETTINGS_HELP}"""

_RERUN_EPILOG = """\
examples:
  durable-tasks rerun k3j5x9q2m1z8a7b
  durable-tasks rerun k3j5x9q2m1z8a7b --wait --import myapp.processors

exit codes: 0 started (with --wait: the task succeeded), 1 with --wait: the task failed or
was cancelled, 2 no such task, the task is still running, or its type is unknown.
"""


def _wait_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--wait",
        action="store_true",
        help=f"{what}; exit 0 on SUCCESS, 1 on FAILED or CANCELLED",
    )


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `start`, `cancel` and `rerun` commands."""
    start = subparsers.add_parser(
        "start",
        help="validate job data and start a task (or say it is already running/finished)",
        description=_START_DESCRIPTION,
        epilog=_START_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    start.add_argument("type", metavar="TYPE", help="the task type (the processor's name)")
    start.add_argument(
        "--workspace",
        required=True,
        metavar="W",
        help="the workspace (tenant) the task belongs to",
    )
    start.add_argument(
        "--input",
        default="{}",
        metavar="JSON",
        help="the job data: a JSON object, or @FILE to read one from FILE (default: {})",
    )
    start.add_argument(
        "--task-id",
        default=None,
        metavar="ID",
        help="the task id: 1-64 lowercase letters, digits, - and _, starting with a letter or "
        "digit (default: a new random id); starting the same id twice never runs the task twice",
    )
    _wait_option(start, "wait until the task ends")
    add_import_option(start)
    start.set_defaults(handler=_start)

    cancel = subparsers.add_parser(
        "cancel",
        help="cancel a running task",
        description=_CANCEL_DESCRIPTION,
        epilog=_CANCEL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_task_id(cancel)
    cancel.add_argument(
        "--wait",
        action="store_true",
        help="wait until the task has ended; exit 0 if it ended CANCELLED, else 1",
    )
    cancel.set_defaults(handler=_cancel)

    rerun = subparsers.add_parser(
        "rerun",
        help="run a finished task again (a flow keeps its completed steps)",
        description=_RERUN_DESCRIPTION,
        epilog=_RERUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_task_id(rerun)
    _wait_option(rerun, "wait until the rerun ends")
    add_import_option(rerun)
    rerun.set_defaults(handler=_rerun)


def _start(args: argparse.Namespace) -> int:
    from durable_tasks.ids import check_task_id, check_type_name, check_workspace_id

    # Before anything else: a typo costs no connection.
    check_type_name(args.type)
    check_workspace_id(args.workspace)
    if args.task_id is not None:  # `--task-id ""` is an error, not "generate one"
        check_task_id(args.task_id)
    data = parse_input(args.input)
    return run(_start_async(args, data))


async def _start_async(args: argparse.Namespace, data: dict[str, Any]) -> int:
    async with task_client(load(), args.imports) as client:
        outcome = await client.start(
            args.type, workspace_id=args.workspace, input=data, task_id=args.task_id
        )
        print(outcome.message, flush=True)
        if not args.wait:
            return EXIT_OK
        if outcome.outcome == "already finished":
            record = await client.store.get(outcome.task_id)
            return EXIT_OK if record is None else exit_code_for(record)
        record = await wait_final(client, outcome.task_id)
        print(final_line(record))
        return exit_code_for(record)


def _cancel(args: argparse.Namespace) -> int:
    check_task_arg(args)
    return run(_cancel_async(args))


async def _cancel_async(args: argparse.Namespace) -> int:
    from durable_tasks.errors import TaskNotFoundError
    from durable_tasks.models import TaskStatus

    async with task_client(load(), []) as client:
        record = await client.store.get(args.task_id)
        cancelled = await client.cancel(args.task_id)
        if record is None and not cancelled:
            raise TaskNotFoundError(f"no task {args.task_id!r}")
        if not cancelled:
            status = f" ({record.status})" if record is not None else ""
            print(f"task {args.task_id} is not running{status}; nothing to cancel")
            return EXIT_FAILED
        print(f"task {args.task_id}: cancellation requested", flush=True)
        if not args.wait:
            return EXIT_OK
        final = await wait_final(client, args.task_id)
        print(final_line(final))
        return EXIT_OK if final.status == TaskStatus.CANCELLED else EXIT_FAILED


def _rerun(args: argparse.Namespace) -> int:
    check_task_arg(args)
    return run(_rerun_async(args))


async def _rerun_async(args: argparse.Namespace) -> int:
    async with task_client(load(), args.imports) as client:
        outcome = await client.rerun(args.task_id)
        print(outcome.message, flush=True)
        if not args.wait:
            return EXIT_OK
        record = await wait_final(client, args.task_id)
        print(final_line(record))
        return exit_code_for(record)
