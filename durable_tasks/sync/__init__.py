"""The sync: keeps each task's PocketBase record true while Temporal runs the work.

Nothing in processors, steps or flows knows about it: they report to the protocols of
`durable_tasks._reporting`, and this package listens. Its parts:

- `TaskSyncInterceptor` (worker interceptor): claims the record when a task workflow starts,
  attaches a workflow-side sync, writes the final state, binds the writer as the progress
  sink in activities;
- `SyncWriter` (worker-wide): batches the patches of many tasks into one request and one
  PocketBase transaction, off Temporal's critical path; also the activities' sink (progress,
  a step's completion);
- `EmittingTaskSync` (workflow side, runs started by `TaskClient`): hands state to the writer
  without adding a command to the workflow;
- `WorkflowTaskSync` (workflow side, version 1: runs started by other means): guarded patches
  through the `sync_task_state` local activity (`SyncActivities`).

Install all of it with one object, `durable_tasks.DurableTasksPlugin`.
"""

from durable_tasks.models import NewTask
from durable_tasks.sync._batch_writer import SyncWriter
from durable_tasks.sync._emitter import EmittingTaskSync
from durable_tasks.sync._interceptor import SYNC_PATCH_ID, TaskSyncInterceptor
from durable_tasks.sync._writer import (
    READ_STEPS_ACTIVITY_NAME,
    SYNC_ACTIVITY_NAME,
    CompletedSteps,
    SyncActivities,
    SyncTaskStateInput,
    SyncTaskStateResult,
    WorkflowTaskSync,
)

__all__ = [
    "READ_STEPS_ACTIVITY_NAME",
    "SYNC_ACTIVITY_NAME",
    "CompletedSteps",
    "EmittingTaskSync",
    "SYNC_PATCH_ID",
    "NewTask",
    "SyncActivities",
    "SyncTaskStateInput",
    "SyncTaskStateResult",
    "SyncWriter",
    "TaskSyncInterceptor",
    "WorkflowTaskSync",
]
