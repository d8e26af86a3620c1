"""A flow's declaration: its steps, how each runs, and the dependency graph between them.

Pure declarations, checked when a flow class is defined (`resolve_dependencies` refuses unknown
or cyclic dependencies and duplicate names), so a bad flow fails at import, not at its first task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from temporalio import activity
from temporalio.common import RetryPolicy

from durable_tasks.errors import ConfigurationError
from durable_tasks.retry import DEFAULT_HEARTBEAT_TIMEOUT, ActivityOptions, RetryOptions
from durable_tasks.steps import is_step_activity

DEFAULT_STEP_HEARTBEAT = DEFAULT_HEARTBEAT_TIMEOUT
"""The heartbeat timeout of steps made by `@step_activity` (they heartbeat for you)."""


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
        """Retries and timeouts; steps made by `@step_activity` heartbeat, so they get 5 s."""
        heartbeat = self.heartbeat_timeout
        if heartbeat is _PREVIOUS:
            heartbeat = DEFAULT_STEP_HEARTBEAT if is_step_activity(self.activity) else None
        return ActivityOptions(
            retry=RetryOptions.coerce(self.retry),
            start_to_close_timeout=self.start_to_close_timeout,
            heartbeat_timeout=heartbeat,
        )


class FlowHooks(Protocol):
    """A flow's events, as the engine fires them (deterministic workflow code)."""

    def on_active(self, data: Any) -> None: ...

    def on_completed(self, data: Any, result: Any) -> None: ...

    def on_failed(self, data: Any, error: BaseException, *, final: bool) -> None: ...


def resolve_dependencies(steps: Sequence[Step]) -> dict[str, list[str]]:
    """Each step's dependencies (default: the previous step); refuses bad graphs up front."""
    names = [s.name for s in steps]
    if not steps:
        raise ConfigurationError("a flow needs at least one step")
    if len(set(names)) != len(names):
        raise ConfigurationError(f"step names must be unique: {names}")
    deps: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        wanted = list(step.depends_on) if step.depends_on is not None else names[i - 1 : i]
        unknown = [d for d in wanted if d not in names]
        if unknown:
            raise ConfigurationError(f"step {step.name!r} depends on unknown steps {unknown}")
        deps[step.name] = wanted
    seen: dict[str, int] = {}

    def visit(name: str) -> None:
        if seen.get(name) == 1:
            raise ConfigurationError(f"steps depend on each other in a cycle through {name!r}")
        if seen.get(name) == 2:
            return
        seen[name] = 1
        for dep in deps[name]:
            visit(dep)
        seen[name] = 2

    for name in names:
        visit(name)
    return deps
