"""Every README command and snippet that can run on this machine, run.

- The Python snippets are extracted from README.md and executed for real: the processors run on
  a worker, the client snippet sends a real email, the testing snippet runs as a user's pytest.
- The shell commands of the quick start and "Starting tasks" run, in order, against a real
  `durable-tasks dev` stack, each expected to exit 0; an `export NAME=value` line sets NAME for
  the commands after it. Left out, with the reason: `make run` / `make test` (this suite *is*
  `make test`; `make run` is `durable-tasks dev` with the examples' `--import`s, started here),
  `source .venv/bin/activate` (the test calls the venv's script), and the Docker commands (no
  Docker engine on this machine; tests/test_docker_compose.py validates the file instead).
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from durable_tasks.client import TaskClient
from durable_tasks.context import TaskContext
from durable_tasks.dev import free_port, start_smtp_sink
from durable_tasks.models import TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import PocketBaseServer, running_worker
from tests.support.cli import clean_env, console_script
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
NOT_RUN_HERE = ("make ", "source ", "cp .env.example", "docker ")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _python_block(marker: str) -> str:
    found = [b for b in _blocks("python") if marker in b]
    assert len(found) == 1, f"README has {len(found)} python blocks with {marker!r}"
    return found[0]


@pytest.fixture
def snippets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The README's processor snippets as importable modules (the workflow sandbox imports them)."""
    (tmp_path / "readme_simple.py").write_text(_python_block("class ResizeImage"))
    (tmp_path / "readme_flow.py").write_text(_python_block("class MonthlyReport"))
    (tmp_path / "readme_client.py").write_text(_python_block("async def send_welcome"))
    (tmp_path / "myapp").mkdir()
    (tmp_path / "myapp" / "__init__.py").write_text("")
    (tmp_path / "myapp" / "processors.py").write_text(_python_block("class ResizeImage"))
    (tmp_path / "readme_plugin.py").write_text(_python_block("def my_worker"))
    (tmp_path / "readme_secrets.py").write_text(_python_block("class FetchData"))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


