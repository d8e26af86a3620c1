"""Bare Temporal: the workflows durable-tasks is compared with, doing the same (no) work.

A module of its own, importing only temporalio, as a plain Temporal application would have it:
the workflow sandbox re-imports a workflow's module for every run, so what sits beside the
workflow is part of its cost.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

_TIMEOUT = timedelta(seconds=30)


@activity.defn(name="bench.bare-noop")
async def bare_noop(n: int) -> int:
    """The no-op activity of the bare workflows."""
    return n


@workflow.defn(name="bench-bare-one")
class BareOneActivityWorkflow:
    """A workflow that runs one no-op activity: the floor of any Temporal-based task."""

    @workflow.run
    async def run(self, n: int) -> int:
        return await workflow.execute_activity(bare_noop, n, start_to_close_timeout=_TIMEOUT)


@workflow.defn(name="bench-bare-three")
class BareThreeActivitiesWorkflow:
    """Three sequential no-op activities: the floor of a three-step flow."""

    @workflow.run
    async def run(self, n: int) -> int:
        for _ in range(3):
            n = await workflow.execute_activity(bare_noop, n, start_to_close_timeout=_TIMEOUT)
        return n


@workflow.defn(name="bench-bare-steps")
class BareStepsWorkflow:
    """`steps` sequential no-op activities: the floor of a flow of that many steps."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for i in range(steps):
            await workflow.execute_activity(bare_noop, i, start_to_close_timeout=_TIMEOUT)
        return steps
