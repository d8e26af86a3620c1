"""Log formatting: human-readable lines, or one JSON object per line for log pipelines.

Processor and step loggers (`ctx.logger`) attach `task_id`, `workspace_id`, `step` and
`attempt`; Temporal's own loggers attach their workflow or activity info. The JSON format keeps
all of it as fields, so a log search by task id finds every line about the task.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from temporalio.runtime import Runtime

_TASK_FIELDS = ("task_id", "workspace_id", "step", "attempt")
_TEMPORAL_FIELDS = ("temporal_workflow", "temporal_activity")


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "taskId"?, ..., "exception"?}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _TASK_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[_camel(name)] = value
        for name in _TEMPORAL_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, dict):
                entry[_camel(name)] = value
                entry.setdefault("workflowId", value.get("workflow_id"))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class OneLineActivityFailures(logging.Filter):
    """The SDK logs every failed activity attempt with its full traceback; the task's error log
    already holds the stack, so the worker's log gets one line: which attempt, and why."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "__temporal_error_identifier", None) != "ActivityFailure":
            return True
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            kind = getattr(error, "type", None) or type(error).__name__
            record.msg = f"{record.getMessage()}: {kind}: {' '.join(str(error).split())}"
            record.args = None
            record.exc_info = record.exc_text = None
        return True


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    """Log to stderr at `level`, as text or JSON lines; quiets httpx's per-request lines; the
    Temporal core's own lines join them there instead of going to stdout."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(OneLineActivityFailures())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    forward_core_logs()
    if level.lower() != "debug":
        # httpx logs every request, aiosmtpd (the dev stack's mail sink) every connection, at
        # INFO: that drowns everything a worker has to say.
        for chatty in ("httpx", "mail.log"):
            logging.getLogger(chatty).setLevel(logging.WARNING)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


CORE_LOGGER = "temporalio.core"
"""Where the Temporal core's own log lines go (see `temporal_runtime`)."""


def temporal_runtime(*, metrics_address: str | None = None) -> Runtime:
    """A Temporal runtime whose core log lines go through Python logging, as `temporalio.core`.

    The SDK's default runtime prints them straight to stdout, where a `--json` user parses
    our output (a large input made `start` print a payload-size warning there). Forwarded,
    they take the handler, format and level the process configured (stderr for our CLI and
    worker). With `metrics_address` (`host:port`) it also serves Prometheus metrics.
    """
    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        PrometheusConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    logging_config = LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
    )
    metrics = PrometheusConfig(bind_address=metrics_address) if metrics_address else None
    return Runtime(telemetry=TelemetryConfig(logging=logging_config, metrics=metrics))


@functools.cache
def forward_core_logs() -> None:
    """Make a `temporal_runtime()` the process's default, once (a runtime owns threads)."""
    from temporalio.runtime import Runtime

    Runtime.set_default(temporal_runtime(), error_if_already_set=False)
