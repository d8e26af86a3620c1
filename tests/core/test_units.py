"""Pure functions: progress arithmetic, retry arithmetic, failure facts, JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from temporalio.common import RetryPolicy

from durable_tasks.context import TaskLogger
from durable_tasks.errorlog import facts_from_exception
from durable_tasks.errors import NonRetryableError
from durable_tasks.logs import JsonFormatter
from durable_tasks.progress import clamp_percent, flow_progress
from durable_tasks.retry import RetryOptions


@pytest.mark.parametrize(
    ("finished", "running", "expected"),
    [(0, 0, 0), (0, 1, 1), (1, 1, 35), (2, 1, 68), (2, 0, 66), (3, 0, 99)],
)
def test_flow_progress_of_three_steps(finished: int, running: int, expected: int) -> None:
    assert flow_progress(total=3, finished=finished, running=running) == expected


def test_flow_progress_never_goes_back_and_never_reaches_100() -> None:
    assert flow_progress(total=4, finished=1, running=0, previous=40) == 40
    assert flow_progress(total=1, finished=1, running=0) == 99
    assert flow_progress(total=200, finished=0, running=200) == 5


def test_clamp_percent() -> None:
    assert [clamp_percent(v) for v in (-5, 50.5, 250, float("nan"))] == [0, 50.5, 100, 0]


def test_retry_defaults_follow_the_reference() -> None:
    retry = RetryOptions()
    assert retry.maximum_attempts == 3
    assert [retry.delay_after(n) for n in (1, 2, 3)] == [
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
    ]
    assert [retry.is_last(n) for n in (1, 2, 3)] == [False, False, True]


def test_retry_caps_and_unlimited() -> None:
    retry = RetryOptions(maximum_attempts=0, maximum_interval=timedelta(seconds=5))
    assert retry.delay_after(10) == timedelta(seconds=5)
    assert not retry.is_last(1000)
    assert not retry.retries("ValueError", non_retryable=True)


def test_temporal_retry_policy_is_accepted() -> None:
    policy = RetryPolicy(
        maximum_attempts=5,
        initial_interval=timedelta(seconds=1),
        non_retryable_error_types=["KeyError"],
    )
    retry = RetryOptions.coerce(policy)
    assert retry.maximum_attempts == 5 and not retry.retries("KeyError", non_retryable=False)


def test_failure_facts_from_exceptions() -> None:
    try:
        raise NonRetryableError("corrupt file")
    except NonRetryableError as err:
        facts = facts_from_exception(err)
    assert (facts.error_type, facts.message, facts.non_retryable) == (
        "NonRetryableError",
        "corrupt file",
        True,
    )
    assert "raise NonRetryableError" in facts.stack


def test_json_logs_carry_the_task_id() -> None:
    logger = TaskLogger(
        logging.getLogger("t"), {"task_id": "t1", "workspace_id": "w", "attempt": 2, "step": "s"}
    )
    captured: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = captured.append  # type: ignore[method-assign]
    logger.logger.addHandler(handler)
    logger.logger.setLevel(logging.INFO)
    try:
        logger.info("hello %s", "there")
    finally:
        logger.logger.removeHandler(handler)
    line = json.loads(JsonFormatter().format(captured[0]))
    assert line["taskId"] == "t1" and line["attempt"] == 2 and line["step"] == "s"
    assert line["message"] == "[task t1 attempt 2] hello there"
