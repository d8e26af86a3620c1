"""`BaseFlowProcessor`: the reference's flow processors as Temporal workflows.

A flow declares its steps; the base runs them (see `durable_tasks.flow_engine`): in declared
order by default, steps whose dependencies are met in parallel, each through the retry loop with
its own options and failure policy. The live `TaskResult` is queryable (`task_result`) and, with
the sync interceptor installed, written to the task record at every step transition.

    @flow_processor("video-processing")
    class VideoProcessing(BaseFlowProcessor[VideoJobData]):
        input_model = VideoJobData
        steps = (
            Step("download", download),
            Step("transcode", transcode),                       # after download
            Step("thumbnail", thumbnail, depends_on=["download"]),  # beside transcode
            Step("upload", upload, depends_on=["transcode", "thumbnail"]),
        )

`@flow_processor(name)` defines the `@workflow.run` method Temporal insists on finding on the
concrete class; writing it yourself (`return await self.run_flow(data)`) works just as well.
Flow code runs inside the workflow: hooks must be deterministic (no I/O, no clocks).
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from durable_tasks.errors import ConfigurationError
    from durable_tasks.models import ParentJobData, TaskResult
    from durable_tasks.retry import ActivityOptions, RetryOptions
    from durable_tasks.steps import STEP_MARKER
    from durable_tasks.sync import NewTask
    from durable_tasks.workflow_input import identify_task, validate_in_workflow

DataT = TypeVar("DataT", bound=ParentJobData)
_C = TypeVar("_C", bound=type[Any])


class FailurePolicy(StrEnum):
    """What a step's final failure does to the rest of the flow.

    - `fail` (default): the flow fails; running siblings are cancelled; nothing new starts.
    - `ignore`: recorded; dependents run as if it had succeeded; the flow can still succeed.
    - `skip_dependents`: recorded; its dependents are skipped; independent branches go on;
      the flow ends FAILED once nothing more can run.
    """

    FAIL = "fail"
    IGNORE = "ignore"
    SKIP_DEPENDENTS = "skip_dependents"


_PREVIOUS: Any = object()
_NOT_CONFIG = frozenset({"taskId", "workspaceId", "stepResults"})


@dataclass(frozen=True)
class Step:
    """One step: a name (`stepType`), the activity that runs it, and how to run it.

    `depends_on` defaults to the step declared just before (sequential flows need no wiring);
    pass `[]` for a step that can start at once.
    """

    name: str
    activity: Callable[..., Awaitable[Any]] | str
    depends_on: Sequence[str] | None = None
    retry: RetryOptions | RetryPolicy | None = None
    start_to_close_timeout: timedelta = timedelta(minutes=10)
    heartbeat_timeout: timedelta | None = field(default=_PREVIOUS)
    on_failure: FailurePolicy = FailurePolicy.FAIL

    @property
    def activity_name(self) -> str:
        """The name the step's activity is registered under."""
        if isinstance(self.activity, str):
            return self.activity
        defn = activity._Definition.from_callable(self.activity)
        if defn is None or not defn.name:
            raise ConfigurationError(
                f"step {self.name!r}: {self.activity!r} is not an activity "
                "(decorate it with @step_activity or @activity.defn)"
            )
        return defn.name

    def options(self) -> ActivityOptions:
        """Retries and timeouts; steps made by `@step_activity` heartbeat, so they get 30 s."""
        heartbeat = self.heartbeat_timeout
        if heartbeat is _PREVIOUS:
            wrapped = getattr(self.activity, STEP_MARKER, False)
            heartbeat = timedelta(seconds=30) if wrapped else None
        return ActivityOptions(
            retry=RetryOptions.coerce(self.retry),
            start_to_close_timeout=self.start_to_close_timeout,
            heartbeat_timeout=heartbeat,
        )


