"""`durable-tasks reconcile`: repair records left RUNNING by workflows that ended without code.

Workers run the same repair every minute; this command is for an operator who wants it now, or
wants to see what it would do (`--dry-run`).
"""

from __future__ import annotations

import argparse
from typing import Any

from durable_tasks.cli._common import SETTINGS_HELP, load, open_store, run

_DESCRIPTION = """\
Compare every RUNNING task record with its Temporal execution. A run that was terminated or hit
its execution timeout ran no code, so nothing wrote its end: the record is set to FAILED (or
CANCELLED, or SUCCESS if the workflow did complete) with an error-log entry saying why.
Safe to run at any time, from anywhere, as often as you like.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `reconcile` command."""
    parser = subparsers.add_parser(
        "reconcile",
        help="repair task records whose workflow ended without finishing them",
        description=_DESCRIPTION,
        epilog="examples:\n  durable-tasks reconcile --dry-run\n  durable-tasks reconcile\n\n"
        + SETTINGS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="only list what would be repaired")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    return run(_reconcile(args.dry_run))


async def _reconcile(dry_run: bool) -> int:
    from durable_tasks.client import connect_temporal
    from durable_tasks.reconcile import reconcile

    settings = load()
    temporal = await connect_temporal(settings)
    store = open_store(settings)
    try:
        repairs = await reconcile(temporal, store, dry_run=dry_run)
    finally:
        await store.close()
    verb = "would set" if dry_run else "set"
    for repair in repairs:
        print(
            f"{repair.task_id}: {repair.reason} ({repair.workflow_status}); {verb} {repair.new_status}"
        )
    print(f"{len(repairs)} record(s) {'to repair' if dry_run else 'repaired'}")
    return 0
