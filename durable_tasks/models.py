"""Typed models for everything that crosses a boundary.

The JSON shape follows the BullMQ reference (camelCase: `taskId`, `stepResults`, ...), because
front ends and existing BullMQ callers already speak it; Python code uses snake_case. Job data
models keep unknown keys (the reference's `[key: string]: unknown`), so configuration can grow
without a schema change. `validate_model` turns pydantic's errors into one `InvalidInputError`
whose message names every offending field by its JSON name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from durable_tasks.errors import InvalidInputError
from durable_tasks.ids import task_id_problem, workspace_id_problem

_M = TypeVar("_M", bound=BaseModel)


class CamelModel(BaseModel):
    """Base of our models: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


def _checked_by(problem_of: Callable[[str], str | None]) -> AfterValidator:
    """A validator raising what `problem_of` finds wrong with a value (None: nothing)."""

    def check(value: str) -> str:
        if (problem := problem_of(value)) is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


TaskId = Annotated[str, _checked_by(task_id_problem)]
"""A task id under the one rule of `durable_tasks.ids`."""
WorkspaceId = Annotated[str, _checked_by(workspace_id_problem)]
"""A workspace id under the rule of `durable_tasks.ids` (never blank)."""


class JobData(CamelModel):
    """What every job carries: which task, in which workspace. Configuration only.

    Both ids follow `durable_tasks.ids`, so job data from any path (client, CLI, a raw workflow
    start) is held to the same rule as the client's arguments.
    """

    model_config = ConfigDict(extra="allow")

    task_id: TaskId
    workspace_id: WorkspaceId


class SimpleJobData(JobData):
    """Data of a simple job: the task plus its configuration (`input` and any extra keys)."""

    input: Any = None


