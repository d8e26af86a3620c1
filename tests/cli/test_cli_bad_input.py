"""Every bad id, file or setting the CLI can be given is answered in one line with exit 2.

Ids and files are refused before anything connects, so most of these need no server (the
settings point at closed ports to prove it); the worker's start check runs against a real
PocketBase and Temporal dev server.
"""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from durable_tasks.limits import MAX_INPUT_BYTES, MAX_INPUT_DEPTH
from durable_tasks.testing import PocketBaseServer
from tests.support.cli import run_cli


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


NOWHERE = {
    "TEMPORAL_ADDRESS": f"127.0.0.1:{closed_port()}",
    "POCKETBASE_URL": f"http://127.0.0.1:{closed_port()}",
    "POCKETBASE_ADMIN_EMAIL": "admin@example.com",
    "POCKETBASE_ADMIN_PASSWORD": "not-used-here",
    "DURABLE_TASKS_IMPORTS": "activities",  # something to run, so the settings are checked
}


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("durable-tasks: error: "), lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["status", "cancel", "rerun", "watch"])
@pytest.mark.parametrize("task_id", [".", "..", "a/b", "Mixed-Case"])
def test_a_bad_task_id_is_one_line_and_exit_2(command: str, task_id: str) -> None:
    line = one_line_error(run_cli(command, task_id, **NOWHERE))
    assert "invalid taskId: " in line and "is not a valid task id" in line


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--task-id", ""], "invalid taskId: must not be empty"),
        (["--task-id", "r5-MiXeD"], "invalid taskId: 'r5-MiXeD'"),
        (["--workspace", "   "], "invalid workspaceId: must not be empty or blank"),
        (["--workspace", ""], "invalid workspaceId"),
        (["--input", '{"a": NaN}'], "--input: NaN is not a JSON number"),
        (["--input", '{"a": -Infinity}'], "--input: -Infinity is not a JSON number"),
        (["--input", '{"a": "\\ud800"}'], "--input: invalid input.a: not valid Unicode"),
        (["--input", "[" * 100_000], "--input: nested too deep to read"),
        (["--input", '{"n": 1' + "0" * 5000 + "}"], "--input: not valid JSON"),
    ],
)
def test_bad_start_arguments_are_one_line_and_exit_2(args: list[str], named: str) -> None:
    base = {"--workspace": "ws", "--task-id": "ok-1", "--input": "{}"}
    base.update(zip(args[::2], args[1::2], strict=True))
    argv = [item for pair in base.items() for item in pair]
    assert named in one_line_error(run_cli("start", "send-email", *argv, **NOWHERE))


def _deep(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\xff\xfe{\x00}\x00", "not UTF-8 text (byte 0xff at offset 0)"),
        ('{"to": "caf\xe9"}'.encode("latin-1"), "not UTF-8 text (byte 0xe9 at offset 11)"),
        (("[" * 200_000).encode(), "nested too deep to read"),
        (_deep(300).encode(), f"nested deeper than {MAX_INPUT_DEPTH} levels"),
        (_deep(MAX_INPUT_DEPTH + 1).encode(), f"nested deeper than {MAX_INPUT_DEPTH} levels"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": Infinity}', "Infinity is not a JSON number"),
        (json.dumps({"blob": "x" * MAX_INPUT_BYTES}).encode(), "more than the"),
        (b"x" * (4 * MAX_INPUT_BYTES + 1), "the file is larger than"),
        (b"", "not valid JSON"),
    ],
)
def test_bad_input_files_are_one_line_and_exit_2(
    tmp_path: Path, content: bytes, named: str
) -> None:
    job = tmp_path / "job.json"
    job.write_bytes(content)
    line = one_line_error(
        run_cli("start", "send-email", "--workspace", "ws", "--input", f"@{job}", **NOWHERE)
    )
    assert line.startswith(f"durable-tasks: error: --input @{job}: ") and named in line


def test_an_unreadable_input_file_is_one_line(tmp_path: Path) -> None:
    for target in (tmp_path, tmp_path / "missing.json"):
        line = one_line_error(
            run_cli("start", "send-email", "--workspace", "ws", "--input", f"@{target}", **NOWHERE)
        )
        assert "cannot read the file" in line


def test_list_refuses_a_blank_workspace() -> None:
    assert "invalid workspaceId" in one_line_error(run_cli("list", "--workspace", " ", **NOWHERE))


# -- the worker checks its settings before it polls ------------------------------------------


def test_worker_with_a_wrong_password_exits_2_before_polling(
    temporal_dev_env: WorkflowEnvironment, pocketbase_server: PocketBaseServer
) -> None:
    env = {
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "POCKETBASE_URL": pocketbase_server.url,
        "POCKETBASE_ADMIN_EMAIL": pocketbase_server.admin_email,
        "POCKETBASE_ADMIN_PASSWORD": pocketbase_server.admin_password + "-wrong",
        "DURABLE_TASKS_IMPORTS": "activities",  # something to run, so the settings are checked
    }
    worker = run_cli("worker", timeout=60, **env)
    # One line, so not even the "worker on task queue ..." line logged just before polling.
    line = one_line_error(worker)
    assert "refused the superuser credentials" in line and "POCKETBASE_ADMIN_PASSWORD" in line
    assert pocketbase_server.admin_password not in worker.stderr
    # The task commands give the very same line for the same settings.
    status = run_cli("status", "some-task", timeout=60, **env)
    assert one_line_error(status) == line


@pytest.mark.parametrize("attempt", range(3))  # the SDK's abort at exit was intermittent
def test_worker_with_temporal_unreachable_exits_2(attempt: int) -> None:
    line = one_line_error(run_cli("worker", timeout=60, **NOWHERE))
    assert f"cannot reach Temporal at {NOWHERE['TEMPORAL_ADDRESS']} (TEMPORAL_ADDRESS)" in line
