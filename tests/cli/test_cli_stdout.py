"""The CLI's stdout holds its own output only: Temporal core log lines go to stderr.

The SDK's default runtime prints core warnings straight to stdout; a job a little over
Temporal's 512 KB payload warning made `start` print one above its result, breaking whoever
parses it (`--json` users). Such a job is now refused before it is sent (job data is capped at
256 KiB, see `durable_tasks.limits`), and the CLI's logging setup forwards every core line to
Python logging, on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]

# A program that makes the Temporal core warn (the time-skipping server lacks a capability the
# core asks for) with or without the CLI's logging setup.
_WARNING_PROGRAM = """
import asyncio, shutil, sys, uuid
from datetime import timedelta
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from durable_tasks.logs import configure_logging

@activity.defn
async def noop() -> None:
    return None

@workflow.defn(sandboxed=False)
class One:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=10))

async def main() -> None:
    if sys.argv[1] == "cli":
        configure_logging("warning")  # what every durable-tasks command does first
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=shutil.which("temporal-test-server")
    )
    try:
        queue = str(uuid.uuid4())
        async with Worker(env.client, task_queue=queue, workflows=[One], activities=[noop]):
            await env.client.execute_workflow(One.run, id=queue, task_queue=queue)
    finally:
        await env.shutdown()
    print("result")

asyncio.run(main())
"""
_CORE_WARNING = "Temporal Server 1.16.0 or newer is required"


def _run_program(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WARNING_PROGRAM, mode],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        },
        check=False,
    )


def test_core_log_lines_go_to_stderr_under_the_cli_s_logging() -> None:
    bare = _run_program("bare")  # the SDK's default: the warning lands on stdout
    assert _CORE_WARNING in bare.stdout, bare
    cli = _run_program("cli")
    assert cli.stdout == "result\n", cli
    assert _CORE_WARNING in cli.stderr


def test_an_input_over_the_limit_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"message": "x" * 600_000}))  # over the 512 KB payload warning
    result = run_cli(
        "start", "cli-echo", "--workspace", "ws", "--input", f"@{job}",
        "--import", "tests.support.cli_processors",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "input" in line and "262144" in line
