"""Rules 7 and 8 of `durable_tasks.store`: a flow's finished steps merged into its stored result.

A flow's record is written from two places. The workflow sends whole `TaskResult` snapshots;
each step's activity reports its own completion the moment it returns (`TaskPatch.steps`), so a
front end sees a finished step without waiting for the workflow to take the completion in
(under load, Temporal hands it over a hundred milliseconds or more later). These functions are
the Python twin of `mergeSteps`/`keepFinishedSteps` in `pb_hooks/durable_tasks_sync.js`; the
contract tests run the same cases against both stores. They work on the result's JSON form
(camelCase keys), the form both stores keep.

A step's state only moves forward: a later attempt, or at the same attempt pending → running
→ finished. So the two writers can land in any order (a snapshot taken before a step finished
may arrive after the step's own report, from another worker) and the record never shows a
finished step running again; yet a later attempt always shows (an attempt whose completion
Temporal refused, after its timeout, reported itself completed: its retry is running).

Nothing here depends on the order of a JSON object's keys: PocketBase keeps them sorted, while
a flow lists its steps in its own order. Names new to a list are added in sorted order, and
`currentStep` is recomputed as the running step started last.
"""

from __future__ import annotations

from typing import Any

from durable_tasks.progress import flow_progress

_FINISHED = frozenset({"completed", "failed", "skipped", "cancelled"})
_COUNTED = frozenset({"completed", "failed", "skipped"})
"""Finished, for progress (as the flow engine counts: not `cancelled`)."""


def _whole(value: Any) -> int | None:
    """`value` as an int when JSON would call it one (JavaScript's `Number.isInteger`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else None


def _status(step: Any) -> str | None:
    status = step.get("status") if isinstance(step, dict) else None
    return status if isinstance(status, str) else None


def _rank(step: Any) -> int:
    return _rank_of(_status(step))


def _rank_of(status: str | None) -> int:
    return 2 if status in _FINISHED else 1 if status == "running" else 0


def step_progress(status: str | None, attempts: int | None) -> tuple[int, int]:
    """How far a step has gone: its attempt first, then its state within the attempt
    (pending, running, finished). The one order of both stores and the writer."""
    return (attempts or 0, _rank_of(status))


def _progress_key(step: Any) -> tuple[int, int]:
    attempts = _whole(step.get("attempts")) if isinstance(step, dict) else None
    return step_progress(_status(step), attempts)


def _steps_of(result: Any) -> dict[str, Any] | None:
    steps = result.get("steps") if isinstance(result, dict) else None
    return steps if isinstance(steps, dict) else None


def merge_steps(result: Any, reported: dict[str, Any], run_id: str) -> tuple[Any, float | None]:
    """Rule 7: `reported` steps (JSON) of run `run_id` merged into `result`, a flow result of
    that run; returns the result and the flow's progress after it (None when nothing was
    merged). A reported step replaces a stored one it has gone further than, keeping the stored
    values of the fields it leaves unset; steps the result does not know are left alone."""
    steps = _steps_of(result)
    if steps is None or result.get("runId") != run_id:
        return result, None
    merged = False
    for name, step in reported.items():
        stored = steps.get(name)
        if not isinstance(stored, dict) or _progress_key(step) <= _progress_key(stored):
            continue
        steps[name] = {**stored, **{k: v for k, v in step.items() if v is not None}}
        merged = True
    if not merged:
        return result, None
    _retally(result, steps)
    total = _whole(result.get("totalSteps"))
    if total is None or total <= 0:
        return result, None
    finished = sum(1 for s in steps.values() if _status(s) in _COUNTED)
    running = sum(1 for s in steps.values() if _status(s) == "running")
    return result, flow_progress(total=total, finished=finished, running=running)


def keep_finished_steps(stored: Any, incoming: Any) -> Any:
    """Rule 8: `incoming` (a snapshot of the same flow run as `stored`: same `startedAt`) with
    each step it shows unfinished that `stored` has finished, and gone further with, taken
    from `stored`."""
    stored_steps, incoming_steps = _steps_of(stored), _steps_of(incoming)
    if (
        stored_steps is None
        or incoming_steps is None
        or incoming.get("startedAt") is None
        or incoming.get("startedAt") != stored.get("startedAt")
    ):
        return incoming
    kept = False
    for name, step in incoming_steps.items():
        before = stored_steps.get(name)
        if _rank(step) < 2 and _rank(before) == 2 and _progress_key(before) > _progress_key(step):
            incoming_steps[name] = before
            kept = True
    if kept:
        _retally(incoming, incoming_steps)
    return incoming


def _retally(result: dict[str, Any], steps: dict[str, Any]) -> None:
    """The lists and counts derived from `steps` (see the module docstring for the order)."""
    for status, names_key, count_key in (
        ("completed", "completedSteps", "completedCount"),
        ("failed", "failedSteps", "failedCount"),
    ):
        listed = result.get(names_key)
        names = [
            n
            for n in (listed if isinstance(listed, list) else [])
            if isinstance(n, str) and _status(steps.get(n)) == status
        ]
        names += sorted(n for n, s in steps.items() if _status(s) == status and n not in names)
        result[names_key] = names
        result[count_key] = len(names)
    current = result.get("currentStep")
    if isinstance(current, str) and _rank(steps.get(current)) == 2:
        running = [(_started(s), n) for n, s in steps.items() if _status(s) == "running"]
        result["currentStep"] = max(running)[1] if running else None


def _started(step: dict[str, Any]) -> str:
    started = step.get("startedAt")
    return started if isinstance(started, str) else ""
