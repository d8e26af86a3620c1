"""Hypothesis strategies for bad input: ids outside the rule, blank workspaces, types that are
not names, and job data that is not JSON, too deep or too large somewhere inside.

Shared by the property tests of the client (`tests/core/`) and of the CLI (`tests/cli/`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from hypothesis import strategies as st

from durable_tasks.ids import TASK_ID_PATTERN
from durable_tasks.limits import MAX_INPUT_BYTES, MAX_INPUT_DEPTH

# Text including lone surrogates (what undecodable bytes in argv become) and control characters.
any_text = st.text(
    alphabet=st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["\ud800", "\udcff", "\x00", "\n", " ", ".", "/", "A", "-", "é"]),
    ),
    max_size=80,
)

bad_task_ids = st.one_of(
    st.just(""),
    st.sampled_from([".", "..", "a/b", "r5-MiXeD", "-a", "_a", "a.b", "a ", "\udcff"]),
    st.integers(65, 70).map(lambda n: "x" * n),
    any_text,
).filter(lambda text: not re.fullmatch(TASK_ID_PATTERN, text))

blank_workspaces = st.one_of(
    st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003", max_size=6),
    st.builds(
        lambda core, pad: pad + core, st.sampled_from(["w", "acme"]), st.sampled_from([" ", "\t"])
    ),
    st.builds(
        lambda core, pad: core + pad, st.sampled_from(["w", "acme"]), st.sampled_from([" ", "\n"])
    ),
    st.integers(65, 70).map(lambda n: "x" * n),
    st.just("w\x00"),
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


poisons = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, b"bytes", bytearray(b"x"), "\ud800x"]),
    st.builds(set, st.lists(st.integers(), max_size=3)),
    st.builds(lambda key: {key: 1}, st.one_of(st.integers(), st.just((1, 2)))),
    st.builds(_nested, st.integers(min_value=MAX_INPUT_DEPTH, max_value=800)),
    st.integers(MAX_INPUT_BYTES + 1, MAX_INPUT_BYTES + 9).map(lambda n: "x" * n),
    st.builds(object),
)


def _bury(poison: Any, path: list[str | None]) -> Any:
    """`poison` inside lists (None) and objects (a key) along `path`."""
    for step in reversed(path):
        poison = [poison] if step is None else {step: poison}
    return poison


poisoned_inputs = st.builds(
    lambda base, key, poison, path: {**base, key: _bury(poison, path)},
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    st.text(min_size=1, max_size=8),
    poisons,
    st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=4),
)
"""JSON objects with one non-JSON, too deep or too large value somewhere inside."""


def as_json_text(value: Any) -> str:
    """`value` as the text a user might pass: Python's JSON dialect (NaN, Infinity), lone
    surrogates escaped, what JSON cannot hold written as its repr or dropped (non-text keys)."""
    return json.dumps(value, default=repr, skipkeys=True, check_circular=False)
