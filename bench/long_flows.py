"""Flows of 10, 100 and 500 sequential no-op steps (`bench.bare.BareStepsWorkflow` is their twin).

A module of their own: the workflow sandbox re-imports a workflow's module for every run, so
the three-step flow's runs must not pay for building these.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.processors import step_noop
    from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
    from durable_tasks.models import ParentJobData


def _sequential(count: int) -> tuple[Step, ...]:
    return tuple(Step(f"s{i:03d}", step_noop) for i in range(count))


@flow_processor("bench-steps-10")
class TenStepFlow(BaseFlowProcessor[ParentJobData]):
    """10 sequential no-op steps."""

    steps = _sequential(10)


@flow_processor("bench-steps-100")
class HundredStepFlow(BaseFlowProcessor[ParentJobData]):
    """100 sequential no-op steps."""

    steps = _sequential(100)


@flow_processor("bench-steps-500")
class FiveHundredStepFlow(BaseFlowProcessor[ParentJobData]):
    """500 sequential no-op steps: the record holds 500 step results."""

    steps = _sequential(500)


LONG_FLOWS = {10: TenStepFlow, 100: HundredStepFlow, 500: FiveHundredStepFlow}
