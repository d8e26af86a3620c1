"""How long a task's waiting state may wait after its last write (pure unit tests)."""

from __future__ import annotations

import math

from durable_tasks.sync._rates import PROMPT_STEPS, Pace, Rates


def test_each_pace_waits_its_own_interval_after_the_task_s_last_write() -> None:
    rates = Rates(progress=0.3, snapshot=1.0)
    assert [rates.wait(p) for p in Pace] == [0.0, 0.3, 1.0]
    assert rates.due("t1", rates.wait(Pace.SNAPSHOT)) == -math.inf  # never written: at once
    rates.wrote("t1", 100.0)
    assert rates.due("t1", rates.wait(Pace.PROGRESS)) == 100.3
    assert rates.due("t1", rates.wait(Pace.SNAPSHOT)) == 101.0
    assert rates.due("t1", rates.wait(Pace.NOW)) == -math.inf
    assert rates.due("t2", 1.0) == -math.inf


def test_tasks_whose_intervals_ran_out_are_forgotten_once_many_are_remembered() -> None:
    rates = Rates(progress=0.3, snapshot=1.0)
    for n in range(1000):
        rates.wrote(f"old{n}", 0.0)
    rates.wrote("recent", 9.5)  # the 1,001st: what ran out (written before 8.5) is forgotten
    assert rates.due("old0", 1.0) == -math.inf
    rates.wrote("now", 10.0)
    assert (rates.due("recent", 1.0), rates.due("now", 1.0)) == (10.5, 11.0)
    for n in range(1500):  # what is still within its interval is never forgotten
        rates.wrote(f"new{n}", 10.0)
    assert rates.due("new0", 1.0) == 11.0


def test_a_run_s_first_step_reports_go_out_at_once_and_later_ones_wait() -> None:
    rates = Rates(progress=0.3, snapshot=1.0)
    paces = [rates.step_report("r1") for _ in range(PROMPT_STEPS + 2)]
    assert paces == [Pace.NOW] * PROMPT_STEPS + [Pace.SNAPSHOT] * 2
    assert rates.step_report("r2") is Pace.NOW
