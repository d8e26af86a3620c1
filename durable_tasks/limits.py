"""What job data the client accepts: JSON, at most `MAX_INPUT_BYTES`, nested at most
`MAX_INPUT_DEPTH` deep. Whatever passes, a worker can decode.

Job data crosses three systems: Temporal (as a workflow argument, encoded and decoded by
`pydantic_data_converter`), PocketBase (the record's `input`, a JSON field of at most 1 MiB) and
the user's processor. Each has limits of its own that fail late and far from the caller: the
converter cannot encode objects nested about 250 deep and cannot decode some nested ~200 deep
(the workflow task then retries forever), Temporal warns about payloads over 512 KB and refuses
them over 2 MB, and `NaN` or a lone surrogate is not JSON at all. So the client checks at the
boundary, with limits well inside all of them:

- the input is a JSON object whose values are JSON: `None`, `bool`, `int`, finite `float`,
  `str` that is valid Unicode, `list`/`tuple` and `dict` with string keys, nothing else
  (no bytes, sets, dates or objects: the caller converts them, so nothing is converted
  silently);
- nested at most `MAX_INPUT_DEPTH` containers deep (the object itself is depth 1);
- at most `MAX_INPUT_BYTES` once encoded as JSON (UTF-8);
- and the workflow argument actually built from it round-trips through the same converter
  the worker uses (`check_round_trip`).

Each refusal is an `InvalidInputError` naming the field by its path (`input.items.3.name`).
"""

from __future__ import annotations

import math
from typing import Any

from durable_tasks.errors import InvalidInputError

MAX_INPUT_BYTES = 256 * 1024
"""Largest job data accepted, encoded as JSON: well under Temporal's 512 KB payload warning."""
MAX_INPUT_DEPTH = 64
"""Deepest nesting of objects and arrays accepted (the converter fails from about 200)."""


def check_json_input(value: Any, *, field: str = "input") -> dict[str, Any]:
    """`value` if it is a JSON object within the limits, else `InvalidInputError` naming the
    offending path. Iterative, so no input can exhaust the interpreter's stack."""
    if not isinstance(value, dict):
        raise InvalidInputError(
            f"invalid {field}: expected a JSON object, got {type(value).__name__}"
        )
    stack: list[tuple[str, Any, int]] = [(field, value, 1)]
    while stack:
        path, item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth > MAX_INPUT_DEPTH:
                raise InvalidInputError(
                    f"invalid {_short(path)}: nested deeper than {MAX_INPUT_DEPTH} levels"
                )
            stack.extend(_children(path, item, depth))
        else:
            _check_scalar(path, item)
    size = _encoded_size(value, field)
    if size > MAX_INPUT_BYTES:
        raise InvalidInputError(
            f"invalid {field}: {size} bytes as JSON, more than the {MAX_INPUT_BYTES} allowed; "
            "pass a reference (an id or a URL) to large data instead of the data"
        )
    return value


def check_round_trip(arg: Any, *, field: str = "input") -> None:
    """Encode `arg` with the worker's converter and decode it back as the worker will (plain
    JSON), or raise `InvalidInputError`: a start whose argument a worker cannot decode would
    leave its workflow task retrying forever."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    converter = pydantic_data_converter.payload_converter
    try:
        payloads = converter.to_payloads([arg])
        converter.from_payloads(payloads, [dict[str, Any]])
    except Exception as exc:  # the converter's errors vary by cause; all mean "cannot send"
        reason = " ".join(str(exc).split())[:200]
        raise InvalidInputError(
            f"invalid {field}: a worker could not decode it ({reason})"
        ) from None


def _children(path: str, item: Any, depth: int) -> list[tuple[str, Any, int]]:
    if isinstance(item, dict):
        children = []
        for key, child in item.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"invalid {_short(path)}: keys must be strings, got {type(key).__name__}"
                )
            _check_text(f"{path} key", key)
            children.append((f"{path}.{key}", child, depth + 1))
        return children
    return [(f"{path}.{n}", child, depth + 1) for n, child in enumerate(item)]


def _check_scalar(path: str, item: Any) -> None:
    if item is None or isinstance(item, bool | int):
        return
    if isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidInputError(f"invalid {_short(path)}: {item} is not a JSON number")
        return
    if isinstance(item, str):
        _check_text(path, item)
        return
    raise InvalidInputError(
        f"invalid {_short(path)}: {type(item).__name__} is not a JSON value "
        "(use strings, numbers, booleans, null, arrays and objects)"
    )


def _check_text(path: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise InvalidInputError(
            f"invalid {_short(path)}: not valid Unicode (a lone surrogate at character {err.start})"
        ) from None


def _encoded_size(value: dict[str, Any], field: str) -> int:
    from pydantic_core import to_json

    try:
        return len(to_json(value))
    except ValueError as exc:  # e.g. an int too large for JSON serialisation
        reason = " ".join(str(exc).split())[:200]
        raise InvalidInputError(f"invalid {field}: cannot be encoded as JSON ({reason})") from None


def _short(path: str) -> str:
    """A path for a message: long ones keep their start and end."""
    return path if len(path) <= 120 else f"{path[:60]}...{path[-57:]}"
