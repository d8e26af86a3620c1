"""Replaying saved histories: today's code must make the same decisions as the code that ran.

- `sequential_with_sync.json`: a flow with a retried step, run with the sync interceptor. Replay
  must not write again (local activity results come from history) and must not diverge.
- `sequential_without_sync.json`: the same flow run *without* the interceptor, as a workflow
  that started before a deploy added durable-tasks' sync. Replaying it on a worker that now has
  the interceptor must still succeed: the sync is gated by `workflow.patched`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from durable_tasks import DurableTasksPlugin
from tests.support.flow_fixtures import Sequential, SequentialReordered

HISTORIES = Path(__file__).parent / "histories"


def _replayer(flow: type = Sequential) -> Replayer:
    """A replayer wired exactly as workers are: through `DurableTasksPlugin` (no store needed)."""
    return Replayer(workflows=[], plugins=[DurableTasksPlugin(processors=[flow])])


@pytest.mark.parametrize("name", ["sequential_with_sync", "sequential_without_sync"])
async def test_saved_history_replays(name: str) -> None:
    history = WorkflowHistory.from_json(f"task-{name}", (HISTORIES / f"{name}.json").read_text())
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


async def test_replay_detects_a_changed_flow() -> None:
    """The check above can fail: a flow whose first step runs another activity must not replay cleanly."""
    history = WorkflowHistory.from_json(
        "task-h1", (HISTORIES / "sequential_with_sync.json").read_text()
    )
    result = await _replayer(SequentialReordered).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is not None
