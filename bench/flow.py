"""The benchmark's flows: three steps, and 10, 100 and 500 steps (`bench.bare` has their twins).

A module of its own because the workflow sandbox re-imports a workflow's module for every run:
like `workflows/`, it holds the flow alone and takes everything else through
`imports_passed_through()`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from bench.processors import step_noop
    from durable_tasks.flow import BaseFlowProcessor, Step, flow_processor
    from durable_tasks.models import ParentJobData


@flow_processor("bench-three-steps")
class ThreeStepFlow(BaseFlowProcessor[ParentJobData]):
    """Three sequential no-op steps, the counterpart of `BareThreeActivitiesWorkflow`."""

    input_model = ParentJobData
    steps = (Step("first", step_noop), Step("second", step_noop), Step("third", step_noop))


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
