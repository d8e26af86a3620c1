"""A local SMTP sink: every message it accepts becomes an `.eml` file, so email examples work offline.

`durable-tasks dev` runs one on 127.0.0.1:8025 (where `activities.send_email` sends by default),
storing messages under `.data/mail/`; tests run one on a free port:

    with start_smtp_sink(tmp_path / "mail", port=0) as sink:
        os.environ["SMTP_PORT"] = str(sink.port)
        ...
        [eml] = sink.messages("<t1@durable-tasks>")

Files are named `<UTC time>-<Message-ID>.eml` (the id stripped of `<>` and anything unsafe in a
file name): sorted names are arrival order, and a retry that resends the same message adds a
second file with the same id instead of overwriting the first. Each file is written under a
temporary name and renamed, so a reader never sees half a message; the envelope is kept in
`X-MailFrom` / `X-RcptTo` headers, as aiosmtpd's own handlers do.

Recipients at `reject.invalid` (a domain that can never exist, RFC 2606) are refused with a
permanent `550`, so the failure path of a sender can be tried without a real mail server.
aiosmtpd's `Controller` serves from its own thread and event loop, so the sink runs in-process
next to anything, blocking or async.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import uuid
from collections.abc import Awaitable, Iterable
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from durable_tasks.errors import ConfigurationError

__all__ = ["DEFAULT_DIRECTORY", "DEFAULT_PORT", "REJECT_DOMAIN", "SmtpSink", "start_smtp_sink"]

DEFAULT_DIRECTORY = Path(".data/mail")
DEFAULT_PORT = 8025
REJECT_DOMAIN = "reject.invalid"
log = logging.getLogger("durable_tasks.dev._smtp_sink")
_UNSAFE = re.compile(r"[^A-Za-z0-9@._+=-]+")


def _file_safe_id(message_id: str) -> str:
    return _UNSAFE.sub("_", message_id.strip("<> \t"))


class _StoreHandler:
    """aiosmtpd handler: refuse recipients of rejected domains, store everything else."""

    def __init__(self, directory: Path, reject_domains: Iterable[str]) -> None:
        self.directory = directory
        self.reject_domains = frozenset(d.lower() for d in reject_domains)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if domain in self.reject_domains:
            return f"550 5.1.1 <{address}>: recipient rejected (the sink refuses @{domain})"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        try:
            path = self._save(envelope)
        except OSError:
            log.exception("could not store a message under %s", self.directory)
            return "451 4.3.0 could not store the message; try again later"
        log.info("stored a message for %s in %s", ", ".join(envelope.rcpt_tos), path)
        return "250 OK"

    def _save(self, envelope: Envelope) -> Path:
        # Local line endings, as the stdlib's `mailbox` stores messages: parsers and editors
        # then see the body exactly as it was written.
        content = (envelope.original_content or b"").replace(b"\r\n", b"\n")
        headers = BytesHeaderParser().parsebytes(content)
        message_id = _file_safe_id(str(headers["Message-ID"] or "")) or "no-id"
        envelope_lines = [
            f"X-MailFrom: {envelope.mail_from}".encode(),
            f"X-RcptTo: {', '.join(envelope.rcpt_tos)}".encode(),
        ]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{message_id}.eml"
        for n in range(1, 1000):  # the same id within one microsecond: keep both copies
            if not path.exists():
                break
            path = self.directory / f"{stamp}-{message_id}~{n}.eml"
        temporary = self.directory / f".{uuid.uuid4().hex}.tmp"
        temporary.write_bytes(b"\n".join([*envelope_lines, content]))
        os.replace(temporary, path)
        return path


class _SocketController(Controller):
    """A Controller serving an already-bound socket: a taken port fails at once (not after
    aiosmtpd's 5 s ready timeout), and port 0 works because the real port is known up front."""

    def __init__(self, handler: _StoreHandler, sock: socket.socket) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port)
        self._sock = sock

    def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


class SmtpSink:
    """A running sink (see the module docstring); `stop()` it, or use it as a context manager."""

    def __init__(self, controller: _SocketController, directory: Path) -> None:
        self._controller: _SocketController | None = controller
        self.directory = directory
        self.host: str = controller.hostname
        self.port: int = controller.port

    def messages(self, message_id: str | None = None) -> list[Path]:
        """Stored messages in arrival order, all of them or those with this Message-ID."""
        paths = sorted(self.directory.glob("*.eml"))
        if message_id is None:
            return paths
        wanted = re.compile(r"[^-]+-" + re.escape(_file_safe_id(message_id)) + r"(~\d+)?")
        return [p for p in paths if wanted.fullmatch(p.stem)]

    def stop(self) -> None:
        """Stop serving and release the port (safe to call twice)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_smtp_sink(
    directory: str | os.PathLike[str] = DEFAULT_DIRECTORY,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    reject_domains: Iterable[str] = (REJECT_DOMAIN,),
) -> SmtpSink:
    """Start a sink storing messages under `directory` (created if missing); port 0 picks one.

    Raises `ConfigurationError` naming the port if it is taken.
    """
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family)
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise ConfigurationError(
            f"cannot listen on {host}:{port} for the SMTP sink ({reason}); stop what "
            "listens there or choose another port"
        ) from None
    controller = _SocketController(_StoreHandler(path, reject_domains), sock)
    try:
        controller.start()
    except BaseException:
        controller.stop(no_assert=True)  # ends the serving thread if it got that far
        if not controller.loop.is_closed():
            controller.loop.close()
        sock.close()
        raise
    log.info("SMTP sink listening on %s:%s, storing messages in %s", host, controller.port, path)
    return SmtpSink(controller, path)
