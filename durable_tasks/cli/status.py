"""`durable-tasks status` and `list`: read task records (and a running flow's live result).

Both print for people by default (rich tables; plain text when stdout is not a terminal) and for
programs with `--json`, in the record's own camelCase field names.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from durable_tasks.cli._common import (
    EXIT_OK,
    SETTINGS_HELP,
    add_import_option,
    add_task_id,
    check_task_arg,
    load,
    open_store,
    positive_int,
    run,
    task_client,
)

if TYPE_CHECKING:
    from durable_tasks.client import TaskClient
    from durable_tasks.models import TaskResult

_STATUS_DESCRIPTION = f"""\
Show a task: its record (status, progress, attempts, timestamps, the tail of its error log)
and, while a flow runs, its live TaskResult queried from the workflow (one row per step).

--json prints one JSON object instead:
  {{"record": {{...the record, camelCase...}}, "live": {{...TaskResult...}} or null,
   "workflowStatus": "RUNNING" | "COMPLETED" | "FAILED" | ... or null}}

{SETTINGS_HELP}"""

_STATUS_EPILOG = """\
examples:
  durable-tasks status k3j5x9q2m1z8a7b
  durable-tasks status k3j5x9q2m1z8a7b --json | jq .record.status

exit codes: 0 shown, 2 no such task or bad settings.
"""

_LIST_DESCRIPTION = f"""\
List task records, newest first, filtered by workspace, status and type (all optional).
--json prints a JSON array of records (camelCase field names) instead of a table.

{SETTINGS_HELP}"""

_LIST_EPILOG = """\
examples:
  durable-tasks list
  durable-tasks list --workspace acme --status FAILED
  durable-tasks list --type video-processing --limit 5 --json

exit codes: 0 listed (even when nothing matched), 2 bad options or settings.
"""

_STATUSES = ("PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `status` and `list` commands."""
    status = subparsers.add_parser(
        "status",
        help="show a task's record and, for a running flow, its live per-step result",
        description=_STATUS_DESCRIPTION,
        epilog=_STATUS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_task_id(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    add_import_option(status)
    status.set_defaults(handler=_status)

    listing = subparsers.add_parser(
        "list",
        help="list tasks (filter by workspace, status, type)",
        description=_LIST_DESCRIPTION,
        epilog=_LIST_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--workspace", metavar="W", help="only tasks of workspace W")
    listing.add_argument(
        "--status",
        type=str.upper,
        choices=_STATUSES,
        metavar="S",
        help="only tasks in status S: " + ", ".join(_STATUSES) + " (any case)",
    )
    listing.add_argument("--type", metavar="T", help="only tasks of type T")
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=50,
        metavar="N",
        help="at most N tasks, the newest (default: 50)",
    )
    listing.add_argument("--json", action="store_true", help="print a JSON array of records")
    listing.set_defaults(handler=_list)


def _status(args: argparse.Namespace) -> int:
    check_task_arg(args)
    return run(_status_async(args))


async def _status_async(args: argparse.Namespace) -> int:
    from rich.console import Console

    from durable_tasks.cli._render import TaskStatusView, record_view

    async with task_client(load(), args.imports) as client:
        view = await client.status(args.task_id)
        live = view.live
        if live is None and view.workflow_status == "RUNNING":
            live = await _query_live(client, args.task_id, view.record.type)
    shown = TaskStatusView(record=view.record, live=live, workflow_status=view.workflow_status)
    if args.json:
        print(shown.model_dump_json())
    else:
        Console().print(record_view(shown))
    return EXIT_OK


async def _query_live(client: TaskClient, task_id: str, type: str) -> TaskResult | None:
    """Ask a running workflow for its TaskResult even when this process does not know the
    flow (no --import): every flow answers the `task_result` query; simple tasks do not."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from durable_tasks.models import TaskResult

    if type in client.registry.simple:
        return None
    try:
        result: TaskResult = await client.handle(task_id).query(
            "task_result", result_type=TaskResult
        )
    except (WorkflowQueryFailedError, RPCError):
        return None  # not a flow, or it ended in between: the record says the rest
    return result


def _list(args: argparse.Namespace) -> int:
    if args.workspace is not None:
        from durable_tasks.ids import check_workspace_id

        check_workspace_id(args.workspace)
    return run(_list_async(args))


async def _list_async(args: argparse.Namespace) -> int:
    from pydantic import TypeAdapter
    from rich.console import Console

    from durable_tasks.cli._render import records_table
    from durable_tasks.models import TaskRecord, TaskStatus

    store = open_store(load())
    try:
        records = await store.list(
            workspace_id=args.workspace,
            status=TaskStatus(args.status) if args.status else None,
            type=args.type,
            limit=args.limit,
        )
    finally:
        await store.close()
    if args.json:
        print(TypeAdapter(list[TaskRecord]).dump_json(records).decode())
    elif not records:
        print("no tasks match")
    else:
        Console().print(records_table(records))
    return EXIT_OK
