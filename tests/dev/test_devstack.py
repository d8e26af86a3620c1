"""`durable-tasks dev` starts both servers (and a worker), reports taken ports, and cleans up.

These run the real console script on free ports with a throwaway data directory, as a user would,
and bound every wait: a dev stack that hangs must fail the test, not the CI job.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from durable_tasks.dev import DevStackConfig, check_ports_free, free_port, superuser_credentials
from durable_tasks.errors import ConfigurationError
from durable_tasks.settings import Settings
from tests.support.cli import clean_env, console_script
from tests.support.waiting import wait_until

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ["--import", "workflows", "--import", "activities"]  # what `make run` passes


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # Still in the table: only acceptable as a zombie nobody reaped yet (we must have reaped it).
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state == "Z"


@dataclass
class _Stack:
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    ports: dict[str, int]
    data_dir: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def diagnostics(self) -> str:
        return f"stdout:\n{self.output()}\nstderr:\n{self.stderr.read_text()[-4000:]}"

    def wait_ready(self) -> str:
        def ready() -> str:
            if self.process.poll() is not None:
                pytest.fail(f"dev exited early ({self.process.returncode})\n{self.diagnostics()}")
            text = self.output()
            return text if "durable-tasks dev is ready" in text else ""

        try:
            return wait_until(ready, timeout=START_TIMEOUT, what="durable-tasks dev is ready")
        except AssertionError:
            pytest.fail(f"dev not ready after {START_TIMEOUT} s\n{self.diagnostics()}")


@pytest.fixture
def dev_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[_Stack]:
    """Starts `durable-tasks dev` with the params' extra flags; kills it if a test leaves it up."""
    ports = {
        "temporal": free_port(),
        "ui": free_port(),
        "pocketbase": free_port(),
        "smtp": free_port(),
    }
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    data_dir = tmp_path / "data"
    command = [
        console_script(), "dev", *request.param,
        "--temporal-port", str(ports["temporal"]), "--ui-port", str(ports["ui"]),
        "--pocketbase-port", str(ports["pocketbase"]), "--smtp-port", str(ports["smtp"]),
        "--data-dir", str(data_dir),
    ]  # fmt: skip
    with stdout.open("wb") as out, stderr.open("wb") as err:
        # From the repository root, as `make run`: the examples load from the source tree.
        process = subprocess.Popen(command, stdout=out, stderr=err, env=clean_env(), cwd=ROOT)
    stack = _Stack(process, stdout, stderr, ports, data_dir)
    try:
        yield stack
    finally:
        if process.poll() is None:  # the test failed midway: stop it as Ctrl-C would, so it
            process.terminate()  # stops its servers (they run in sessions of their own and
            try:  # would outlive a SIGKILL of `dev`)
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()


async def _temporal_lists_workflows(address: str) -> None:
    from temporalio.client import Client

    client = await Client.connect(address)
    assert [wf async for wf in client.list_workflows()] == []


async def _worker_polls(address: str, task_queue: str) -> bool:
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    client = await Client.connect(address)
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default", task_queue=TaskQueue(name=task_queue), task_queue_type=kind
            )
        )
        if response.pollers:
            return True
    return False


def _check_servers_then_stop(stack: _Stack, *, with_worker: bool) -> None:
    text = stack.wait_ready()
    try:
        _check_and_stop(stack, text, with_worker=with_worker)
    except Exception as exc:  # the dev stack's own output says more than a refused connection
        pytest.fail(f"{type(exc).__name__}: {exc}\n{stack.diagnostics()}")


