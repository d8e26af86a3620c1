"""The service's own plain Temporal workflow and a durable flow, in one module."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from durable_tasks import BaseFlowProcessor, ParentJobData, Step, flow_processor

    from activities.greeting import count, greet, render


@workflow.defn
class GreetWorkflow:
    """Plain Temporal: no task record, no sync, untouched by the plugin."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )


class ReportData(ParentJobData):
    month: str


@flow_processor("greeting-report")
class GreetingReport(BaseFlowProcessor[ReportData]):
    input_model = ReportData
    steps = (Step("count", count), Step("render", render))
