"""Rules 7 and 8 of `durable_tasks.store`: a flow's finished steps merged into its stored result.

A flow's record is written from two places. The workflow sends whole `TaskResult` snapshots;
each step's activity reports its own completion the moment it returns (`TaskPatch.steps`), so a
front end sees a finished step without waiting for the workflow to take the completion in
(under load, Temporal hands it over a hundred milliseconds or more later). These functions are
the Python twin of `mergeSteps`/`keepFinishedSteps` in `pb_hooks/durable_tasks_sync.js`; the
contract tests run the same cases against both stores. They work on the result's JSON form
(camelCase keys), the form both stores keep.

Only forward moves are taken: pending → running → finished, within one attempt. So the two
writers can land in any order (a snapshot taken before a step finished may arrive after the
step's own report, from another worker) and the record never shows a finished step running
again; yet a later attempt always shows (an attempt whose completion Temporal refused, after
its timeout, reported itself completed: its retry is running).
"""

from __future__ import annotations

from typing import Any

from durable_tasks.progress import flow_progress

_FINISHED = frozenset({"completed", "failed", "skipped", "cancelled"})
_COUNTED = frozenset({"completed", "failed", "skipped"})
"""Finished, for progress (as the flow engine counts: not `cancelled`)."""


def _status(step: Any) -> Any:
    return step.get("status") if isinstance(step, dict) else None


def _attempts(step: Any) -> Any:
    attempts = step.get("attempts") if isinstance(step, dict) else None
    return attempts if isinstance(attempts, int) else 0


def _rank(step: Any) -> int:
    status = _status(step)
    return 2 if status in _FINISHED else 1 if status == "running" else 0


def _steps_of(result: Any) -> dict[str, Any] | None:
    steps = result.get("steps") if isinstance(result, dict) else None
    return steps if isinstance(steps, dict) else None


def merge_steps(result: Any, reported: dict[str, Any]) -> tuple[Any, float | None]:
    """Rule 7: `reported` steps (JSON) merged into `result`; returns the result and the flow's
    progress after it (None when nothing was merged). A reported step replaces a stored one
    that is pending or running at no later attempt, keeping the stored values of the fields it
    leaves unset; steps the result does not know, or has finished already, are left alone."""
    steps = _steps_of(result)
    if steps is None:
        return result, None
    merged = False
    for name, step in reported.items():
        stored = steps.get(name)
        if (
            not isinstance(stored, dict)
            or _rank(step) <= _rank(stored)
            or _attempts(step) < _attempts(stored)
        ):
            continue
        steps[name] = {**stored, **{k: v for k, v in step.items() if v is not None}}
        merged = True
    if not merged:
        return result, None
    _retally(result, steps)
    total = result.get("totalSteps")
    if not isinstance(total, int) or total <= 0:
        return result, None
    finished = sum(1 for s in steps.values() if _status(s) in _COUNTED)
    running = sum(1 for s in steps.values() if _status(s) == "running")
    return result, flow_progress(total=total, finished=finished, running=running)


def keep_finished_steps(stored: Any, incoming: Any) -> Any:
    """Rule 8: `incoming` (a snapshot of the same flow run as `stored`: same `startedAt`) with
    every step `stored` has finished and `incoming` shows unfinished at no later attempt taken
    back from `stored`."""
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
        if _rank(before) == 2 and _rank(step) < 2 and _attempts(before) >= _attempts(step):
            incoming_steps[name] = before
            kept = True
    if kept:
        _retally(incoming, incoming_steps)
    return incoming


def _retally(result: dict[str, Any], steps: dict[str, Any]) -> None:
    """The counts and lists derived from `steps`, in the order the flow first listed them."""
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
        names += [n for n, s in steps.items() if _status(s) == status and n not in names]
        result[names_key] = names
        result[count_key] = len(names)
    current = result.get("currentStep")
    if isinstance(current, str) and _rank(steps.get(current)) == 2:
        running = [n for n, s in steps.items() if _status(s) == "running"]
        result["currentStep"] = running[-1] if running else None
