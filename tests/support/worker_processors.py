"""Processors run by real `durable-tasks worker` processes in tests/cli/test_worker_processes.py.

Each attempt writes a file named after the task, attempt and worker PID into
`DURABLE_TASKS_TEST_DIR`, so the test can see which process ran what without sharing memory.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from durable_tasks.context import TaskContext
from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
from durable_tasks.models import ParentJobData, SimpleJobData, StepJobData
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.retry import RetryOptions
from durable_tasks.steps import step_activity


class SlowData(SimpleJobData):
    """`hold`: the attempt number that waits (heartbeating) until its worker goes away."""

    hold: int = 1


class SlowStep(BaseSimpleProcessor[SlowData]):
    name = "slow-step"
    input_model = SlowData
    retry = RetryOptions(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
    heartbeat_timeout = timedelta(seconds=5)

    async def process(self, data: SlowData, ctx: TaskContext) -> dict[str, int]:
        marks = Path(os.environ["DURABLE_TASKS_TEST_DIR"])
        (marks / f"{ctx.task_id}.{ctx.attempt}.{os.getpid()}").touch()
        if ctx.attempt == data.hold:
            await asyncio.Event().wait()  # until cancelled by the worker's shutdown
        return {"attempt": ctx.attempt, "pid": os.getpid()}


class Meet(BaseSimpleProcessor[SimpleJobData]):
    """Marks its worker, then waits until another worker has marked the same group.

    Run on workers limited to one activity each, two of these can only both finish if each
    worker takes one: the proof that the queue is shared.
    """

    name = "meet"

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> int:
        marks = Path(os.environ["DURABLE_TASKS_TEST_DIR"])
        group = str(data.input)
        (marks / f"meet.{group}.{os.getpid()}").touch()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(list(marks.glob(f"meet.{group}.*"))) < 2:
            if loop.time() > deadline:
                raise TimeoutError("no other worker took the second task")
            await asyncio.sleep(0.05)
        return os.getpid()


class HangData(SimpleJobData):
    """`hold`: the attempt number that waits until its worker dies."""

    hold: int = 1


async def _mark_and_hold(ctx: TaskContext, hold: int) -> dict[str, int]:
    marks = Path(os.environ["DURABLE_TASKS_TEST_DIR"])
    (marks / f"{ctx.task_id}.{ctx.attempt}.{os.getpid()}").touch()
    if ctx.attempt == hold:
        await asyncio.Event().wait()  # until the worker is killed
    return {"attempt": ctx.attempt, "pid": os.getpid()}


class Hang(BaseSimpleProcessor[HangData]):
    """A simple processor with every default (heartbeat timeout, retries): crash recovery."""

    name = "hang"
    input_model = HangData

    async def process(self, data: HangData, ctx: TaskContext) -> dict[str, int]:
        return await _mark_and_hold(ctx, data.hold)


class HangFlowData(ParentJobData):
    hold: int = 1


@step_activity("hang-flow.hold")
async def hold_step(job: StepJobData, ctx: TaskContext) -> dict[str, int]:
    return await _mark_and_hold(ctx, job.config(HangFlowData).hold)


@flow_processor("hang-flow")
class HangFlow(BaseFlowProcessor[HangFlowData]):
    """A flow whose one step has every default: crash recovery of a step."""

    input_model = HangFlowData
    steps = (Step("hold", hold_step),)


class FailOnce(BaseSimpleProcessor[SimpleJobData]):
    """Fails its first attempt (an error-log entry), succeeds on the second."""

    name = "fail-once"
    retry = RetryOptions(maximum_attempts=2, initial_interval=timedelta(milliseconds=100))

    async def process(self, data: SimpleJobData, ctx: TaskContext) -> int:
        if ctx.attempt == 1:
            raise RuntimeError("the upstream said no")
        return ctx.attempt
