"""The performance budgets of durable-tasks on a 2-core machine, checked against one run.

Each budget compares durable-tasks with bare Temporal measured in the same run (ratios), or
holds an absolute figure; `evaluate` says which were met. The figures move with the machine's
load: a budget missed on a busy machine is a reason to rerun, then to profile — never to move
the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.measure import Batch, percentile


@dataclass(frozen=True)
class Budget:
    """One budget: what it measures, the figure seen, the limit, and whether it was met."""

    name: str
    seen: float | None
    limit: str
    met: bool


def evaluate(
    batches: dict[str, Batch], storm: dict[str, Any], capacity: dict[str, float]
) -> list[Budget]:
    """Every budget that the run measured."""
    found: list[Budget] = []

    def ratio(ours: str, bare: str, name: str) -> None:
        if ours in batches and bare in batches:
            seen = batches[ours].per_second / batches[bare].per_second
            found.append(Budget(name, round(seen, 2), "≥ ×0.90", seen >= 0.90))

    ratio("simple", "one", "simple tasks, 50 in flight: throughput vs bare")
    ratio("flow", "three", "3-step flows, 50 in flight: throughput vs bare")
    if "idlesimple" in batches and "idleone" in batches:
        extra = batches["idlesimple"].percentile_ms(50) - batches["idleone"].percentile_ms(50)
        found.append(
            Budget("1 in flight: p50 over bare (ms)", round(extra, 1), "≤ +10 ms", extra <= 10)
        )
    for key, limit, name in (
        ("simple", lambda steps: 3, "record writes per simple task (create included)"),
        ("flow", lambda steps: 2 * steps + 2, "record writes per 3-step flow"),
    ):
        batch = batches.get(key)
        if batch is not None and batch.record_writes is not None:
            seen = batch.record_writes / batch.n
            cap = limit(batch.steps)
            found.append(Budget(name, round(seen, 2), f"≤ {cap}", seen <= cap))
    for key in ("simple", "flow"):
        batch = batches.get(key)
        if batch is not None and batch.server_requests is not None and batch.record_writes:
            seen = batch.server_requests / batch.n
            writes = batch.record_writes / batch.n
            found.append(
                Budget(
                    f"PocketBase requests per task, {batch.label}",
                    round(seen, 2),
                    f"< {writes:.2f} writes",
                    seen < writes,
                )
            )
    found += _lag_budgets(batches)
    if storm:
        rate = storm["writes_per_s"]
        found.append(Budget("progress storm: writes per second", rate, "≤ 5/s", rate <= 5))
        landed = storm["last_value_landed"]
        found.append(
            Budget("progress storm: last value landed", float(landed), "yes", bool(landed))
        )
    steps = sorted(int(k.removeprefix("steps")) for k in batches if k.startswith("steps"))
    if len(steps) >= 2:
        low, high = batches[f"steps{steps[0]}"], batches[f"steps{steps[-1]}"]
        seen = high.cpu_ms_per_step / low.cpu_ms_per_step
        found.append(
            Budget(
                f"cost per step, {steps[-1]} vs {steps[0]} steps",
                round(seen, 2),
                "≤ ×1.5",
                seen <= 1.5,
            )
        )
    if "batched" in capacity:
        seen = capacity["batched"]
        found.append(
            Budget("PocketBase capacity, tasks/s kept in sync", round(seen), "≥ 500", seen >= 500)
        )
    return found


_PLURAL = {"simple": "simple tasks", "flow": "3-step flows"}


def _lag_budgets(batches: dict[str, Batch]) -> list[Budget]:
    """Sync lag at 50 in flight, each workload on its own: workflow closed, and (flows) each
    step's activity completed."""
    found = []
    for key in ("simple", "flow"):
        batch = batches.get(key)
        if batch is not None and batch.lags_ms:
            p95 = percentile(batch.lags_ms, 95)
            label = f"sync lag p95, workflow closed, {_PLURAL[key]} (ms)"
            found.append(Budget(label, round(p95, 1), "≤ 50 ms", p95 <= 50))
    steps = batches["flow"].step_lags_ms if "flow" in batches else []
    if steps:
        p95 = percentile(steps, 95)
        found.append(
            Budget(
                "sync lag p95, step's activity completed, 3-step flows (ms)",
                round(p95, 1),
                "≤ 50 ms",
                p95 <= 50,
            )
        )
    return found
