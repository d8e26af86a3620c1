"""Progress arithmetic for flows (pure functions, safe in workflow code).

The reference gives every step an equal share and a running step a small bonus (5 % of its
share). The result is floored, capped at 99 until the flow succeeds (100 means SUCCESS and
nothing else), and never lower than a value already reported in the run.
"""

from __future__ import annotations

import math

RUNNING_BONUS = 0.05


def flow_progress(*, total: int, finished: int, running: int, previous: float = 0) -> int:
    """`floor(100 * (finished + 0.05 * running) / total)`, capped at 99, never below `previous`."""
    if total <= 0:
        return max(0, math.floor(previous))
    raw = math.floor(100 * (finished + RUNNING_BONUS * running) / total)
    return max(min(raw, 99), math.floor(previous))


def clamp_percent(value: float) -> float:
    """A reported percentage limited to 0..100 (NaN becomes 0), so bad reports cannot break writes."""
    if math.isnan(value):
        return 0.0
    return min(100.0, max(0.0, float(value)))
