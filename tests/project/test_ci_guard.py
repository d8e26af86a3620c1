"""`.ci/pytest_guard.py` forgives the known abort-at-exit after a green run, and nothing else."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

GUARD = Path(__file__).resolve().parents[2] / ".ci" / "pytest_guard.py"


@pytest.fixture(scope="module")
def guard() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pytest_guard", GUARD)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _report(tmp_path: Path, *, tests: int, failures: int = 0, errors: int = 0) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="{tests}" '
        f'failures="{failures}" errors="{errors}" skipped="0"/></testsuites>'
    )
    return path


@pytest.mark.parametrize("code", [134, -6])
def test_abort_after_green_run_is_success(guard: ModuleType, tmp_path: Path, code: int) -> None:
    assert guard.verdict(code, _report(tmp_path, tests=12)) == 0


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"tests": 12, "failures": 1}, "a failed test"),
        ({"tests": 12, "errors": 1}, "an error"),
        ({"tests": 0}, "no tests ran"),
    ],
)
def test_abort_never_hides_a_bad_report(
    guard: ModuleType, tmp_path: Path, counts: dict[str, int], why: str
) -> None:
    assert guard.verdict(134, _report(tmp_path, **counts)) == 134, why


def test_abort_without_report_fails(guard: ModuleType, tmp_path: Path) -> None:
    assert guard.verdict(-6, tmp_path / "missing.xml") == 134
    (tmp_path / "cut.xml").write_text('<?xml version="1.0"?><testsuites><testsuite tests="3"')
    assert guard.verdict(134, tmp_path / "cut.xml") == 134


@pytest.mark.parametrize("code", [1, 2, 3, 4, 5, 139])
def test_other_codes_pass_through_even_with_green_report(
    guard: ModuleType, tmp_path: Path, code: int
) -> None:
    assert guard.verdict(code, _report(tmp_path, tests=12)) == code


@pytest.mark.parametrize(("body", "expected"), [("assert True", 0), ("assert False", 134)])
def test_end_to_end_with_a_real_abort(tmp_path: Path, body: str, expected: int) -> None:
    """A suite whose interpreter aborts at exit, like the time-skipping server can make it."""
    (tmp_path / "conftest.py").write_text("import atexit, os\natexit.register(os.abort)\n")
    (tmp_path / "test_it.py").write_text(f"def test_it():\n    {body}\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, str(GUARD), "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == expected, textwrap.shorten(result.stdout + result.stderr, 2000)
    assert "pytest aborted" in result.stderr
