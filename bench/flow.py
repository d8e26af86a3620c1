"""The three-step flow, the counterpart of `bench.bare.BareThreeActivitiesWorkflow`.

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
