"""Property-based bad input (`hypothesis`) over the models, the client and the CLI.

Each case must end in an accepted result or one of our own errors (a one-line message, exit
code 2 for the CLI), never another exception or a traceback; every task a case managed to
start must reach a final status (it is cancelled at the end, so nothing runs on).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import secrets
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from temporalio.client import WorkflowFailureError

from durable_tasks.cli import main as cli_main
from durable_tasks.errors import DurableTasksError, InvalidInputError
from durable_tasks.models import TaskStatus, validate_model
from durable_tasks.registry import ProcessorRegistry
from faults.scenarios import FINAL, WORKSPACE, Outcome, ensure_workers, final
from faults.stack import Stack

JSON: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=16,
)
IDS = st.one_of(
    st.text(max_size=12), st.sampled_from(["", " ", ".", "..", "a/b", "ok-id-1", "x" * 80])
)
FIELDS = st.sampled_from(["taskId", "workspaceId", "stepResults", "hold", "seconds", "input", "to"])
OBJECTS = st.dictionaries(FIELDS | st.text(max_size=8), JSON, max_size=5)
TYPES = st.sampled_from(["fault-task", "fault-flow", "send-email", "video-processing", "nope", ""])


class Tally:
    def __init__(self) -> None:
        self.tried = self.correct = 0
        self.bad: list[str] = []

    def check(self, case: str, run: Callable[[], bool]) -> None:
        self.tried += 1
        try:
            good = run()
        except Exception as err:  # anything but our own errors is a finding
            good, case = False, f"{case} -> {type(err).__name__}: {err}"
        self.correct += good
        if not good:
            self.bad.append(" ".join(case.split())[:160])
            print(f"faults: bad input finding: {self.bad[-1]}", file=sys.stderr)


def _run(n: int, strategy: st.SearchStrategy[Any], body: Callable[[Any], None]) -> None:
    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def case(value: Any) -> None:
        body(value)

    case()


def _models(tally: Tally, n: int) -> None:
    registry = ProcessorRegistry.discover(["workflows", "activities", "faults.processors"])
    models = [p.input_model for p in [*registry.simple.values(), *registry.flows.values()]]

    def body(args: tuple[int, Any]) -> None:
        model = models[args[0] % len(models)]

        def run() -> bool:
            try:
                validate_model(model, args[1])
            except InvalidInputError as err:
                return "\n" not in str(err)
            return True

        tally.check(f"{model.__name__}({args[1]!r})", run)

    _run(n, st.tuples(st.integers(0, 99), OBJECTS | JSON), body)


def _client(stack: Stack, tally: Tally, n: int, loop: asyncio.AbstractEventLoop) -> list[str]:
    started: list[str] = []

    def call(coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, loop).result(60)

    def body(args: tuple[str, str, str, Any]) -> None:
        kind, workspace, task_id, data = args

        def run() -> bool:
            try:
                outcome = call(
                    stack.tasks.start(kind, workspace_id=workspace, task_id=task_id, input=data)
                )
            except DurableTasksError as err:
                return "\n" not in str(err).strip()
            started.append(outcome.task_id)
            return True

        tally.check(f"start({kind!r}, {workspace!r}, {task_id!r}, {data!r})", run)

    _run(n, st.tuples(TYPES, IDS | st.just(WORKSPACE), IDS, OBJECTS | JSON), body)
    return started


def _cli(tally: Tally, n: int) -> None:
    commands = st.one_of(
        st.tuples(st.just("start"), TYPES, st.just("--workspace"), IDS | st.just(WORKSPACE),
                  st.just("--task-id"), IDS, st.just("--input"), JSON.map(json.dumps) | st.text(max_size=20)),
        st.tuples(st.sampled_from(["status", "cancel", "rerun"]), IDS),
        st.tuples(st.just("list"), st.just("--workspace"), IDS, st.just("--status"), st.text(max_size=8)),
    )  # fmt: skip

    def body(argv: tuple[str, ...]) -> None:
        def run() -> bool:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli_main(
                        [*argv, "--import", "faults.processors"]
                        if argv[0] == "start"
                        else list(argv)
                    )
                except SystemExit as exit:
                    code = exit.code if isinstance(exit.code, int) else 2
            text = err.getvalue()
            errors = [line for line in text.splitlines() if "error:" in line]
            one_line = code != 2 or (len(errors) == 1 and text.rstrip().endswith(errors[0]))
            return code in (0, 1, 2) and "Traceback" not in text and one_line

        tally.check(f"durable-tasks {' '.join(argv)}", run)

    _run(n, commands, body)


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


async def _never_hangs(stack: Stack, tally: Tally) -> int:
    """Workflows started around the client with input a worker cannot take: each must fail
    within 30 s (its record FAILED when it has one), never wait for ever. Returns the lost."""
    lost = 0
    tag = secrets.token_hex(3)
    cases: list[tuple[str, str, Any]] = [
        ("fault-flow", f"str-{tag}", "a string"),
        ("durable-tasks.simple", f"list-{tag}", [1, 2]),
        ("fault-flow", f"deep-{tag}", {"taskId": f"deep-{tag}", "workspaceId": WORKSPACE}),
    ]
    cases[2][2]["deep"] = nested(200)
    for workflow, task_id, arg in cases:
        handle = await stack.tasks.temporal.start_workflow(
            workflow, arg, id=f"task-{task_id}", task_queue=stack.queue
        )
        try:
            await asyncio.wait_for(handle.result(), 30)
            failed = False
        except WorkflowFailureError:
            failed = True
        except TimeoutError:
            lost, failed = lost + 1, False
        record = await stack.store.get(task_id)
        recorded = record is None or record.status == TaskStatus.FAILED
        tally.check(f"start-workflow {workflow} {task_id}", (failed and recorded).__bool__)
    return lost


async def bad_input(stack: Stack, models: int, client: int, cli: int) -> Outcome:
    began, tally = time.monotonic(), Tally()
    ensure_workers(stack, 2)
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(_models, tally, models)
    started = await asyncio.to_thread(_client, stack, tally, client, loop)
    await asyncio.to_thread(_cli, tally, cli)
    hung = await _never_hangs(stack, tally)
    for status in (TaskStatus.PENDING, TaskStatus.RUNNING):  # whatever a case started: stop it
        for record in await stack.store.list(status=status, limit=500):
            started.append(record.id)

    async def stop(task_id: str) -> bool:
        """Cancel what still runs; True when it never reaches a final status."""
        found = await stack.store.get(task_id)
        if found is None or found.status in FINAL:
            return False
        await stack.tasks.cancel(task_id)
        return await final(stack, task_id, 60) is None

    lost = hung + sum(await asyncio.gather(*(stop(t) for t in set(started))))
    note = f"{len(set(started))} started; " + ("; ".join(tally.bad[:3]) or "every case answered")
    return Outcome(
        "bad input (hypothesis)", tally.tried, tally.correct, lost, time.monotonic() - began, note
    )
