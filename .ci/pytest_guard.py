"""Run pytest and exit with its code, except for one known crash *after* a green run.

The time-skipping Temporal test server can abort the interpreter at exit (SIGABRT in
`PyGILState_Release`, exit 134; temporalio/sdk-python#300) after every test has passed. We must
not call that a failure, and must never let it hide a real one. So pytest always writes a JUnit
report; an abort is forgiven only if that report exists (pytest writes it when the session
finishes, after the last test), parses, counts at least one test, and has no failures and no
errors. Any other exit code, or an abort without such a report, is passed through unchanged.

`make test` runs pytest with xdist workers (-n): there a worker that aborts at exit after its
last test leaves the controlling pytest's exit code alone, and the JUnit report, which the
controller writes, is read the same way. With -n 0 the abort reaches pytest's own exit code.

    python .ci/pytest_guard.py [pytest arguments...]
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

_ABORTED = {128 + signal.SIGABRT, -signal.SIGABRT}


def green_report(report: Path) -> str | None:
    """A summary like "12 tests, 0 failures, 0 errors" if the report shows a green run, else None."""
    try:
        root = ET.parse(report).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if not suites:
        return None
    try:
        tests, failures, errors, skipped = (
            sum(int(suite.get(key, "0")) for suite in suites)
            for key in ("tests", "failures", "errors", "skipped")
        )
    except ValueError:
        return None
    if tests == 0 or failures or errors:
        return None
    return f"{tests} tests, {skipped} skipped, 0 failures, 0 errors"


def verdict(returncode: int, report: Path) -> int:
    """The exit code CI should see for a pytest run that exited with `returncode`."""
    if returncode == 0:
        return 0
    shell_code = 128 - returncode if returncode < 0 else returncode
    if returncode not in _ABORTED:
        return shell_code
    summary = green_report(report)
    if summary is None:
        print(
            f"pytest_guard: pytest aborted (exit {shell_code}) without a complete green report: "
            "failing",
            file=sys.stderr,
        )
        return shell_code
    print(
        f"pytest_guard: pytest aborted at exit (exit {shell_code}, temporalio/sdk-python#300) "
        f"after a green run ({summary}): treating as success",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="pytest-guard-") as tmp:
        report = Path(tmp) / "junit.xml"
        # Ours goes last so it wins over any --junitxml in argv: the verdict must read this run.
        command = [sys.executable, "-m", "pytest", *argv, f"--junitxml={report}"]
        returncode = subprocess.call(command)
        return verdict(returncode, report)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
