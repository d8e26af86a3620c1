"""`send-email`: the reference's `SendEmailProcessor`, sending real mail through SMTP.

The server comes from `SMTP_HOST` / `SMTP_PORT` (default 127.0.0.1:8025, where `durable-tasks dev`
runs a sink that stores each message under `.data/mail/`).

`process` is a plain `def` using the stdlib `smtplib`: smtplib already speaks SMTP (EHLO,
dot-stuffing, reply codes as typed exceptions) and the base class runs a plain `process` in a
thread, so the worker's event loop never waits on the network. Hand-written SMTP over asyncio
streams would be more code to get wrong, for nothing at one message per task.

Idempotent: SMTP cannot say whether a message accepted just before a dropped connection was
delivered, so a retry may send it again; the Message-ID `<taskId@durable-tasks>` is the same on
every attempt, so the receiver can spot the copy. A permanent rejection (5xx, e.g. an unknown
recipient) fails the task at once; a transient one (4xx, server unreachable) is retried.
"""

from __future__ import annotations

import os
import re
import smtplib
from email.message import EmailMessage
from typing import Annotated

from pydantic import AfterValidator, Field

from durable_tasks.context import TaskContext
from durable_tasks.errors import ConfigurationError, NonRetryableError
from durable_tasks.models import SimpleJobData
from durable_tasks.processor import BaseSimpleProcessor
from durable_tasks.retry import RetryOptions

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\".]+")


def _address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise ValueError("expected an email address, for example ada@example.com")
    return value


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must be a single line")
    return value


EmailAddress = Annotated[str, AfterValidator(_address)]


class EmailJobData(SimpleJobData):
    """Who to write to, and what. `from` defaults to durable-tasks@localhost.localdomain."""

    to: EmailAddress
    subject: Annotated[str, AfterValidator(_one_line)] = Field(max_length=998)
    body: str
    from_: EmailAddress = Field("durable-tasks@localhost.localdomain", alias="from")


class SendEmailProcessor(BaseSimpleProcessor[EmailJobData]):
    """Sends one email per task; the result is its Message-ID."""

    name = "send-email"
    input_model = EmailJobData
    retry = RetryOptions(non_retryable_error_types=["ConfigurationError"])  # fix it, then rerun

    def process(self, data: EmailJobData, ctx: TaskContext) -> dict[str, str]:
        host, port = smtp_server()
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = data.from_, data.to, data.subject
        message["Message-ID"] = f"<{data.task_id}@durable-tasks>"
        message.set_content(data.body)
        try:
            with smtplib.SMTP(host, port, timeout=30) as smtp:
                ctx.report_progress(10)
                smtp.send_message(message)
                ctx.report_progress(50)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as err:
            code, reply = _reply(err)
            if code >= 500:
                raise NonRetryableError(
                    f"{host}:{port} refused mail to {data.to}: {code} {reply}"
                ) from err
            raise
        except OSError as err:
            raise ConnectionError(f"cannot talk to the SMTP server {host}:{port}: {err}") from err
        ctx.report_progress(100)
        ctx.logger.info("sent %s to %s", message["Message-ID"], data.to)
        return {"messageId": message["Message-ID"]}


def smtp_server() -> tuple[str, int]:
    """`SMTP_HOST` and `SMTP_PORT`, or a one-line `ConfigurationError` naming the variable."""
    host, port = os.environ.get("SMTP_HOST", "127.0.0.1"), os.environ.get("SMTP_PORT", "8025")
    if not re.fullmatch(r"[A-Za-z0-9.:_-]+", host):
        raise ConfigurationError(
            f"SMTP_HOST: expected a host name or IP, e.g. 127.0.0.1 (got {host!r})"
        )
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"SMTP_PORT: expected a port from 1 to 65535 (got {port!r})")
    return host, int(port)


def _reply(err: smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException) -> tuple[int, str]:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(err.recipients.values()))  # one recipient per message here
        return code, text.decode(errors="replace")
    reply = err.smtp_error
    return err.smtp_code, reply.decode(errors="replace") if isinstance(reply, bytes) else reply
