"""Log formatting: human-readable lines, or one JSON object per line for log pipelines.

Processor and step loggers (`ctx.logger`) attach `task_id`, `workspace_id`, `step` and
`attempt`; Temporal's own loggers attach their workflow or activity info. The JSON format keeps
all of it as fields, so a log search by task id finds every line about the task.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

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


def configure_logging(level: str, *, json_lines: bool = False) -> None:
    """Log to stderr at `level`, as text or JSON lines; quiets httpx's per-request lines."""
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    if level.lower() != "debug":
        # httpx logs every request, aiosmtpd (the dev stack's mail sink) every connection, at
        # INFO: that drowns everything a worker has to say.
        for chatty in ("httpx", "mail.log"):
            logging.getLogger(chatty).setLevel(logging.WARNING)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