def _check_and_stop(stack: _Stack, text: str, *, with_worker: bool) -> None:
    temporal = re.search(r"Temporal\s+(\S+)\s+\(pid (\d+)", text)
    pocketbase = re.search(r"PocketBase\s+(http\S+)\s+\(pid (\d+)", text)
    superuser = re.search(r"Superuser\s+(\S+)\s+password (\S+)", text)
    assert temporal and pocketbase and superuser, text
    address, pb_url = temporal[1], pocketbase[1]
    pids = [int(temporal[2]), int(pocketbase[2])]
    assert address == f"127.0.0.1:{stack.ports['temporal']}"
    assert f"http://127.0.0.1:{stack.ports['ui']}" in text
    assert f"{pb_url}/_/" in text

    asyncio.run(_temporal_lists_workflows(address))
    assert httpx.get(f"http://127.0.0.1:{stack.ports['ui']}/", timeout=5).status_code == 200
    assert httpx.get(f"{pb_url}/api/health", timeout=5).status_code == 200
    auth = httpx.post(
        f"{pb_url}/api/collections/_superusers/auth-with-password",
        json={"identity": superuser[1], "password": superuser[2]},
        timeout=5,
    )
    assert auth.status_code == 200, auth.text
    assert auth.json()["token"]
    # The task board is served at the root, and the printed demo user logs in to workspace demo.
    demo = re.search(r"Demo user\s+(\S+)\s+password (\S+)\s+\(workspace demo\)", text)
    assert demo, text
    assert "pocketbase.umd.js" in httpx.get(f"{pb_url}/", timeout=5).text
    login = httpx.post(
        f"{pb_url}/api/collections/users/auth-with-password",
        json={"identity": demo[1], "password": demo[2]},
        timeout=5,
    )
    assert login.status_code == 200, login.text
    assert login.json()["record"]["workspaceId"] == "demo"

    if with_worker:

        def polled() -> bool:
            assert stack.process.poll() is None, f"dev exited\n{stack.diagnostics()}"
            return asyncio.run(_worker_polls(address, "durable-tasks"))

        wait_until(polled, timeout=START_TIMEOUT, interval=0.2, what="a worker polling the queue")

    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dev did not stop within {STOP_TIMEOUT} s\n{stack.diagnostics()}")
    assert code == 0, stack.diagnostics()
    assert all(_pid_gone(pid) for pid in pids), f"a server outlived dev: {pids}"
    assert all(_port_is_free(port) for port in stack.ports.values()), stack.ports
    assert "stopped." in stack.output()


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("dev_stack", [["--no-worker"]], indirect=True)
def test_dev_starts_and_stops_both_servers(dev_stack: _Stack) -> None:
    _check_servers_then_stop(dev_stack, with_worker=False)
    saved = dev_stack.data_dir / "pocketbase-admin.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert (dev_stack.data_dir / "temporal.db").is_file()


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("dev_stack", [EXAMPLES], indirect=True)
def test_dev_runs_a_worker_too(dev_stack: _Stack) -> None:
    _check_servers_then_stop(dev_stack, with_worker=True)


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("dev_stack", [["--no-worker"]], indirect=True)
def test_a_server_dying_stops_the_rest(dev_stack: _Stack) -> None:
    """If Temporal dies under it, dev says so, stops PocketBase and exits 1: no half-stack."""
    text = dev_stack.wait_ready()
    temporal = re.search(r"Temporal\s+\S+\s+\(pid (\d+)", text)
    pocketbase = re.search(r"PocketBase\s+http\S+\s+\(pid (\d+)", text)
    assert temporal and pocketbase, text
    os.kill(int(temporal[1]), signal.SIGKILL)
    try:
        code = dev_stack.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"dev kept running without Temporal\n{dev_stack.diagnostics()}")
    assert code == 1, dev_stack.diagnostics()
    assert "durable-tasks: error: Temporal exited unexpectedly" in dev_stack.stderr.read_text()
    assert _pid_gone(int(pocketbase[1]))
    assert all(_port_is_free(port) for port in dev_stack.ports.values())


