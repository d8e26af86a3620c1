"""Property-based: `TaskClient.start` answers any bad argument with `InvalidInputError` naming
the field, and creates nothing, on the real servers.

Hypothesis drives a synchronous test in a worker thread; each example runs `start` on the
session's event loop, where the Temporal client and the store live.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from temporalio.client import Client

from durable_tasks.client import TaskClient
from durable_tasks.errors import InvalidInputError
from durable_tasks.pocketbase import PocketBaseTaskStore
from durable_tasks.registry import ProcessorRegistry
from tests.core.test_client_bad_input import Keep
from tests.support.bad_input import any_text, bad_task_ids, blank_workspaces, poisoned_inputs

not_names = st.one_of(
    st.lists(st.text(max_size=5), max_size=3),
    st.integers(),
    st.none(),
    st.binary(max_size=5),
    st.text(alphabet=" \t\n", max_size=4),
    st.builds(lambda text: text + "\x07", any_text),
)
not_workspaces = st.one_of(blank_workspaces, st.none(), st.integers(), st.lists(st.text()))
not_task_ids = st.one_of(bad_task_ids, st.integers(), st.binary(max_size=5))
not_inputs = st.one_of(
    poisoned_inputs,
    st.lists(st.integers(), max_size=3),
    st.text(max_size=5),
    st.integers(),
)

bad_starts = st.one_of(
    st.tuples(st.just("type"), not_names).map(lambda c: ({"type": c[1]}, "invalid type")),
    st.tuples(st.just("ws"), not_workspaces).map(
        lambda c: ({"workspace_id": c[1]}, "invalid workspaceId")
    ),
    st.tuples(st.just("id"), not_task_ids).map(lambda c: ({"task_id": c[1]}, "invalid taskId")),
    st.tuples(st.just("in"), not_inputs).map(lambda c: ({"input": c[1]}, "invalid input")),
)


async def test_start_refuses_any_bad_argument_naming_the_field(
    temporal_client: Client, task_store: PocketBaseTaskStore, task_queue: str
) -> None:
    tasks = TaskClient(
        temporal_client, task_store, ProcessorRegistry.of(Keep), task_queue=task_queue
    )
    loop = asyncio.get_running_loop()
    seen: list[str] = []

    @settings(
        max_examples=300,
        deadline=2000,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(case=bad_starts)
    def start_is_refused(case: tuple[dict[str, Any], str]) -> None:
        change, named = case
        arguments: dict[str, Any] = {"type": "keep", "workspace_id": "ws", "task_id": "prop-1"}
        arguments.update(change)
        start = tasks.start(arguments.pop("type"), **arguments)
        try:
            asyncio.run_coroutine_threadsafe(start, loop).result(timeout=30)
        except InvalidInputError as err:
            assert str(err).startswith(named), (change, str(err))
            seen.append(named)
        else:
            raise AssertionError(f"start accepted {change!r}")

    await asyncio.to_thread(start_is_refused)
    assert {"invalid type", "invalid workspaceId", "invalid taskId", "invalid input"} <= set(seen)
    assert await task_store.list() == []  # not one record created
