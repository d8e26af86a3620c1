"""Starting tasks from records: what the dispatcher reads, what the workers publish.

A front end that only speaks PocketBase starts a task by creating a `PENDING` record, and asks
for a cancel or a rerun by setting a flag on it (pb_migrations/1700000200_front_end_api.js).
Each worker's dispatcher (`durable_tasks._dispatcher`) turns those records into workflow
starts, cancels and reruns. So that front ends can build forms, and so that a task of a type no
live worker serves waits instead of failing, each worker also publishes the types it serves.

This module holds the shapes both sides share and the protocol a record source implements
(`durable_tasks.pocketbase.PocketBaseDispatchSource` on PocketBase), so the dispatcher itself
never knows which store it talks to.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import Field

from durable_tasks._job_data import NOT_CONFIG
from durable_tasks.models import CamelModel, TaskStatus
from durable_tasks.registry import ProcessorRegistry


class TaskRequest(CamelModel):
    """What the dispatcher needs of a task record: who, what, where it stands, what is asked."""

    id: str
    workspace_id: str
    type: str
    status: TaskStatus = TaskStatus.PENDING
    input: Any = None
    cancel_requested: bool = False
    rerun_requested: bool = False
    seq: int = 0


class StepInfo(CamelModel):
    """One step of a flow, as a front end draws it: its name and what it waits for."""

    name: str
    depends_on: list[str] = Field(default_factory=list)


class TaskType(CamelModel):
    """A task type as a worker publishes it (`task_types` collection)."""

    name: str
    kind: Literal["simple", "flow"]
    title: str = ""
    input_schema: dict[str, Any] = Field(default_factory=dict)
    """JSON Schema of the input a front end sends (the job data minus the framework's fields)."""
    steps: list[StepInfo] = Field(default_factory=list)
    last_seen: datetime | None = None


class Reconnected:
    """Marker yielded by `DispatchSource.changes` each time the subscription is (re)made:
    events in between were missed, so the dispatcher sweeps."""


RECONNECTED = Reconnected()


class DispatchSource(Protocol):
    """Where task records and task types live, for the dispatcher."""

    async def publish_types(self, types: Sequence[TaskType]) -> None:
        """Create or update each type, with `last_seen` now."""
        ...

    async def task_types(self) -> list[TaskType]:
        """Every published type (any worker's, live or not)."""
        ...

    async def actionable(self, *, page: int, per_page: int) -> list[TaskRequest]:
        """One page (1-based) of records needing the dispatcher: PENDING, or with a request."""
        ...

    def changes(self) -> AsyncIterator[TaskRequest | Reconnected]:
        """Created and updated task records, live; `RECONNECTED` when (re)subscribed. Ends or
        raises when the connection is lost."""
        ...

    async def claim_rerun(self, task_id: str) -> bool:
        """Clear the task's rerun (and cancel) request atomically; True for the one caller that
        cleared it, so a rerun request runs once however many dispatchers saw it."""
        ...


def describe_types(registry: ProcessorRegistry) -> list[TaskType]:
    """The task types of `registry` as workers publish them."""
    from durable_tasks._flow_graph import resolve_dependencies

    described = []
    for name, simple in registry.simple.items():
        schema = _input_schema(simple.input_model)
        described.append(
            TaskType(name=name, kind="simple", title=_title(simple), input_schema=schema)
        )
    for name, flow in registry.flows.items():
        dependencies = resolve_dependencies(flow.steps)
        described.append(
            TaskType(
                name=name,
                kind="flow",
                title=_title(flow),
                input_schema=_input_schema(flow.input_model),
                steps=[StepInfo(name=s.name, depends_on=dependencies[s.name]) for s in flow.steps],
            )
        )
    return sorted(described, key=lambda t: t.name)


def _input_schema(model: Any) -> dict[str, Any]:
    """The model's JSON Schema without the ids and the framework's cache, which a front end
    never sends (the record carries them); `input` only when the model types it."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    hidden = set(NOT_CONFIG)
    field = model.model_fields.get("input")
    if field is not None and field.annotation is Any:
        hidden.add("input")
    properties = schema.get("properties", {})
    schema["properties"] = {k: v for k, v in properties.items() if k not in hidden}
    schema["required"] = [k for k in schema.get("required", []) if k not in hidden]
    schema.pop("title", None)
    if "$ref" not in json.dumps(schema["properties"]):
        schema.pop("$defs", None)  # only the hidden fields used them
    return schema


def _title(proc: type[Any]) -> str:
    doc = (proc.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""