@pytest.mark.parametrize(
    ("taken", "name"),
    [
        ("--temporal-port", "Temporal"),
        ("--ui-port", "Temporal UI"),
        ("--pocketbase-port", "PocketBase"),
        ("--smtp-port", "SMTP sink"),
    ],
)
def test_taken_port_is_named_and_nothing_starts(tmp_path: Path, taken: str, name: str) -> None:
    flags = ("--temporal-port", "--ui-port", "--pocketbase-port", "--smtp-port")
    ports = {flag: free_port() for flag in flags}
    data_dir = tmp_path / "data"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        ports[taken] = blocker.getsockname()[1]
        args = [arg for flag, port in ports.items() for arg in (flag, str(port))]
        result = subprocess.run(
            [console_script(), "dev", "--data-dir", str(data_dir), *args],
            capture_output=True, text=True, timeout=30, env=clean_env(), check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"durable-tasks: error: port {ports[taken]} ({name}) is already in use; stop what listens "
        "there (another `durable-tasks dev`?) or choose another port (see --help)\n"
    )
    assert result.stdout == ""
    assert not data_dir.exists(), "dev created state before refusing"
    assert all(_port_is_free(port) for flag, port in ports.items() if flag != taken)


def test_a_worker_with_nothing_to_run_is_refused_before_anything_starts(tmp_path: Path) -> None:
    # No --import, no DURABLE_TASKS_IMPORTS: no guess at packages named `workflows` or
    # `activities` (the repository's own are importable from ROOT, where this runs).
    ports = [arg for flag in ("--temporal-port", "--ui-port", "--pocketbase-port", "--smtp-port")
             for arg in (flag, str(free_port()))]  # fmt: skip
    result = subprocess.run(
        [console_script(), "dev", "--data-dir", str(tmp_path / "d"), *ports],
        capture_output=True, text=True, timeout=30, env=clean_env(), cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "durable-tasks: error: no processors to run: name the modules that define them with "
        "--import MODULE (repeatable) or DURABLE_TASKS_IMPORTS=MODULE[,MODULE...], e.g. "
        "--import myapp.processors (or start only the servers: --no-worker)"
    ]
    assert not (tmp_path / "d").exists(), "dev created state before refusing"


def test_same_port_twice_is_refused(tmp_path: Path) -> None:
    config = DevStackConfig(tmp_path, temporal_port=7300, ui_port=7300, pocketbase_port=free_port())
    with pytest.raises(
        ConfigurationError, match="port 7300 is given for both Temporal and Temporal UI"
    ):
        check_ports_free(config)


def test_bad_port_variable_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [console_script(), "dev", "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=30, check=False,
        env=clean_env(DURABLE_TASKS_DEV_POCKETBASE_PORT="eighty"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("durable-tasks: error: DURABLE_TASKS_DEV_POCKETBASE_PORT: ")
    assert not (tmp_path / "d").exists()


def test_generated_superuser_is_saved_privately_and_reused(tmp_path: Path) -> None:
    first = superuser_credentials(tmp_path, Settings())
    saved = tmp_path / "pocketbase-admin.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text()) == {"email": first.email, "password": first.password}
    assert len(first.password) >= 20
    # Letters and digits only: a generated "-abc" once read as an option to `pocketbase superuser`.
    assert first.password.isalnum() and first.password.isascii()
    again = superuser_credentials(tmp_path, Settings())
    assert (again.email, again.password) == (first.email, first.password)


def test_superuser_from_environment_wins_and_is_not_written(tmp_path: Path) -> None:
    settings = Settings(
        POCKETBASE_ADMIN_EMAIL="me@example.com", POCKETBASE_ADMIN_PASSWORD="pw-123456"
    )
    credentials = superuser_credentials(tmp_path, settings)
    assert (credentials.email, credentials.password) == ("me@example.com", "pw-123456")
    assert not (tmp_path / "pocketbase-admin.json").exists()


def test_half_set_superuser_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="both POCKETBASE_ADMIN_EMAIL and"):
        superuser_credentials(tmp_path, Settings(POCKETBASE_ADMIN_EMAIL="me@example.com"))