async def test_readme_processors_run(
    snippets: Path, temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    simple = importlib.import_module("readme_simple")
    flow = importlib.import_module("readme_flow")
    async with running_worker(
        temporal_client, task_store, simple.ResizeImage, flow.MonthlyReport
    ) as tasks:
        url = "https://example.com/a.png"
        await tasks.start("resize-image", workspace_id="ws", task_id="rd1", input={"imageUrl": url})
        await tasks.start("resize-image", workspace_id="ws", task_id="rd2", input={"imageUrl": "x"})
        await tasks.start(
            "monthly-report", workspace_id="ws", task_id="rd3", input={"month": "May"}
        )
        ok, refused, report = [await tasks.wait(t) for t in ("rd1", "rd2", "rd3")]
    assert ok.status == TaskStatus.SUCCESS and ok.result == {"resized": f"{url}?w=640"}
    assert refused.status == TaskStatus.FAILED and refused.attempts == 1
    assert report.status == TaskStatus.SUCCESS
    assert report.result["steps"]["render"]["data"] == "May: 120 rows"


async def test_readme_plugin_snippet_runs_a_plain_workflow_beside_a_durable_task(
    snippets: Path, temporal_client: Client, task_store: PocketBaseTaskStore, task_queue: str
) -> None:
    plugin_snippet = importlib.import_module("readme_plugin")
    processors = importlib.import_module("myapp.processors")
    registry = ProcessorRegistry.of(processors.ResizeImage)
    tasks = TaskClient(temporal_client, task_store, registry, task_queue=task_queue)
    async with plugin_snippet.my_worker(temporal_client, task_store, task_queue):
        plain = await temporal_client.execute_workflow(
            plugin_snippet.GreetWorkflow.run, "ada", id=f"greet-{task_queue}", task_queue=task_queue
        )
        url = "https://example.com/b.png"
        await tasks.start("resize-image", workspace_id="ws", task_id="rp1", input={"imageUrl": url})
        record = await tasks.wait("rp1")
    assert plain == "hello ada"
    assert record.status == TaskStatus.SUCCESS and record.result == {"resized": f"{url}?w=640"}
    assert await task_store.get(f"greet-{task_queue}") is None  # the plain workflow has no record


async def test_readme_client_snippet_sends_the_email(
    snippets: Path,
    temporal_client: Client,
    task_store: PocketBaseTaskStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from activities.send_email import SendEmailProcessor

    client_snippet = importlib.import_module("readme_client")
    with start_smtp_sink(tmp_path / "mail", port=0) as sink:
        monkeypatch.setenv("SMTP_HOST", sink.host)
        monkeypatch.setenv("SMTP_PORT", str(sink.port))
        async with running_worker(temporal_client, task_store, SendEmailProcessor) as tasks:
            status = await client_snippet.send_welcome(tasks)
        assert status == TaskStatus.SUCCESS
        assert len(sink.messages()) == 1


async def test_readme_client_snippet_connects_from_the_settings(
    snippets: Path,
    temporal_client: Client,
    pocketbase_server: PocketBaseServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`connect()` as written: the imports it shows and the settings it reads are enough."""
    client_snippet = importlib.import_module("readme_client")
    monkeypatch.setenv("TEMPORAL_ADDRESS", temporal_client.service_client.config.target_host)
    monkeypatch.setenv("POCKETBASE_URL", pocketbase_server.url)
    monkeypatch.setenv("POCKETBASE_ADMIN_EMAIL", pocketbase_server.admin_email)
    monkeypatch.setenv("POCKETBASE_ADMIN_PASSWORD", pocketbase_server.admin_password)
    monkeypatch.setenv("DURABLE_TASKS_IMPORTS", "activities")  # as the worker is told
    tasks = await client_snippet.connect()
    try:
        assert "send-email" in tasks.registry.names
        assert await tasks.store.get("no-such-task") is None  # logged in to the real PocketBase
        await tasks.temporal.workflow_service.get_system_info(GetSystemInfoRequest())
    finally:
        await tasks.store.close()


async def test_readme_secret_snippet_keeps_the_token_out_of_the_record(
    snippets: Path, temporal_client: Client, task_store: PocketBaseTaskStore
) -> None:
    secrets_snippet = importlib.import_module("readme_secrets")

    class Fetch(BaseSimpleProcessor[Any]):
        name = "readme-fetch"
        input_model = secrets_snippet.FetchData

        async def process(self, data: Any, ctx: TaskContext) -> bool:
            return bool(data.api_token.get_secret_value() == "tok-123")

    async with running_worker(temporal_client, task_store, Fetch) as tasks:
        job = {"url": "https://example.com", "apiToken": "tok-123"}
        await tasks.start("readme-fetch", workspace_id="ws", task_id="rs1", input=job)
        record = await tasks.wait("rs1")
    assert record.status == TaskStatus.SUCCESS and record.result is True
    assert record.input == {"url": "https://example.com", "apiToken": "**********"}


@pytest.mark.slow
def test_readme_testing_snippet_passes_as_a_users_test(tmp_path: Path) -> None:
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "processors.py").write_text(_python_block("class ResizeImage"))
    (tmp_path / "test_users_code.py").write_text(_python_block("async def test_resize"))
    options = [
        "asyncio_mode=auto",
        "asyncio_default_fixture_loop_scope=session",
        "asyncio_default_test_loop_scope=session",
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_users_code.py"]
        + [arg for option in options for arg in ("-o", option)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 134), result.stdout + result.stderr  # 134: sdk-python #300
    assert "1 passed" in result.stdout, result.stdout + result.stderr


RUN_SECTIONS = ("Quick start", "Starting tasks")
"""The sections whose shell commands run here; the others show setups of other machines (a
user's project, a deployment)."""


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _readme_commands(sections: tuple[str, ...] = RUN_SECTIONS) -> list[str]:
    commands = []
    for title in sections:
        for block in re.findall(r"```sh\n(.*?)```", _section(title), flags=re.S):
            for line in block.splitlines():
                command = line.split("  #")[0].strip()
                if command and not command.startswith(NOT_RUN_HERE):
                    assert command.startswith(("durable-tasks ", "export ")), (
                        f"unexpected README command {line!r}"
                    )
                    commands.append(command)
    return commands


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`durable-tasks dev` as `make run` runs it (the examples, imported from the source tree) on
    free ports, from another directory; yields the env to reach it."""
    ports = {name: free_port() for name in ("temporal", "ui", "pocketbase", "smtp")}
    data = tmp_path / "data"
    env = clean_env(
        TEMPORAL_ADDRESS=f"127.0.0.1:{ports['temporal']}",
        POCKETBASE_URL=f"http://127.0.0.1:{ports['pocketbase']}",
        DURABLE_TASKS_DEV_TEMPORAL_PORT=str(ports["temporal"]),
        DURABLE_TASKS_DEV_UI_PORT=str(ports["ui"]),
        DURABLE_TASKS_DEV_POCKETBASE_PORT=str(ports["pocketbase"]),
        DURABLE_TASKS_DEV_SMTP_PORT=str(ports["smtp"]),
        DURABLE_TASKS_DEV_DATA_DIR=str(data),
        DURABLE_TASKS_WORK_DIR=str(tmp_path / "work"),
        PYTHONPATH=str(ROOT),  # the README's shell sits in the checkout; this one does not
    )
    log = tmp_path / "dev.log"
    run = re.search(r"^run:.*\n\t\$\(BIN\)/durable-tasks dev (.*)$", MAKEFILE, re.M)
    examples = re.search(r"^EXAMPLES := (.*)$", MAKEFILE, re.M)
    assert run and examples, "the Makefile's run target and its EXAMPLES"
    flags = run[1].replace("$(EXAMPLES)", examples[1]).replace("$(ARGS)", "").split()
    assert flags == ["--import", "workflows", "--import", "activities"]
    with log.open("w") as out:
        stack = subprocess.Popen(
            [console_script(), "dev", *flags],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready() -> bool:
            assert stack.poll() is None, log.read_text()
            return "durable-tasks dev is ready" in log.read_text()

        wait_until(ready, timeout=90, what="durable-tasks dev is ready")
        yield env
    finally:
        stack.send_signal(2)  # SIGINT, as Ctrl-C
        try:
            stack.wait(60)
        except subprocess.TimeoutExpired:
            stack.kill()
            stack.wait()


@pytest.mark.slow
def test_readme_shell_commands_run_against_the_dev_stack(
    dev_stack: dict[str, str], tmp_path: Path
) -> None:
    commands = _readme_commands()
    assert len(commands) >= 10  # the quick start's and "Starting tasks"' commands
    # The second shell of the quick start names the examples before it starts one.
    quick_start = _readme_commands(("Quick start",))
    assert "export DURABLE_TASKS_IMPORTS=workflows,activities" in quick_start
    env = dict(dev_stack)
    for command in commands:
        if command.startswith("export "):
            for assignment in shlex.split(command)[1:]:
                name, _, value = assignment.partition("=")
                env[name] = value
            continue
        result = subprocess.run(
            [console_script(), *shlex.split(command)[1:]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def test_readme_pytest_settings_are_those_the_user_project_runs_with() -> None:
    # tests/project/test_distribution.py runs that project's suite on the installed wheel, so
    # the settings shown are settings known to work for a user's project.
    (block,) = _blocks("toml")
    shown = tomllib.loads(block)["tool"]["pytest"]["ini_options"]
    user_project = ROOT / "tests" / "project" / "user_project" / "pyproject.toml"
    used = tomllib.loads(user_project.read_text())["tool"]["pytest"]["ini_options"]
    assert shown == {key: value for key, value in used.items() if key != "testpaths"}