class StepStatus(StrEnum):
    """Life of one step of a flow (`skipped`: a dependency failed under `skip_dependents`)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class StepResult(CamelModel):
    """The outcome of one step; `data` is what the step returned (the reference's children values)."""

    step_type: str
    status: StepStatus
    error: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    data: Any = None

    @classmethod
    def of_return(cls, name: str, raw: Any, attempts: int, started: datetime | None) -> StepResult:
        """What a step returned, as its result: a `StepResult` it built itself (possibly a
        failed one: a recoverable failure) or plain data, which means it completed."""
        if isinstance(raw, dict) and {"stepType", "status"} <= raw.keys():
            result = cls.model_validate(raw)
            result.step_type = name
            result.attempts = attempts
            result.started_at = result.started_at or started
            if result.status not in (StepStatus.COMPLETED, StepStatus.FAILED):
                result.status = StepStatus.COMPLETED
            return result
        return cls(
            step_type=name,
            status=StepStatus.COMPLETED,
            attempts=attempts,
            started_at=started,
            data=raw,
        )


class ParentJobData(JobData):
    """Data of a flow job. `step_results` is a cache: completed steps found there are not rerun.

    The cache is the framework's, never the caller's: job data carrying `stepResults` is refused
    on every path; on a rerun the flow fills it from the task's own record.
    """

    step_results: dict[str, StepResult] = Field(default_factory=dict)


class StepJobData(JobData):
    """What a step activity receives: its task, its parent, its name and its configuration."""

    parent_job_id: str
    step_type: str
    input: Any = None
    idempotency_key: str = ""
    """`<taskId>:<stepType>`: the same for every attempt and every rerun; key your artifacts by it."""
    attempt: int = Field(default=1, ge=1)
    max_attempts: int = Field(default=3, ge=0)
    dependency_results: dict[str, Any] = Field(default_factory=dict)
    """The `data` of the steps this one depends on (the reference's `getChildrenValues()`)."""

    def config(self, model: type[_M]) -> _M:
        """The flow's configuration (`input`) as the flow's own job-data model."""
        raw = dict(self.input or {})
        raw.update(taskId=self.task_id, workspaceId=self.workspace_id)
        return validate_model(model, raw)


class TaskResult(CamelModel):
    """The live result of a flow: every step, what finished, what failed, where it is now;
    `run_id` is the run it is of (a step's own report merges only into its run's result)."""

    steps: dict[str, StepResult] = Field(default_factory=dict)
    completed_steps: list[str] = Field(default_factory=list)
    failed_steps: list[str] = Field(default_factory=list)
    current_step: str | None = None
    total_steps: int = 0
    completed_count: int = 0
    failed_count: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    run_id: str | None = None


class TaskStatus(StrEnum):
    """Status of a task record. Final statuses are never replaced within the same run."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        """True for SUCCESS, FAILED and CANCELLED."""
        return self in _FINAL


_FINAL = frozenset({TaskStatus.SUCCESS, TaskStatus.FAILED, TaskStatus.CANCELLED})


class ErrorLogEntry(CamelModel):
    """One failed attempt. `key` makes appends idempotent: the same attempt is logged once."""

    key: str
    timestamp: datetime
    step: str
    attempt: int = Field(ge=1)
    max_attempts: int | None = Field(default=None, ge=1)
    error_type: str
    message: str
    stack: str = ""
    final: bool = False

    def render(self) -> str:
        """Format the entry for the record's human-readable `errorLog` text."""
        total = str(self.max_attempts) if self.max_attempts else "?"
        verdict = "final" if self.final else "will retry"
        head = f"[{self.timestamp.isoformat()}] {self.step} attempt {self.attempt}/{total} "
        head += f"({verdict}) {self.error_type}: {self.message}"
        return f"{head}\n{self.stack.rstrip()}" if self.stack.strip() else head


class TaskRecord(CamelModel):
    """The PocketBase `tasks` record as the rest of the code sees it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    workspace_id: str
    type: str
    status: TaskStatus = TaskStatus.PENDING
    progress: float = 0
    input: Any = None
    result: Any = None
    error_log: str = ""
    errors: list[ErrorLogEntry] = Field(default_factory=list)
    attempts: int = 0
    workflow_id: str = ""
    run_id: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
    seq: int = 0


class TaskPatch(CamelModel):
    """One guarded write to a task record (see `pb_hooks/`): unset fields are left alone.

    `new_run` claims the record for `run_id` (a start or a rerun); other writes of a run that no
    longer owns the record are dropped, and a final status of the same run is never replaced.
    `steps`: a flow's steps reported finished by their activities, merged into `result` (rule 7).
    """

    run_id: str
    new_run: bool = False
    workflow_id: str | None = None
    status: TaskStatus | None = None
    progress: float | None = Field(default=None, ge=0, le=100)
    result: Any = None
    attempts: int | None = Field(default=None, ge=0)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: ErrorLogEntry | None = None
    steps: dict[str, StepResult] | None = None


class NewTask(CamelModel):
    """What creating a missing record needs (a workflow started without our client)."""

    workspace_id: str
    type: str
    input: Any = None

    @classmethod
    def of(cls, identity: TaskIdentity) -> NewTask:
        """The record to create for a task of this identity."""
        return cls(workspace_id=identity.workspace_id, type=identity.type, input=identity.input)


class TaskIdentity(CamelModel):
    """Which record a task workflow owns, and what its record is made of if it must be created.

    `input` is the job's configuration: the job data without the ids and the step cache.
    """

    task_id: str
    workspace_id: str
    type: str
    input: Any = None


class SyncOutcome(CamelModel):
    """What the store answered to a patch: applied, or dropped as stale, and the record now."""

    applied: bool
    reason: Literal["applied", "stale", "final"] = "applied"
    record: TaskRecord


def validate_model(model: type[_M], data: Any, *, what: str = "job data") -> _M:
    """Validate `data` into `model`, raising `InvalidInputError` that names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInputError(describe_validation_error(exc, what=what)) from None


def describe_validation_error(exc: ValidationError, *, what: str = "job data") -> str:
    """One line per field: `invalid job data: taskId: Field required; input.width: ...`."""
    parts = []
    for err in exc.errors(include_url=False):
        field = ".".join(_printable(str(p)) for p in err["loc"]) or "(root)"
        parts.append(f"{field}: {_printable(err['msg'])}")
    return f"invalid {what}: " + "; ".join(parts)


def _printable(text: str) -> str:
    """`text` with control characters escaped: keys of the caller's data keep messages one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
