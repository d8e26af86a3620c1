"""The task commands end to end: `start`, `status`, `watch`, `cancel`, `rerun`, `list`.

Every command runs as a user runs it, in a subprocess (`python -m durable_tasks.cli`), against a
real Temporal dev server and a real PocketBase (session fixtures), with a real worker running
the processors of `tests.support.cli_processors` in this process. The subprocesses know those processors
through `--import tests.support.cli_processors`. Subprocesses are awaited with asyncio, never blocking the
loop the worker runs on, and every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from durable_tasks import cli
from durable_tasks.client import TaskClient
from durable_tasks.models import TaskRecord, TaskStatus
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import PocketBaseServer
from durable_tasks.worker import build_worker
from tests.support.cli import clean_env
from tests.support.cli_processors import RUNS, Boom, CliFlow, Echo, Hold, gate
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow  # one module-scoped worker, many CLI subprocesses

TESTS_DIR = (
    Path(__file__).resolve().parents[2]
)  # the repository root: `tests.support` imports from there
IMPORT = ("--import", "tests.support.cli_processors")


@dataclass
class Setup:
    """The servers, the worker's queue, and an in-process client for arranging and checking."""

    env: dict[str, str]
    store: PocketBaseTaskStore
    client: TaskClient


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest_asyncio.fixture(scope="module")
async def stack(
    temporal_dev_env: WorkflowEnvironment, pocketbase_server: PocketBaseServer
) -> AsyncIterator[Setup]:
    """One worker for the module's tests, on a queue of its own, and the CLI's environment.

    Tests keep apart by using fresh task ids and workspaces, so the worker and the servers are
    shared and started once.
    """
    queue = f"cli-{uuid.uuid4()}"
    store = PocketBaseTaskStore(
        pocketbase_server.url, pocketbase_server.admin_email, pocketbase_server.admin_password
    )
    registry = ProcessorRegistry.of(Echo, Boom, Hold, CliFlow)
    client = temporal_dev_env.client
    env = clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host,
        DURABLE_TASKS_TASK_QUEUE=queue,
        POCKETBASE_URL=pocketbase_server.url,
        POCKETBASE_ADMIN_EMAIL=pocketbase_server.admin_email,
        POCKETBASE_ADMIN_PASSWORD=pocketbase_server.admin_password,
        PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS_DIR), os.environ.get("PYTHONPATH")])),
        COLUMNS="200",
    )
    try:
        async with build_worker(client, task_queue=queue, store=store, registry=registry):
            yield Setup(env, store, TaskClient(client, store, registry, task_queue=queue))
    finally:
        await store.close()


def new_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def spawn(stack: Setup, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "durable_tasks.cli",
        *args,
        env=stack.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, timeout: float = 60) -> Result:
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"the command did not end within {timeout} s") from None
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def run_cli(stack: Setup, *args: str, timeout: float = 60) -> Result:
    return await finish(await spawn(stack, *args), timeout)


async def read_until(proc: asyncio.subprocess.Process, needle: str, timeout: float = 30) -> str:
    """Lines of stdout up to and including the first that contains `needle`."""
    assert proc.stdout is not None
    seen: list[str] = []

    async def scan() -> None:
        while True:
            line = (await proc.stdout.readline()).decode()  # type: ignore[union-attr]
            if not line:
                raise AssertionError(f"stdout ended before {needle!r}: {seen}")
            seen.append(line)
            if needle in line:
                return

    try:
        await asyncio.wait_for(scan(), timeout)
    except TimeoutError:
        proc.kill()
        raise AssertionError(f"no {needle!r} within {timeout} s: {seen}") from None
    return "".join(seen)


def one_line_error(result: Result) -> str:
    assert "Traceback" not in result.err, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("durable-tasks: error: "), lines[0]
    return lines[0]


async def record_of(stack: Setup, task_id: str) -> TaskRecord:
    record = await stack.store.get(task_id)
    assert record is not None, f"no record for {task_id}"
    return record


async def final_record(stack: Setup, task_id: str) -> TaskRecord:
    async def probe() -> TaskRecord | None:
        record = await stack.store.get(task_id)
        return record if record is not None and record.status.is_final else None

    record = await eventually(probe, what=f"task {task_id} final")
    assert record is not None
    return record


