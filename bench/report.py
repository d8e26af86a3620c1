"""The benchmark's report, as Markdown tables (readable in a terminal, pasteable into the README)
and as JSON (bench/results/latest.json).

Tables: the workloads (one row per system, then `ours/bare`: below 1 for a rate means slower,
above 1 for a latency means longer), CPU per process, the long flows' cost per step and sizes,
sync lag, the progress storm and PocketBase capacity, and the budgets, met or missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.budgets import Budget
from bench.measure import Batch, percentile

NA = "–"
CPU_PROCESSES = ("temporal", "pocketbase", "bench process")


def render(
    batches: dict[str, Batch],
    storm: dict[str, Any],
    capacity: dict[str, float],
    budgets: Sequence[Budget],
) -> str:
    """Every table, separated by blank lines."""
    main, cpu, steps, lags = [], [], [], []
    previous: Batch | None = None
    for batch in batches.values():
        main.append(_main(batch))
        cpu.append(_cpu(batch))
        if batch.steps > 3:
            steps.append(_steps(batch))
        for what, seen in (
            ("Temporal alone: activity completed → workflow task started", batch.pickups_ms),
            ("workflow closed", batch.lags_ms),
            ("step's activity completed", batch.step_lags_ms),
            ("step's workflow task completed", batch.step_lags_taken_in_ms),
        ):
            if seen:
                lags.append(
                    [
                        batch.label,
                        what,
                        str(len(seen)),
                        _f(percentile(seen, 50), 1),
                        _f(percentile(seen, 95), 1),
                    ]
                )
        if (
            previous is not None
            and previous.system == "bare Temporal"
            and batch.system == "durable-tasks"
        ):
            main.append(_overhead(previous, batch))
        previous = batch
    parts = [
        _table(("workload", "system", "n", "in flight", "per s", "p50 ms", "p95 ms", "record writes/task", "PB requests/task", "Temporal RPCs/task", "history events"), main),
        "CPU ms per item (user + system), by process:",
        _table(("workload", "system", "Temporal server", "PocketBase", "bench process", "total"), cpu),
        "Long flows: cost per step, record and history size:",
        _table(("workload", "system", "CPU ms per step", "record KB", "history events", "history KB"), steps),
        "Sync lag, the Temporal event → the record showing it on a realtime subscription:",
        _table(("workload", "event", "n", "p50 ms", "p95 ms"), lags),
        "Progress storm and PocketBase capacity:",
        _table(
            ("figure", "value"),
            [
                ["storm: report_progress calls", str(storm.get("reports", NA))],
                ["storm: progress writes", str(storm.get("progress_writes", NA))],
                ["storm: writes per second", str(storm.get("writes_per_s", NA))],
                ["storm: last value landed", "yes" if storm.get("last_value_landed") else "NO"],
                *[[f"capacity: tasks/s kept in sync, {mode}", f"{rate:.0f}"] for mode, rate in capacity.items()],
            ],
        ),
        "Budgets:",
        _table(("budget", "seen", "limit", "verdict"), [[b.name, NA if b.seen is None else f"{b.seen:g}", b.limit, "met" if b.met else "MISSED"] for b in budgets]),
    ]  # fmt: skip
    return "\n\n".join(parts)


def to_json(
    args: dict[str, Any],
    batches: dict[str, Batch],
    storm: dict[str, Any],
    capacity: dict[str, float],
    budgets: Sequence[Budget],
) -> dict[str, Any]:
    """The report as data: every row's figures, the storm, the capacity and the budgets."""
    rows = {
        key: {
            "label": b.label,
            "system": b.system,
            "n": b.n,
            "in_flight": b.concurrency,
            "per_s": round(b.per_second, 2),
            "p50_ms": round(b.percentile_ms(50), 1),
            "p95_ms": round(b.percentile_ms(95), 1),
            "cpu_ms_per_item": {k: round(1000 * v / b.n, 2) for k, v in b.cpu_s.items()},
            "cpu_ms_per_step": round(b.cpu_ms_per_step, 3),
            "record_writes_per_item": None if b.record_writes is None else round(b.record_writes / b.n, 2),
            "pocketbase_requests_per_item": None if b.server_requests is None else round(b.server_requests / b.n, 2),
            "record_bytes": b.record_bytes,
            "temporal_rpcs_per_item": round(b.rpcs_per_item, 2),
            "history_events": b.history_events,
            "history_bytes": b.history_bytes,
            "sync_lag_ms": _spread(b.lags_ms),
            "step_lag_ms": _spread(b.step_lags_ms),
            "step_taken_in_lag_ms": _spread(b.step_lags_taken_in_ms),
            "activity_to_workflow_task_ms": _spread(b.pickups_ms),
        }
        for key, b in batches.items()
    }  # fmt: skip
    return {
        "args": args,
        "rows": rows,
        "storm": storm,
        "capacity_tasks_per_s": {k: round(v, 1) for k, v in capacity.items()},
        "budgets": [b.__dict__ for b in budgets],
        "all_budgets_met": all(b.met for b in budgets),
    }


def _main(b: Batch) -> list[str]:
    writes = None if b.record_writes is None else b.record_writes / b.n
    requests = None if b.server_requests is None else b.server_requests / b.n
    return [b.label, b.system, str(b.n), str(b.concurrency), _f(b.per_second, 1), _f(b.percentile_ms(50), 0), _f(b.percentile_ms(95), 0), _f(writes, 2), _f(requests, 2), _f(b.rpcs_per_item, 2), _f(b.history_events, 0)]  # fmt: skip


def _overhead(bare: Batch, ours: Batch) -> list[str]:
    return ["  ours/bare", "", "", "", _ratio(ours.per_second, bare.per_second), _ratio(ours.percentile_ms(50), bare.percentile_ms(50)), _ratio(ours.percentile_ms(95), bare.percentile_ms(95)), "", "", _ratio(ours.rpcs_per_item, bare.rpcs_per_item), _ratio(ours.history_events, bare.history_events)]  # fmt: skip


def _cpu(b: Batch) -> list[str]:
    per_item = [1000 * b.cpu_s.get(name, 0.0) / b.n for name in CPU_PROCESSES]
    return [b.label, b.system, *(f"{v:.1f}" for v in per_item), f"{sum(per_item):.1f}"]


def _steps(b: Batch) -> list[str]:
    kb = None if b.record_bytes is None else b.record_bytes / 1024
    history_kb = None if b.history_bytes is None else b.history_bytes / 1024
    return [
        b.label,
        b.system,
        _f(b.cpu_ms_per_step, 2),
        _f(kb, 1),
        _f(b.history_events, 0),
        _f(history_kb, 1),
    ]


def _f(value: float | None, digits: int) -> str:
    return NA if value is None else f"{value:.{digits}f}"


def _ratio(ours: float | None, bare: float | None) -> str:
    return "" if not ours or not bare else f"×{ours / bare:.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=False)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i >= 2 else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _spread(values: list[float]) -> dict[str, float] | None:
    """p50 and p95 of a list of lags, for the JSON report (None when nothing was measured)."""
    if not values:
        return None
    return {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)}
