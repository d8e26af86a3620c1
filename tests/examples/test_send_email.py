"""The `send-email` example end to end: real SMTP into a real `SmtpSink`, on the time-skipping server.

Each test gets its own sink on a free port (the processor finds it through SMTP_HOST/SMTP_PORT),
its own task queue and task ids, so nothing leaks between tests or from a running dev stack.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.send_email import EmailJobData, SendEmailProcessor, smtp_server
from durable_tasks.client import TaskClient
from durable_tasks.context import TaskContext
from durable_tasks.dev import SmtpSink, start_smtp_sink
from durable_tasks.errors import ConfigurationError, InvalidInputError
from durable_tasks.memory_store import MemoryTaskStore
from durable_tasks.models import TaskStatus
from durable_tasks.registry import ProcessorRegistry
from durable_tasks.testing import running_worker
from tests.support.waiting import eventually

PROGRESS: dict[str, list[float]] = {}


class RecordingSendEmail(SendEmailProcessor):
    """The example as is, plus a record of the progress it reports (per task)."""

    def on_progress(self, data: EmailJobData, percent: float, ctx: TaskContext) -> None:
        PROGRESS.setdefault(data.task_id, []).append(percent)


@pytest.fixture
def sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A real SMTP sink on a port of its own, with the processor pointed at it."""
    with start_smtp_sink(tmp_path / "mail", port=0) as running:
        monkeypatch.setenv("SMTP_HOST", running.host)
        monkeypatch.setenv("SMTP_PORT", str(running.port))
        yield running


def _free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _task_id() -> str:
    return f"mail-{uuid.uuid4().hex[:12]}"


def _email(**overrides: Any) -> dict[str, Any]:
    return {"to": "ada@example.com", "subject": "Hello", "body": "Hi Ada.\n", **overrides}


def _client(temporal_client: Client, store: MemoryTaskStore, task_queue: str) -> TaskClient:
    registry = ProcessorRegistry.of(RecordingSendEmail)
    return TaskClient(temporal_client, store, registry, task_queue=task_queue)


async def test_sends_a_real_message(
    temporal_client: Client, task_queue: str, sink: SmtpSink
) -> None:
    store, task_id = MemoryTaskStore(), _task_id()
    async with running_worker(
        temporal_client, store, RecordingSendEmail, task_queue=task_queue
    ) as client:
        await client.start(
            "send-email",
            workspace_id="ws1",
            input=_email(subject="Welcome, Ada", **{"from": "team@example.org"}),
            task_id=task_id,
        )
        record = await client.wait(task_id)

    message_id = f"<{task_id}@durable-tasks>"
    assert record.status == TaskStatus.SUCCESS, record.error_log
    assert (record.progress, record.attempts, record.errors) == (100, 1, [])
    assert record.result == {"messageId": message_id}
    assert PROGRESS[task_id] == [10, 50, 100]
    [eml] = await eventually(lambda: sink.messages(message_id))
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["To"] == "ada@example.com"
    assert mail["From"] == "team@example.org"
    assert mail["Subject"] == "Welcome, Ada"
    assert mail["Message-ID"] == message_id
    assert mail.get_content() == "Hi Ada.\n"


async def test_bad_address_is_refused_before_anything_starts(
    temporal_client: Client, task_queue: str
) -> None:
    store, task_id = MemoryTaskStore(), _task_id()
    client = _client(temporal_client, store, task_queue)
    with pytest.raises(InvalidInputError, match=r"\bto: .*email address"):
        await client.start(
            "send-email", workspace_id="ws1", input=_email(to="ada-at-example"), task_id=task_id
        )
    assert await store.get(task_id) is None
    with pytest.raises(RPCError) as missing:
        await temporal_client.get_workflow_handle(f"task-{task_id}").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_server_down_is_retried_then_fails(
    temporal_client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(_free_port()))
    store, task_id = MemoryTaskStore(), _task_id()
    async with running_worker(
        temporal_client, store, RecordingSendEmail, task_queue=task_queue
    ) as client:
        await client.start("send-email", workspace_id="ws1", input=_email(), task_id=task_id)
        record = await client.wait(task_id)

    assert record.status == TaskStatus.FAILED
    assert record.attempts == 3
    assert [(e.attempt, e.final) for e in record.errors] == [(1, False), (2, False), (3, True)]
    assert {e.error_type for e in record.errors} == {"ConnectionError"}
    assert "cannot talk to the SMTP server" in record.errors[-1].message


async def test_permanent_rejection_fails_at_once(
    temporal_client: Client, task_queue: str, sink: SmtpSink
) -> None:
    store, task_id = MemoryTaskStore(), _task_id()
    async with running_worker(
        temporal_client, store, RecordingSendEmail, task_queue=task_queue
    ) as client:
        await client.start(
            "send-email", workspace_id="ws1", input=_email(to="bob@reject.invalid"), task_id=task_id
        )
        record = await client.wait(task_id)

    assert record.status == TaskStatus.FAILED
    assert record.attempts == 1
    [error] = record.errors
    assert (error.error_type, error.final) == ("NonRetryableError", True)
    assert "550" in error.message and "bob@reject.invalid" in error.message
    assert sink.messages() == []


async def test_malformed_setting_fails_at_once(
    temporal_client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PORT", "smtp")
    store, task_id = MemoryTaskStore(), _task_id()
    async with running_worker(
        temporal_client, store, RecordingSendEmail, task_queue=task_queue
    ) as client:
        await client.start("send-email", workspace_id="ws1", input=_email(), task_id=task_id)
        record = await client.wait(task_id)

    assert (record.status, record.attempts) == (TaskStatus.FAILED, 1)
    assert [e.error_type for e in record.errors] == ["ConfigurationError"]
    assert record.errors[0].message == "SMTP_PORT: expected a port from 1 to 65535 (got 'smtp')"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SMTP_PORT", "0"), ("SMTP_PORT", "70000"), ("SMTP_PORT", ""), ("SMTP_HOST", "smtp://x")],
)
def test_smtp_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(
        ConfigurationError, match=rf"^{variable}: .*\(got {re.escape(repr(value))}\)$"
    ):
        smtp_server()


def test_smtp_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.delenv("SMTP_PORT", raising=False)
    assert smtp_server() == ("127.0.0.1", 8025)


def test_sink_refuses_a_taken_port_at_once(sink: SmtpSink, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match=rf"127\.0\.0\.1:{sink.port} .*in use"):
        start_smtp_sink(tmp_path / "other", port=sink.port)
    assert time.monotonic() - started < 1.0
