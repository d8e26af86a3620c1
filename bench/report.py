"""The benchmark's tables, as Markdown: readable in a terminal and pasteable into the README.

The main table has one row per (workload, system) and an `overhead` row after each pair
(ours / bare: below 1 for a rate means we are slower, above 1 for a latency means we wait
longer). The second table says where the CPU went, per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.measure import Batch

NA = "–"
COLUMNS = (
    "workload",
    "system",
    "n",
    "in flight",
    "per s",
    "p50 ms",
    "p95 ms",
    "writes/task (PB log)",
    "writes/task (store)",
    "PB requests/task (PB log)",
    "PB requests/task (stores)",
    "Temporal RPCs/task",
    "history events",
)
CPU_COLUMNS = ("workload", "system", "Temporal server", "PocketBase", "bench process", "total")
CPU_PROCESSES = ("temporal", "pocketbase", "bench process")


@dataclass(frozen=True)
class Overhead:
    """Ours divided by bare, for one workload."""

    bare: Batch
    ours: Batch


Row = Batch | Overhead


def render(rows: Sequence[Row]) -> str:
    """Both tables and the notes, separated by blank lines."""
    main = [_main_cells(row) for row in rows]
    cpu = [_cpu_cells(row) for row in rows if isinstance(row, Batch)]
    parts = [
        _table(COLUMNS, main),
        "CPU ms per task (user + system), by process:",
        _table(CPU_COLUMNS, cpu),
        *notes(rows),
    ]
    return "\n\n".join(parts)


def notes(rows: Sequence[Row]) -> list[str]:
    """What the tables do not show: the RPCs that differ, the coalescing, failed cross-checks."""
    found = []
    for row in rows:
        if isinstance(row, Overhead):
            found.append(_rpc_difference(row))
            continue
        worker = row.counted.get("worker store")
        if worker is not None and worker != row.server_writes:
            found.append(
                f"CHECK: {row.label}: PocketBase logged {row.server_writes} sync writes, "
                f"the worker's store counted {worker} requests"
            )
        if row.counted.get("outbox"):
            found.append(
                f"{row.label}: the report_progress calls became "
                f"{row.counted['outbox'] / row.n:.1f} progress writes per task (the outbox's "
                "count); the other writes are the lifecycle ones (RUNNING, then the final state)"
            )
    return found


def _rpc_difference(pair: Overhead) -> str:
    bare, ours = pair.bare, pair.ours
    changes = []
    for operation in sorted(set(bare.rpcs) | set(ours.rpcs)):
        before, after = bare.rpcs[operation] / bare.n, ours.rpcs[operation] / ours.n
        if abs(after - before) >= 0.05:
            changes.append((after - before, f"{operation} {before:.2f} → {after:.2f}"))
    listed = ", ".join(text for _, text in sorted(changes, reverse=True)) or "none"
    return f"Temporal RPCs per task, {bare.label} → {ours.label}: {listed}"


def _main_cells(row: Row) -> list[str]:
    if isinstance(row, Overhead):
        bare, ours = row.bare, row.ours
        return [
            "  overhead ours/bare",
            "",
            "",
            "",
            _ratio(ours.per_second, bare.per_second),
            _ratio(ours.percentile_ms(50), bare.percentile_ms(50)),
            _ratio(ours.percentile_ms(95), bare.percentile_ms(95)),
            "",
            "",
            "",
            "",
            _ratio(ours.rpcs_per_item, bare.rpcs_per_item),
            _ratio(ours.history_events, bare.history_events),
        ]
    counted = row.counted
    worker = counted.get("worker store")
    stores = None if worker is None else worker + counted.get("client store", 0)
    return [
        row.label,
        row.system,
        str(row.n),
        str(row.concurrency),
        f"{row.per_second:.1f}",
        f"{row.percentile_ms(50):.0f}",
        f"{row.percentile_ms(95):.0f}",
        _num(row.per_item(row.server_writes)),
        _num(row.per_item(worker)),
        _num(row.per_item(row.server_requests)),
        _num(row.per_item(stores)),
        f"{row.rpcs_per_item:.2f}",
        NA if row.history_events is None else str(row.history_events),
    ]


def _cpu_cells(row: Batch) -> list[str]:
    per_task = [1000 * row.cpu_s.get(name, 0.0) / row.n for name in CPU_PROCESSES]
    return [row.label, row.system, *(f"{v:.1f}" for v in per_task), f"{sum(per_task):.1f}"]


def _num(value: float | None) -> str:
    return NA if value is None else f"{value:.2f}"


def _ratio(ours: float | None, bare: float | None) -> str:
    if not ours or not bare:
        return ""
    return f"×{ours / bare:.2f}"


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
