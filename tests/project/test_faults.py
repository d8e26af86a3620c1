"""Smoke test of the campaign (`make faults`): its stack starts, one scenario runs, all stops.

The campaign itself takes many minutes and lives in `make faults` (run by `.ci/run` after
`make test`); here only its plumbing is checked, with the fastest scenario (isolation probes),
so a broken campaign is noticed by `make test` too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_campaign_runs_a_scenario_and_prints_its_row() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faults.run", "--quick", "--only", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if "isolation probes" in line]
    assert rows and rows[-1].startswith("| ok "), done.stdout
    assert "1 scenarios" in done.stdout and "all correct, 0 lost" in done.stdout


@pytest.mark.slow
def test_a_bad_scenario_number_runs_nothing_and_fails() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "faults.run", "--only", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
