"""How the task commands show records to people (rich) and to programs (JSON models)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from durable_tasks.models import CamelModel, StepResult, TaskRecord, TaskResult, TaskStatus

STATUS_STYLES = {
    TaskStatus.PENDING: "dim",
    TaskStatus.RUNNING: "cyan",
    TaskStatus.SUCCESS: "green",
    TaskStatus.FAILED: "bold red",
    TaskStatus.CANCELLED: "yellow",
}
STEP_STYLES = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "bold red",
    "skipped": "dim",
    "cancelled": "yellow",
}
ERROR_TAIL_ENTRIES = 5
ERROR_TAIL_STACK_LINES = 12


class TaskStatusView(CamelModel):
    """`durable-tasks status --json`: the record, the live TaskResult, the workflow's status."""

    record: TaskRecord
    live: TaskResult | None = None
    workflow_status: str | None = None


def flow_result(record: TaskRecord, live: TaskResult | None = None) -> TaskResult | None:
    """The TaskResult to show: the live one, else the record's result if it is a flow's."""
    if live is not None:
        return live
    result = record.result
    if not isinstance(result, dict) or not isinstance(result.get("steps"), dict):
        return None
    try:
        return TaskResult.model_validate(result)
    except ValidationError:
        return None  # a simple processor's result that happens to have a `steps` key


def status_text(status: TaskStatus) -> Text:
    return Text(str(status), style=STATUS_STYLES.get(status, ""))


def when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def percent(value: float) -> str:
    return f"{int(value)}%"


def record_view(view: TaskStatusView) -> RenderableType:
    """The human `status` output: facts, per-step table, result, error-log tail."""
    record = view.record
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    # Data goes in as Text: a plain str in a table is parsed as rich markup ("[x]" vanishes).
    facts.add_row("task", Text(record.id))
    facts.add_row("type", Text(record.type))
    facts.add_row("workspace", Text(record.workspace_id))
    facts.add_row("status", status_text(record.status))
    facts.add_row("progress", percent(record.progress))
    facts.add_row("attempts", str(record.attempts))
    facts.add_row("started", when(record.started_at))
    facts.add_row("completed", when(record.completed_at))
    workflow = record.workflow_id or "-"
    if view.workflow_status:
        workflow += f" ({view.workflow_status.lower()})"
    facts.add_row("workflow", Text(workflow))
    facts.add_row("version", f"seq {record.seq}")
    parts: list[RenderableType] = [facts]
    result = flow_result(record, view.live)
    if result is not None:
        title = "steps (live)" if view.live is not None else "steps"
        parts += [Text(""), steps_table(result, title=title)]
    elif record.result is not None:
        parts += [Text(""), Text("result", style="bold"), Text(_short_json(record.result))]
    parts += error_tail(record)
    return Group(*parts)


def error_tail(record: TaskRecord) -> list[RenderableType]:
    """The last failed attempts, one line each, and the stack of the very last one."""
    if record.errors:
        entries = record.errors[-ERROR_TAIL_ENTRIES:]
        head = f"error log (last {len(entries)} of {len(record.errors)} failed attempts)"
        lines = [entry.render().splitlines()[0] for entry in entries]
        stack = entries[-1].stack.rstrip().splitlines()[-ERROR_TAIL_STACK_LINES:]
        return [
            Text(""),
            Text(head, style="bold"),
            Text("\n".join(lines), style="red"),
            Text("\n".join(stack), style="dim"),
        ]
    if record.error_log:  # written by hand, without structured entries
        lines = record.error_log.rstrip().splitlines()[-ERROR_TAIL_STACK_LINES:]
        return [Text(""), Text("error log (tail)", style="bold"), Text("\n".join(lines))]
    return []


def ordered_steps(result: TaskResult) -> list[tuple[str, StepResult]]:
    """Steps in the order they started, those not started yet last.

    The live TaskResult lists steps in declared order, but a record read back from PocketBase
    has its JSON object keys sorted (it stores them as a Go map), so the start time is the only
    order both agree on.
    """
    never = datetime.max.replace(tzinfo=UTC)
    return sorted(result.steps.items(), key=lambda item: item[1].started_at or never)


def steps_table(result: TaskResult, *, title: str = "steps") -> Table:
    """One row per step: status, attempts, times, error."""
    table = Table(title=title, title_justify="left", show_edge=False)
    for column in ("step", "status", "attempts", "started", "completed", "error"):
        table.add_column(column)
    for name, step in ordered_steps(result):
        table.add_row(
            Text(name),
            Text(str(step.status), style=STEP_STYLES.get(str(step.status), "")),
            str(step.attempts),
            when(step.started_at),
            when(step.completed_at),
            Text(step.error or "", style="red"),
        )
    return table


def records_table(records: list[TaskRecord]) -> Table:
    """The `list` table."""
    table = Table(show_edge=False)
    for column in ("id", "type", "workspace", "status", "progress", "attempts", "started"):
        table.add_column(column, no_wrap=column == "id")
    for record in records:
        table.add_row(
            Text(record.id),
            Text(record.type),
            Text(record.workspace_id),
            status_text(record.status),
            percent(record.progress),
            str(record.attempts),
            when(record.started_at),
        )
    return table


def step_summary(result: TaskResult | None) -> str:
    """`download=completed transcode=running ...` for plain (non-terminal) output."""
    if result is None:
        return ""
    return " ".join(f"{name}={step.status}" for name, step in ordered_steps(result))


def _short_json(value: Any, limit: int = 2000) -> str:
    text = json.dumps(value, indent=2, default=str)
    return text if len(text) <= limit else text[:limit] + "\n..."