async def step_status(stack: Setup, task_id: str, step: str, status: str) -> TaskRecord | None:
    record = await stack.store.get(task_id)
    steps = (record.result or {}).get("steps", {}) if record else {}
    return record if steps.get(step, {}).get("status") == status else None


async def workflow_exists(stack: Setup, task_id: str) -> bool:
    try:
        await stack.client.handle(task_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


# -- start --------------------------------------------------------------------------------------


async def test_start_wait_success_and_failure(stack: Setup, tmp_path: Path) -> None:
    ok_id, bad_id = new_id("ok"), new_id("bad")
    job = tmp_path / "job.json"
    job.write_text('{"message": "from a file"}')
    ok, bad, generated = await asyncio.gather(
        run_cli(stack, "start", "cli-echo", "--workspace", "ws-start", "--task-id", ok_id,
                "--input", '{"message": "hi", "times": 2}', "--wait", *IMPORT),
        run_cli(stack, "start", "cli-boom", "--workspace", "ws-start", "--task-id", bad_id,
                "--wait", *IMPORT),
        run_cli(stack, "start", "cli-echo", "--workspace", "ws-start",
                "--input", f"@{job}", *IMPORT),
    )  # fmt: skip

    assert ok.code == 0, ok
    assert f"task {ok_id} started" in ok.out
    assert f"task {ok_id} SUCCESS" in ok.out
    record = await record_of(stack, ok_id)
    assert record.status == TaskStatus.SUCCESS and record.result == {"echo": "hi hi"}

    assert bad.code == 1, bad
    assert f"task {bad_id} FAILED" in bad.out and "the widget is on fire" in bad.out
    assert (await record_of(stack, bad_id)).status == TaskStatus.FAILED

    # Without --task-id a fresh id is made and printed; without --wait it returns at once.
    assert generated.code == 0, generated
    match = re.search(r"task (\S+) started", generated.out)
    assert match, generated.out
    generated_record = await final_record(stack, match.group(1))
    assert generated_record.status == TaskStatus.SUCCESS
    assert generated_record.result == {"echo": "from a file"}


@pytest.mark.parametrize(
    ("input", "named"),
    [
        ('{"times": 2}', "message: Field required"),
        ('{"message": "x", "times": 99}', "times: Input should be less than or equal to 10"),
        ("{not json", "--input: not valid JSON"),
        ("[1, 2]", "--input: expected a JSON object"),
        ("@/no/such/job.json", "--input @/no/such/job.json: cannot read the file"),
    ],
)
async def test_invalid_input_is_refused_before_anything_starts(
    stack: Setup, input: str, named: str
) -> None:
    task_id = new_id("invalid")
    result = await run_cli(
        stack, "start", "cli-echo", "--workspace", "ws-invalid", "--task-id", task_id,
        "--input", input, *IMPORT,
    )  # fmt: skip
    assert result.code == 2, result
    assert named in one_line_error(result)
    assert await stack.store.get(task_id) is None
    assert not await workflow_exists(stack, task_id)


async def test_unknown_type_lists_the_known_ones(stack: Setup) -> None:
    task_id = new_id("unknown")
    result = await run_cli(
        stack, "start", "no-such-type", "--workspace", "ws", "--task-id", task_id, *IMPORT
    )
    assert result.code == 2, result
    line = one_line_error(result)
    assert "unknown task type 'no-such-type'" in line
    for known in ("cli-boom", "cli-echo", "cli-flow", "cli-hold"):
        assert known in line
    assert await stack.store.get(task_id) is None


async def test_duplicate_start_says_already_finished(stack: Setup) -> None:
    task_id = new_id("dup")
    await stack.client.start("cli-echo", workspace_id="ws", input={"message": "a"}, task_id=task_id)
    assert (await stack.client.wait(task_id)).status == TaskStatus.SUCCESS
    again = await run_cli(
        stack, "start", "cli-echo", "--workspace", "ws", "--task-id", task_id,
        "--input", '{"message": "a"}', *IMPORT,
    )  # fmt: skip
    assert again.code == 0, again
    assert f"task {task_id} already finished (SUCCESS)" in again.out
    assert f"durable-tasks rerun {task_id}" in again.out
    assert (await record_of(stack, task_id)).attempts == 1  # not run a second time


# -- cancel (and a duplicate start of a running task) --------------------------------------------


async def test_cancel_a_running_task(stack: Setup) -> None:
    task_id = new_id("hold")
    started = await run_cli(
        stack, "start", "cli-hold", "--workspace", "ws", "--task-id", task_id, *IMPORT
    )
    assert started.code == 0 and f"task {task_id} started" in started.out, started
    await eventually(lambda: _progress_at_least(stack, task_id, 10), what="hold running")

    # A second start attaches to the running task; with --wait it waits for its end.
    attached = await spawn(
        stack, "start", "cli-hold", "--workspace", "ws", "--task-id", task_id, "--wait", *IMPORT
    )
    await read_until(attached, f"task {task_id} already running")

    cancel = await run_cli(stack, "cancel", task_id, "--wait")
    assert cancel.code == 0, cancel
    assert "cancellation requested" in cancel.out and f"task {task_id} CANCELLED" in cancel.out
    assert (await record_of(stack, task_id)).status == TaskStatus.CANCELLED

    waited = await finish(attached)
    assert waited.code == 1, waited
    assert f"task {task_id} CANCELLED" in waited.out

    not_running = await run_cli(stack, "cancel", task_id)
    assert not_running.code == 1, not_running
    assert f"task {task_id} is not running (CANCELLED)" in not_running.out

    missing = await run_cli(stack, "cancel", new_id("missing"))
    assert missing.code == 2 and "no task" in one_line_error(missing)


async def _progress_at_least(stack: Setup, task_id: str, value: float) -> bool:
    record = await stack.store.get(task_id)
    return record is not None and record.status == TaskStatus.RUNNING and record.progress >= value


# -- status -------------------------------------------------------------------------------------


async def test_status_human_and_json_of_a_running_then_finished_flow(stack: Setup) -> None:
    task_id = new_id("status")
    await stack.client.start("cli-flow", workspace_id="ws", input={"gated": True}, task_id=task_id)
    await eventually(lambda: step_status(stack, task_id, "gate", "running"), what="gate running")

    # JSON without --import: this process does not know cli-flow, the live result still shows.
    as_json, human = await asyncio.gather(
        run_cli(stack, "status", task_id, "--json"),
        run_cli(stack, "status", task_id, *IMPORT),
    )
    assert as_json.code == 0, as_json
    view = json.loads(as_json.out)
    assert set(view) == {"record", "live", "workflowStatus"}
    assert view["workflowStatus"] == "RUNNING"
    record = view["record"]
    for key in ("id", "workspaceId", "type", "status", "progress", "input", "result", "errorLog",
                "attempts", "workflowId", "runId", "startedAt", "completedAt", "seq"):  # fmt: skip
        assert key in record, key
    assert not [key for key in record if "_" in key], "snake_case key in the JSON"
    assert record["id"] == task_id and record["status"] == "RUNNING"
    live = view["live"]
    assert live["totalSteps"] == 3 and live["currentStep"] == "gate"
    assert live["steps"]["prepare"]["status"] == "completed"
    assert live["steps"]["gate"]["status"] == "running"

    assert human.code == 0, human
    for text in (task_id, "cli-flow", "RUNNING", "steps (live)", "prepare", "completed", "gate"):
        assert text in human.out, (text, human.out)

    gate(task_id).set()
    assert (await final_record(stack, task_id)).status == TaskStatus.SUCCESS
    done = await run_cli(stack, "status", task_id, "--json")
    view = json.loads(done.out)
    assert view["live"] is None and view["workflowStatus"] == "COMPLETED"
    assert view["record"]["status"] == "SUCCESS" and view["record"]["progress"] == 100
    assert view["record"]["result"]["completedSteps"] == ["prepare", "gate", "finish"]

    missing = await run_cli(stack, "status", new_id("missing"))
    assert missing.code == 2 and "no task" in one_line_error(missing)


async def test_status_shows_the_error_log_of_a_failed_task(stack: Setup) -> None:
    task_id = new_id("boom")
    await stack.client.start("cli-boom", workspace_id="ws", task_id=task_id)
    await stack.client.wait(task_id)
    result = await run_cli(stack, "status", task_id)
    assert result.code == 0, result
    assert "FAILED" in result.out and "error log" in result.out
    assert "the widget is on fire" in result.out


# -- watch --------------------------------------------------------------------------------------


async def test_watch_follows_a_flow_to_success(stack: Setup) -> None:
    task_id = new_id("watch")
    await stack.client.start("cli-flow", workspace_id="ws", input={"gated": True}, task_id=task_id)
    watch = await spawn(stack, "watch", task_id)
    # The watch is live while the flow waits at the gate: then the gate opens.
    before = await read_until(watch, "gate=running")
    gate(task_id).set()
    result = await finish(watch)
    assert result.code == 0, (before, result)
    lines = (before + result.out).splitlines()
    assert lines[-1] == f"task {task_id} SUCCESS"
    changes = lines[:-1]
    assert any("SUCCESS 100% prepare=completed gate=completed finish=completed" in line
               for line in changes), changes  # fmt: skip
    progress = [int(m.group(1)) for line in changes if (m := re.search(r" (\d+)% ", line))]
    assert progress == sorted(progress) and progress[-1] == 100, changes
    assert len(changes) == len(set(changes)), "a line repeated: one line per change"


async def test_watch_a_failing_flow_exits_1(stack: Setup) -> None:
    task_id = new_id("watchfail")
    await stack.client.start(
        "cli-flow", workspace_id="ws", input={"always_fail": True}, task_id=task_id
    )
    result = await run_cli(stack, "watch", task_id)
    assert result.code == 1, result
    assert "finish=failed" in result.out
    assert result.out.splitlines()[-1] == (
        f"task {task_id} FAILED: finish: NonRetryableError: finish refused the batch"
    )


async def test_watch_polling_a_finished_task_and_an_unknown_one(stack: Setup) -> None:
    task_id = new_id("polled")
    await stack.client.start("cli-echo", workspace_id="ws", input={"message": "m"}, task_id=task_id)
    await stack.client.wait(task_id)
    polled, missing = await asyncio.gather(
        run_cli(stack, "watch", task_id, "--poll", "--interval", "0.1"),
        run_cli(stack, "watch", new_id("missing")),
    )
    assert polled.code == 0, polled
    assert polled.out.splitlines()[-1] == f"task {task_id} SUCCESS"
    assert missing.code == 2 and "no task" in one_line_error(missing)


# -- rerun --------------------------------------------------------------------------------------


async def test_rerun_keeps_completed_steps_and_refuses_a_running_task(stack: Setup) -> None:
    task_id = new_id("rerun")
    first = await run_cli(
        stack, "start", "cli-flow", "--workspace", "ws", "--task-id", task_id,
        "--input", '{"fail_first_run": true}', "--wait", *IMPORT,
    )  # fmt: skip
    assert first.code == 1, first
    assert (await record_of(stack, task_id)).status == TaskStatus.FAILED

    rerun = await run_cli(stack, "rerun", task_id, "--wait", *IMPORT)
    assert rerun.code == 0, rerun
    assert f"task {task_id} started" in rerun.out and f"task {task_id} SUCCESS" in rerun.out
    record = await record_of(stack, task_id)
    assert record.status == TaskStatus.SUCCESS and record.progress == 100
    assert RUNS[f"{task_id}:prepare"] == 1 and RUNS[f"{task_id}:gate"] == 1  # kept
    assert RUNS[f"{task_id}:finish"] == 2

    running_id = new_id("running")
    await stack.client.start("cli-hold", workspace_id="ws", task_id=running_id)
    await eventually(lambda: _progress_at_least(stack, running_id, 10), what="hold running")
    refused = await run_cli(stack, "rerun", running_id, *IMPORT)
    assert refused.code == 2, refused
    assert "only a finished task can be rerun" in one_line_error(refused)
    assert await stack.client.cancel(running_id)
    await final_record(stack, running_id)


# -- list ---------------------------------------------------------------------------------------


async def test_list_filters_and_json(stack: Setup) -> None:
    workspace = new_id("ws-list")
    ids = [new_id("l1"), new_id("l2"), new_id("l3")]
    for task_id in ids[:2]:
        await stack.client.start(
            "cli-echo", workspace_id=workspace, input={"message": "m"}, task_id=task_id
        )
    await stack.client.start("cli-boom", workspace_id=workspace, task_id=ids[2])
    for task_id in ids:
        await stack.client.wait(task_id)

    everything, failed, limited, table, nothing = await asyncio.gather(
        run_cli(stack, "list", "--workspace", workspace, "--json"),
        run_cli(stack, "list", "--workspace", workspace, "--status", "failed", "--json"),
        run_cli(stack, "list", "--workspace", workspace, "--type", "cli-echo", "--limit", "1",
                "--json"),
        run_cli(stack, "list", "--workspace", workspace),
        run_cli(stack, "list", "--workspace", new_id("empty")),
    )  # fmt: skip
    for result in (everything, failed, limited, table, nothing):
        assert result.code == 0, result
    listed = json.loads(everything.out)
    assert [item["id"] for item in listed] == ids[::-1]  # newest first
    assert {item["workspaceId"] for item in listed} == {workspace}
    assert [item["id"] for item in json.loads(failed.out)] == [ids[2]]
    assert [item["id"] for item in json.loads(limited.out)] == [ids[1]]
    for task_id in ids:
        assert task_id in table.out
    assert "SUCCESS" in table.out and "FAILED" in table.out
    assert nothing.out.strip() == "no tasks match"

    bad = await run_cli(stack, "list", "--status", "DONE")
    assert bad.code == 2 and "invalid choice" in bad.err


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["start", "status", "watch", "cancel", "rerun", "list"])
def test_help_has_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"durable-tasks {command} " in out
    assert "exit codes:" in out