class BaseFlowProcessor(Generic[DataT]):
    """Base of flow workflows (see the module docstring)."""

    input_model: ClassVar[type[ParentJobData]] = ParentJobData
    steps: ClassVar[Sequence[Step]] = ()

    def __init__(self) -> None:
        self._task_result = TaskResult()

    async def run_flow(self, data: DataT | dict[str, Any]) -> TaskResult:
        """Run the declared steps; returns the final `TaskResult` or raises when the flow fails.

        `data` may be raw JSON: it is validated here, and invalid data fails the flow at once.
        """
        from durable_tasks.flow_engine import FlowRun

        return await FlowRun(self, validate_in_workflow(self.input_model, data)).execute()

    @workflow.query(name="task_result")
    def task_result(self) -> TaskResult:
        """The live TaskResult (`durable-tasks status` shows it)."""
        return self._task_result

    # -- events: deterministic workflow code, no I/O ----------------------------------------

    def on_active(self, data: DataT) -> None:
        """The flow starts."""

    def on_completed(self, data: DataT, result: TaskResult) -> None:
        """The flow succeeded."""

    def on_failed(self, data: DataT, error: BaseException, *, final: bool) -> None:
        """A step's attempt failed (`final`: the step is now failed), or the flow failed."""

    # -- what the sync interceptor asks -----------------------------------------------------

    @classmethod
    def durable_task_identity(cls, data: Any) -> tuple[str, NewTask] | None:
        """The record this workflow owns: task id, and how to create the record if missing."""
        ids = identify_task(data)
        if ids is None:
            return None
        raw = data.model_dump(mode="json") if isinstance(data, ParentJobData) else dict(data)
        config = {k: v for k, v in raw.items() if k not in _NOT_CONFIG}
        kind = workflow.info().workflow_type
        return ids[0], NewTask(workspace_id=ids[1], type=kind, input=config)

    @staticmethod
    def durable_task_record_result(result: TaskResult) -> Any:
        """The record's `result` is the TaskResult."""
        return result

    @classmethod
    def validate_steps(cls) -> None:
        """Refuse unknown or cyclic dependencies and duplicate names, before anything runs."""
        from durable_tasks.flow_engine import resolve_dependencies

        resolve_dependencies(cls.steps)


def flow_processor(name: str) -> Callable[[_C], _C]:
    """Make a `BaseFlowProcessor` subclass a Temporal workflow named `name`, `run` included."""

    def decorate(cls: _C) -> _C:
        if not (isinstance(cls, type) and issubclass(cls, BaseFlowProcessor)):
            raise ConfigurationError(f"@flow_processor needs a BaseFlowProcessor, got {cls!r}")
        cls.validate_steps()
        if "run" not in cls.__dict__:

            async def run(self: BaseFlowProcessor[Any], data: dict[str, Any]) -> TaskResult:
                return await self.run_flow(data)

            # Plain JSON in, validated inside: bad input fails the flow instead of its task.
            run.__annotations__ = {"data": dict[str, Any], "return": TaskResult}
            # Temporal checks that `run` belongs to the class: its module and qualified name.
            run.__qualname__ = f"{cls.__name__}.run"
            run.__module__ = cls.__module__
            cls.run = workflow.run(run)  # type: ignore[attr-defined]
        return workflow.defn(name=name)(cls)

    return decorate


def is_concrete_flow(cls: type[Any]) -> bool:
    """True for flow classes that are Temporal workflows (have a definition)."""
    return workflow._Definition.from_class(cls) is not None


def flow_name(cls: type[Any]) -> str:
    """The workflow (task type) name of a flow class."""
    defn = workflow._Definition.from_class(cls)
    if defn is None or not defn.name:
        raise ConfigurationError(f"{cls.__qualname__} is not a workflow: use @flow_processor(name)")
    return defn.name


class BaseParentProcessor(BaseFlowProcessor[DataT]):
    """Deprecated alias of `BaseFlowProcessor`, kept for code ported from the reference."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        warnings.warn(
            "BaseParentProcessor is deprecated; subclass BaseFlowProcessor instead",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init_subclass__(**kwargs)
