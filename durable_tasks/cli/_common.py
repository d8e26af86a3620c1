"""What the task commands share: options, connecting to the servers, waiting for an end.

Heavy imports (Temporal, PocketBase) happen inside the functions, so `register` stays cheap.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any

from durable_tasks.errors import ConfigurationError, InvalidInputError, UnknownTaskTypeError

if TYPE_CHECKING:
    from durable_tasks.client import TaskClient
    from durable_tasks.models import TaskRecord
    from durable_tasks.pocketbase import PocketBaseTaskStore
    from durable_tasks.settings import Settings

EXIT_OK = 0
EXIT_FAILED = 1

STORE_RETRY_S = 10.0
"""How long a command keeps retrying an unreachable PocketBase (a worker retries far longer)."""

SETTINGS_HELP = """\
Settings come from the environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
DURABLE_TASKS_TASK_QUEUE, POCKETBASE_URL, POCKETBASE_ADMIN_EMAIL, POCKETBASE_ADMIN_PASSWORD and
DURABLE_TASKS_IMPORTS (see `durable-tasks --help`).
"""


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """`--import MODULE` (repeatable): where the user's processors are defined."""
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="know the processors defined in MODULE (repeatable), as the worker does with the "
        "same option; added to those DURABLE_TASKS_IMPORTS names",
    )


def import_from_working_directory() -> None:
    """Put the current directory first on the import path, as `python -m` does (and rq and
    celery workers): `--import myapp.processors` run from a project's root finds its code there,
    installed or not. A console script's path starts with its own bin/ directory instead."""
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)


def add_task_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "task_id",
        metavar="TASK_ID",
        help="the task's id (its record id): lowercase letters, digits, - and _",
    )


def check_task_arg(args: argparse.Namespace) -> None:
    """Refuse a malformed TASK_ID before connecting anywhere (one line, exit 2)."""
    from durable_tasks.ids import check_task_id

    check_task_id(args.task_id)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def parse_input(text: str) -> dict[str, Any]:
    """The `--input` JSON object (or `@FILE` holding one), or an error naming `--input`.

    Everything a file or an argument can hold is answered in one line: unreadable or not
    UTF-8, too large, not JSON (`NaN` and `Infinity` included), nested too deep, or outside the
    limits of `durable_tasks.limits`, which the client checks again.
    """
    from durable_tasks.limits import check_json_input

    source = "--input"
    if text.startswith("@"):
        source = f"--input {text}"
        text = _read_input_file(text[1:], source)
    try:
        value = json.loads(text, parse_constant=_not_json)
    except InvalidInputError as err:
        raise InvalidInputError(f"{source}: {err}") from None
    except json.JSONDecodeError as err:
        raise InvalidInputError(
            f"{source}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
            """pass a JSON object, e.g. --input '{"to": "ada@example.com"}'"""
        ) from None
    except RecursionError:
        raise InvalidInputError(f"{source}: nested too deep to read") from None
    except ValueError as err:  # e.g. an integer with more digits than Python converts
        raise InvalidInputError(f"{source}: not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"{source}: expected a JSON object ({{...}}), got {_json_kind(value)}"
        )
    try:
        return check_json_input(value)
    except InvalidInputError as err:
        raise InvalidInputError(f"{source}: {err}") from None


def _read_input_file(path: str, source: str) -> str:
    """The text of an `--input @FILE`, read no further than a file could usefully go."""
    from durable_tasks.limits import MAX_INPUT_BYTES

    limit = 4 * MAX_INPUT_BYTES  # pretty-printed JSON is larger than what is sent
    try:
        with open(path, "rb") as file:
            raw = file.read(limit + 1)
    except OSError as err:
        raise InvalidInputError(f"{source}: cannot read the file: {err.strerror}") from None
    except ValueError as err:  # a path with a NUL byte
        raise InvalidInputError(f"{source}: cannot read the file: {err}") from None
    if len(raw) > limit:
        raise InvalidInputError(
            f"{source}: the file is larger than {limit} bytes; job data is at most "
            f"{MAX_INPUT_BYTES} bytes of JSON: pass a reference to large data instead"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidInputError(
            f"{source}: not UTF-8 text (byte {raw[err.start]:#04x} at offset {err.start}); "
            "save the file as UTF-8"
        ) from None


def _not_json(constant: str) -> Any:
    raise InvalidInputError(f"{constant} is not a JSON number")


def _json_kind(value: Any) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; Temporal refusing a request is one line and exit 1 (the
    command could not do its job; a `DurableTasksError` still goes to `main`: exit 2)."""
    from temporalio.service import RPCError

    try:
        return asyncio.run(coro)
    except RPCError as err:
        message = " ".join(str(err.message or err).split())
        print(f"durable-tasks: error: Temporal refused the request: {message}", file=sys.stderr)
        return EXIT_FAILED


def check_importable(modules: list[str]) -> None:
    """Refuse a misspelt --import before connecting anywhere, naming the module."""
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise ConfigurationError(
                f"--import {name}: no module named {name!r} (is it installed, and on PYTHONPATH?)"
            )


def load() -> Settings:
    from durable_tasks.settings import load_settings

    return load_settings()


def open_store(settings: Settings) -> PocketBaseTaskStore:
    """The task store of the settings, with a retry budget fit for a command."""
    from durable_tasks.pocketbase import PocketBaseTaskStore

    return PocketBaseTaskStore.from_settings(settings, retry_for=STORE_RETRY_S)


@asynccontextmanager
async def task_client(settings: Settings, imports: list[str]) -> AsyncIterator[TaskClient]:
    """A `TaskClient` on the settings' servers knowing the processors of DURABLE_TASKS_IMPORTS and
    `--import` (none is fine: `status`, `list` and `watch` need no processor)."""
    from durable_tasks.client import TaskClient, connect_temporal
    from durable_tasks.registry import ProcessorRegistry, processor_modules

    import_from_working_directory()
    check_importable(imports)
    registry = ProcessorRegistry.discover(processor_modules(settings.imports, imports))
    store = open_store(settings)  # before connecting: a missing credential fails fast
    try:
        temporal = await connect_temporal(settings)  # unreachable: ConfigurationError, 1 line
        try:
            yield TaskClient(temporal, store, registry, task_queue=settings.task_queue)
        except UnknownTaskTypeError as err:
            raise UnknownTaskTypeError(
                f"{err} (a type defined in your own module needs --import MODULE or "
                "DURABLE_TASKS_IMPORTS=MODULE)"
            ) from None
    finally:
        await store.close()


async def wait_final(client: TaskClient, task_id: str) -> TaskRecord:
    """Wait for the task's end and return its final record.

    The workflow writes its final state before it closes, so the record is normally final at
    once; if the store lags (PocketBase was down) follow the record until it catches up.
    """
    from durable_tasks.watch import TaskWatcher

    record = await client.wait(task_id)
    if record.status.is_final:
        return record
    async with aclosing(TaskWatcher(client.store).subscribe(task_id)) as records:
        async for update in records:
            record = update
    return record


def exit_code_for(record: TaskRecord) -> int:
    """0 for SUCCESS, 1 for FAILED or CANCELLED (or a task still running)."""
    from durable_tasks.models import TaskStatus

    return EXIT_OK if record.status == TaskStatus.SUCCESS else EXIT_FAILED


def final_line(record: TaskRecord) -> str:
    """`task X SUCCESS` plus, for a failure, the last error's type and message."""
    line = f"task {record.id} {record.status}"
    if record.errors and record.status != "SUCCESS":
        last = record.errors[-1]
        line += f": {last.step}: {last.error_type}: {last.message}"
    return " ".join(line.split())