async def test_watch_draws_bars_per_step_on_a_terminal() -> None:
    """What a terminal gets (the subprocess tests see plain lines: their stdout is a pipe)."""
    from datetime import UTC, datetime

    from rich.console import Console

    from durable_tasks.cli.watch import _show_bars

    def record(seq: int, status: TaskStatus, progress: float, steps: dict[str, str]) -> TaskRecord:
        now = datetime.now(UTC).isoformat()
        return TaskRecord(
            id="bars", workspace_id="ws", type="cli-flow", status=status, progress=progress,
            seq=seq, result={"totalSteps": 3, "steps": {
                name: {"stepType": name, "status": state,
                       **({"startedAt": now} if state != "pending" else {})}
                for name, state in steps.items()}},
        )  # fmt: skip

    async def records() -> AsyncIterator[TaskRecord]:
        yield record(1, TaskStatus.RUNNING, 1, {"finish": "pending", "gate": "pending",
                                                "prepare": "running"})  # fmt: skip
        yield record(2, TaskStatus.FAILED, 66, {"finish": "failed", "gate": "completed",
                                                "prepare": "completed"})  # fmt: skip

    screen = io.StringIO()
    await _show_bars(records(), Console(file=screen, force_terminal=True, width=100))
    final = screen.getvalue().rsplit("\x1b[2K", 1)[-1]  # the last frame drawn
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", final)
    assert "task bars (cli-flow)" in text and "66%" in text and "FAILED" in text
    assert re.search(r"prepare\s+━+\s+100% completed", text), text
    assert re.search(r"finish\s+━+\s+0% failed", text), text


async def test_reconcile_repairs_a_terminated_task(stack: Setup) -> None:
    task_id = new_id("term")
    await stack.client.start("cli-hold", workspace_id="ws", task_id=task_id)
    await eventually(lambda: _progress_at_least(stack, task_id, 10), what="hold running")
    await stack.client.handle(task_id).terminate(reason="pulled the plug")

    dry = await run_cli(stack, "reconcile", "--dry-run")
    assert dry.code == 0, dry
    assert f"{task_id}: the workflow was terminated (TERMINATED); would set FAILED" in dry.out
    assert (await record_of(stack, task_id)).status == TaskStatus.RUNNING  # nothing written

    repaired = await run_cli(stack, "reconcile")
    assert repaired.code == 0, repaired
    assert f"{task_id}: the workflow was terminated (TERMINATED); set FAILED" in repaired.out
    record = await record_of(stack, task_id)
    assert record.status == TaskStatus.FAILED
    assert record.errors[-1].error_type == "WorkflowTerminated"
