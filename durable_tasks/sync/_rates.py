"""`Pace` and `Rates`: how long a task's pending state may wait after the task's last write.

Some state must show at once (a claim, a status, an error entry, a step's own report that it
completed); some only needs its newest value to land now and then, and writing each value
would cost a write per call: progress reported from inside an activity (possibly thousands of
calls) and a flow's step-by-step snapshots (the next step running: what a front end waits for,
each completion, comes from the step's own report). Waiting state goes out with the next
prompt write of its task, or when its interval since the task's last write has passed.
"""

from __future__ import annotations

import math
from enum import Enum


class Pace(Enum):
    """How soon a piece of task state must be written."""

    NOW = "now"
    PROGRESS = "progress"
    """Progress reported inside an activity: the newest at most every `progress` seconds."""
    SNAPSHOT = "snapshot"
    """A flow's step-by-step snapshot: the newest at most every `snapshot` seconds."""


PROMPT_STEPS = 20
"""Step reports of a run written at once; later ones wait like snapshots: a long flow's record
grows with every step, and rewriting it at every step would make its cost per step grow too."""

_FORGET_AFTER = 1000
"""Tasks (and runs) remembered before the ones whose intervals have run out are forgotten."""


class Rates:
    """Each task's last write, and what that lets its pending state wait (see the module)."""

    def __init__(self, *, progress: float, snapshot: float) -> None:
        self._waits = {Pace.NOW: 0.0, Pace.PROGRESS: progress, Pace.SNAPSHOT: snapshot}
        self._longest = max(progress, snapshot)
        self._last_write: dict[str, float] = {}
        self._forget_at = _FORGET_AFTER
        self._step_reports: dict[str, int] = {}

    def wait(self, pace: Pace) -> float:
        """Seconds state of this pace may wait after its task's last write."""
        return self._waits[pace]

    def due(self, task_id: str, wait: float) -> float:
        """When state allowed to wait `wait` seconds must go (monotonic clock)."""
        return self._last_write.get(task_id, -math.inf) + wait if wait > 0 else -math.inf

    def wrote(self, task_id: str, now: float) -> None:
        """A write of the task's state just landed."""
        self._last_write[task_id] = now
        if len(self._last_write) > self._forget_at:  # amortised: at most once per doubling
            horizon = now - self._longest
            self._last_write = {t: at for t, at in self._last_write.items() if at > horizon}
            self._forget_at = max(_FORGET_AFTER, 2 * len(self._last_write))

    def step_report(self, run_id: str) -> Pace:
        """The pace of the next step report of `run_id`: now for its first `PROMPT_STEPS`."""
        reports = self._step_reports.pop(run_id, 0) + 1
        self._step_reports[run_id] = reports  # now the newest: the oldest go first
        if len(self._step_reports) > 10 * _FORGET_AFTER:
            del self._step_reports[next(iter(self._step_reports))]
        return Pace.NOW if reports <= PROMPT_STEPS else Pace.SNAPSHOT
