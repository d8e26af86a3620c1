"""A flow's dependency graph is checked once, up front, and quickly (pure unit tests)."""

from __future__ import annotations

import pytest

from durable_tasks._flow_graph import Step, resolve_dependencies
from durable_tasks.errors import ConfigurationError


def chain(count: int) -> list[Step]:
    return [Step(f"s{i}", "noop") for i in range(count)]


def test_steps_default_to_the_one_declared_before() -> None:
    steps = [
        Step("a", "x"),
        Step("b", "x"),
        Step("c", "x", depends_on=["a"]),
        Step("d", "x", depends_on=[]),
    ]
    assert resolve_dependencies(steps) == {"a": [], "b": ["a"], "c": ["a"], "d": []}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one step"),
        ([Step("a", "x"), Step("a", "x")], "unique"),
        ([Step("a", "x", depends_on=["ghost"])], "unknown steps ['ghost']"),
        ([Step("a", "x", depends_on=["a"])], "cycle through 'a'"),
        (
            [Step("a", "x", depends_on=["c"]), Step("b", "x"), Step("c", "x")],
            "cycle through",
        ),
    ],
)
def test_bad_graphs_are_refused_with_the_reason(steps: list[Step], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        resolve_dependencies(steps)


def test_a_very_long_chain_resolves_without_recursion() -> None:
    deps = resolve_dependencies(chain(5000))
    assert deps["s4999"] == ["s4998"] and deps["s0"] == []


def test_the_remembered_answer_cannot_be_changed_by_a_caller() -> None:
    first = resolve_dependencies(chain(3))
    first["s1"].append("tampered")
    assert resolve_dependencies(chain(3))["s1"] == ["s0"]
