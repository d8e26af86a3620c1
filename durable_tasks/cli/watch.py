"""`durable-tasks watch`: follow a task live until it ends, with a progress bar per step.

The record is followed through PocketBase realtime (`durable_tasks.watch`), ordered by its
`seq` and refetched after every reconnect, so what is shown is never older than what was shown
before and nothing written while disconnected is missed. On a terminal it draws rich progress
bars; otherwise (a pipe, a CI log) it prints one plain line per change.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from durable_tasks.cli._common import (
    EXIT_FAILED,
    SETTINGS_HELP,
    add_task_id,
    check_task_arg,
    exit_code_for,
    final_line,
    load,
    open_store,
    positive_float,
    run,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from rich.console import Console
    from rich.progress import Progress, TaskID

    from durable_tasks.models import TaskRecord

_DESCRIPTION = f"""\
Follow a task until it reaches a final state: a progress bar for the task and one for each
step of a flow (pulsing while the step runs), updated in real time through PocketBase realtime.
Events are ordered by the record's version (`seq`) and the record is read again after every
reconnect, so a dropped connection loses nothing. When stdout is not a terminal, one plain line
is printed per change instead. --poll reads the record every --interval seconds instead of
subscribing (for networks that buffer server-sent events). A task that has already ended
is shown once. watch reads PocketBase only: it needs no Temporal server.

{SETTINGS_HELP}"""

_EPILOG = """\
examples:
  durable-tasks watch k3j5x9q2m1z8a7b
  durable-tasks watch k3j5x9q2m1z8a7b --timeout 600 | tee watch.log
  durable-tasks watch k3j5x9q2m1z8a7b --poll --interval 2

exit codes: 0 the task succeeded, 1 it failed or was cancelled (or --timeout passed first),
2 no such task or bad settings.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `watch` command."""
    parser = subparsers.add_parser(
        "watch",
        help="follow a task live (progress bars per step) until it ends",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_task_id(parser)
    parser.add_argument(
        "--poll",
        action="store_true",
        help="read the record periodically instead of subscribing to PocketBase realtime",
    )
    parser.add_argument(
        "--interval",
        type=positive_float,
        default=0.5,
        metavar="SECONDS",
        help="with --poll: seconds between reads (default: 0.5)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="give up after SECONDS if the task has not ended (exit 1; default: wait forever)",
    )
    parser.set_defaults(handler=_watch)


def _watch(args: argparse.Namespace) -> int:
    check_task_arg(args)
    return run(_watch_async(args))


async def _watch_async(args: argparse.Namespace) -> int:
    from rich.console import Console

    from durable_tasks.pocketbase import PocketBaseRealtime
    from durable_tasks.watch import PollingSource, RecordSource, TaskWatcher

    settings = load()
    store = open_store(settings)
    source: RecordSource
    if args.poll:
        source = PollingSource(store, interval=args.interval)
    else:
        source = PocketBaseRealtime.from_settings(settings)
    console = Console()
    seen: list[TaskRecord] = []
    try:
        async with aclosing(TaskWatcher(store, source).subscribe(args.task_id)) as records:
            async with asyncio.timeout(args.timeout):
                await _show(_remember(records, seen), console)
    except TimeoutError:
        where = f"{seen[-1].status} at {int(seen[-1].progress)}%" if seen else "no record seen"
        console.print(
            f"task {args.task_id}: still not finished after {args.timeout:g} s ({where})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    finally:
        await store.close()
    if not seen:  # the watcher ends only after a record, or raises: keep readers sure
        return EXIT_FAILED
    console.print(
        final_line(seen[-1]), markup=False, highlight=False, soft_wrap=True
    )  # one line, for grep
    return exit_code_for(seen[-1])


async def _remember(
    records: AsyncIterator[TaskRecord], seen: list[TaskRecord]
) -> AsyncIterator[TaskRecord]:
    """Pass records through, keeping the latest in `seen` (what a timeout reports)."""
    async for record in records:
        seen[:] = [record]
        yield record


async def _show(records: AsyncIterator[TaskRecord], console: Console) -> None:
    """Render every record until the iterator ends."""
    if console.is_terminal:
        await _show_bars(records, console)
    else:
        await _show_lines(records, console)


async def _show_lines(records: AsyncIterator[TaskRecord], console: Console) -> None:
    from durable_tasks.cli._render import flow_result, step_summary

    previous = ""
    async for record in records:
        line = " ".join(
            part
            for part in (
                f"task {record.id}",
                str(record.status),
                f"{int(record.progress)}%",
                step_summary(flow_result(record)),
            )
            if part
        )
        if line != previous:  # one line per visible change, not per write
            console.print(
                f"{time.strftime('%H:%M:%S')} {line}", markup=False, highlight=False, soft_wrap=True
            )
            previous = line


async def _show_bars(records: AsyncIterator[TaskRecord], console: Console) -> None:
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[state]}"),
        console=console,
    )
    with progress:
        main = progress.add_task("task", total=100, state="")
        steps: dict[str, TaskID] = {}
        async for record in records:
            progress.update(
                main,
                description=escape(f"task {record.id} ({record.type})"),
                completed=record.progress,
                state=f"[{_style(str(record.status))}]{record.status}",
            )
            _update_steps(progress, steps, record)


_STEP_DONE = {"completed", "skipped"}


def _update_steps(progress: Progress, steps: dict[str, TaskID], record: TaskRecord) -> None:
    from rich.markup import escape

    from durable_tasks.cli._render import flow_result, ordered_steps

    result = flow_result(record)
    if result is None:
        return
    for name, step in ordered_steps(result):
        state = str(step.status)
        if name not in steps:
            steps[name] = progress.add_task(escape(f"  {name}"), total=100, state="")
        progress.update(
            steps[name],
            total=100,
            completed=100 if state in _STEP_DONE else 0,
            state=f"[{_style(state)}]{state}",
        )
        if state == "running":
            _pulse(progress, steps[name])


def _pulse(progress: Progress, task_id: TaskID) -> None:
    """Make a bar indeterminate: no progress inside a step is recorded, so a running step
    pulses. (`Progress.update(total=None)` means "leave total alone", hence the Task itself.)"""
    for task in progress.tasks:
        if task.id == task_id:
            task.total = None


def _style(status: str) -> str:
    from durable_tasks.cli._render import STATUS_STYLES, STEP_STYLES

    styles: dict[str, str] = {**STEP_STYLES, **{str(k): v for k, v in STATUS_STYLES.items()}}
    return styles.get(status, "default")
