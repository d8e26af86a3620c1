"""A flow's declaration: its steps, how each runs, and the dependency graph between them.

Pure declarations, checked when a flow class is defined (`resolve_dependencies` refuses unknown
or cyclic dependencies and duplicate names), so a bad flow fails at import, not at its first task.
"""

from __future__ import annotations

import functools
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
    """Each step's dependencies (default: the previous step); refuses bad graphs up front.

    The sandbox re-imports a flow's module, and so re-checks its graph, for every workflow run:
    the answer is kept per graph (this module is passed through the sandbox, so the cache
    outlives the re-imports), and the check is linear in steps and dependencies.
    """
    key = tuple((s.name, None if s.depends_on is None else tuple(s.depends_on)) for s in steps)
    return {name: list(deps) for name, deps in _resolve(key).items()}


@functools.lru_cache(maxsize=256)
def _resolve(graph: tuple[tuple[str, tuple[str, ...] | None], ...]) -> dict[str, tuple[str, ...]]:
    names = [name for name, _ in graph]
    if not names:
        raise ConfigurationError("a flow needs at least one step")
    known = set(names)
    if len(known) != len(names):
        raise ConfigurationError(f"step names must be unique: {names}")
    deps: dict[str, tuple[str, ...]] = {}
    for i, (name, depends_on) in enumerate(graph):
        wanted = depends_on if depends_on is not None else tuple(names[i - 1 : i])
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise ConfigurationError(f"step {name!r} depends on unknown steps {unknown}")
        deps[name] = wanted
    # Kahn's algorithm: whatever cannot be ordered sits on a cycle (no recursion, so a flow
    # of thousands of sequential steps is fine).
    waiting = {name: len(set(wanted)) for name, wanted in deps.items()}
    dependents: dict[str, list[str]] = {name: [] for name in names}
    for name, wanted in deps.items():
        for dep in set(wanted):
            dependents[dep].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    ordered = 0
    while ready:
        done = ready.pop()
        ordered += 1
        for follower in dependents[done]:
            waiting[follower] -= 1
            if waiting[follower] == 0:
                ready.append(follower)
    if ordered != len(names):
        cyclic = next(name for name in names if waiting[name] > 0)
        raise ConfigurationError(f"steps depend on each other in a cycle through {cyclic!r}")
    return deps
