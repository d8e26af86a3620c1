"""Smoke test of the benchmark (`make bench`): it runs end to end and fills every row.

Behaviour only: with a handful of tasks the figures mean nothing, so no speed is asserted here
(speed is what `make bench` measures). It checks that every row is there, that rates and
latencies are positive, and that the PocketBase writes of our rows were counted at the server
and agree with the store's own counter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

MEASURED = {
    ("1 no-op activity", "bare Temporal"),
    ("1 no-op simple task", "durable-tasks"),
    ("3 sequential no-op activities", "bare Temporal"),
    ("3-step sequential flow", "durable-tasks"),
    ("progress-heavy task (100 reports)", "durable-tasks"),
    ("1 no-op activity, 1 in flight", "bare Temporal"),
    ("1 no-op simple task, 1 in flight", "durable-tasks"),
}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_bench_fills_every_row_with_positive_numbers() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--n", "5", "--concurrency", "2", "--idle-n", "2"]
        + ["--warmup", "1", "--progress-tasks", "1", "--progress-reports", "100"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    main_table = done.stdout.split("\n\n")[0].splitlines()
    header, rows = _cells(main_table[0]), [_cells(line) for line in main_table[2:]]
    column = {name: i for i, name in enumerate(header)}
    measured = {(row[0], row[1]): row for row in rows if row[1]}
    assert set(measured) == MEASURED, done.stdout

    for (label, system), row in measured.items():
        for name in ("per s", "p50 ms", "p95 ms", "Temporal RPCs/task", "history events"):
            assert float(row[column[name]]) > 0, (label, system, name, row)
        if system == "durable-tasks":
            server = float(row[column["writes/task (PB log)"]])
            assert server > 0, (label, row)
            assert server == float(row[column["writes/task (store)"]]), (label, row)
            assert float(row[column["PB requests/task (PB log)"]]) > server, (label, row)

    overheads = [row for row in rows if row[0] == "overhead ours/bare"]
    assert len(overheads) == 3, done.stdout
    for row in overheads:
        for name in ("per s", "p50 ms", "p95 ms", "Temporal RPCs/task"):
            assert float(row[column[name]].lstrip("×")) > 0, row

    assert "CPU ms per task" in done.stdout
    assert "the report_progress calls became" in done.stdout
    assert "CHECK:" not in done.stdout, done.stdout
