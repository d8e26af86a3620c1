"""`BaseFlowProcessor`: the reference's flow processors as Temporal workflows.

A flow declares its steps; the base runs them (see `durable_tasks._flow_engine`): in declared
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
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from durable_tasks._flow_engine import FlowRun
    from durable_tasks._flow_graph import FailurePolicy, Step, resolve_dependencies
    from durable_tasks._job_data import (
        InvalidJobDataError,
        refuse_framework_fields,
        validate_in_workflow,
    )
    from durable_tasks._reporting import RERUN_MEMO, current_task_state, memo_flag
    from durable_tasks._workflow_input import decode_job_object, identity_in_workflow
    from durable_tasks.errors import ConfigurationError, InvalidInputError
    from durable_tasks.models import ParentJobData, StepResult, TaskIdentity, TaskResult

__all__ = [
    "BaseFlowProcessor",
    "BaseParentProcessor",
    "FailurePolicy",
    "Step",
    "flow_name",
    "flow_processor",
    "is_concrete_flow",
]

DataT = TypeVar("DataT", bound=ParentJobData)
_C = TypeVar("_C", bound=type[Any])


class BaseFlowProcessor(Generic[DataT]):
    """Base of flow workflows (see the module docstring)."""

    input_model: ClassVar[type[ParentJobData]] = ParentJobData
    steps: ClassVar[Sequence[Step]] = ()

    def __init__(self) -> None:
        self._flow_run: FlowRun | None = None

    async def run_flow(self, data: DataT | dict[str, Any] | RawValue) -> TaskResult:
        """Run the declared steps; returns the final `TaskResult` or raises when the flow fails.

        `data` may be raw JSON, or the raw payload (what `@flow_processor`'s `run` takes): it is
        decoded and validated here, and data that is undecodable or invalid fails the flow at
        once. A `run` you write with a typed argument is decoded by Temporal before this runs,
        and input that does not decode then hangs the workflow: take `RawValue` instead.
        """
        if not isinstance(data, BaseModel):
            data = decode_job_object(data)
            try:
                refuse_framework_fields(data)
            except InvalidInputError as err:
                raise InvalidJobDataError(str(err)) from None
        job = validate_in_workflow(self.input_model, data)
        job.step_results = await _rerun_cache()
        self._flow_run = FlowRun(self.steps, job, hooks=self)
        return await self._flow_run.execute()

    @workflow.query(name="task_result")
    def task_result(self) -> TaskResult:
        """The live TaskResult (`durable-tasks status` shows it)."""
        return self._flow_run.result if self._flow_run is not None else TaskResult()

    # -- events: deterministic workflow code, no I/O ----------------------------------------

    def on_active(self, data: DataT) -> None:
        """The flow starts."""

    def on_completed(self, data: DataT, result: TaskResult) -> None:
        """The flow succeeded."""

    def on_failed(self, data: DataT, error: BaseException, *, final: bool) -> None:
        """A step's attempt failed (`final`: the step is now failed), or the flow failed."""

    # -- what the sync asks (the `TaskOwner` protocol) ---------------------------------------

    @classmethod
    def durable_task_identity(cls, raw: Any) -> TaskIdentity | None:
        """The record this workflow owns: task id, and how to create the record if missing."""
        return identity_in_workflow(raw, type=workflow.info().workflow_type)

    @classmethod
    def durable_task_record_result(cls, result: Any) -> Any:
        """The record's `result` is the TaskResult."""
        return result

    @classmethod
    def validate_steps(cls) -> None:
        """Refuse unknown or cyclic dependencies and duplicate names, before anything runs."""
        resolve_dependencies(cls.steps)


async def _rerun_cache() -> dict[str, StepResult]:
    """The completed steps of earlier runs, read from the record, when this run is a rerun."""
    sink = current_task_state()
    if sink is None or not memo_flag(RERUN_MEMO):
        return {}
    return await sink.completed_steps()


def flow_processor(name: str) -> Callable[[_C], _C]:
    """Make a `BaseFlowProcessor` subclass a Temporal workflow named `name`, `run` included."""

    def decorate(cls: _C) -> _C:
        if not (isinstance(cls, type) and issubclass(cls, BaseFlowProcessor)):
            raise ConfigurationError(f"@flow_processor needs a BaseFlowProcessor, got {cls!r}")
        cls.validate_steps()
        if "run" not in cls.__dict__:

            async def run(self: BaseFlowProcessor[Any], data: RawValue) -> TaskResult:
                return await self.run_flow(data)

            # The raw payload in, decoded and validated inside: bad input fails the flow
            # instead of its workflow task (which Temporal would retry forever).
            run.__annotations__ = {"data": RawValue, "return": TaskResult}
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
