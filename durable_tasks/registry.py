"""Finding processors: which task types exist, and what a worker must register for them.

The worker and the client import the same modules and collect every concrete processor defined
there, so a type the client accepts is a type a worker runs. Which modules is always said, never
guessed: `DURABLE_TASKS_IMPORTS` and `--import` name them (`processor_modules`). A default such as
`workflows` would pick up whatever package of that name is on the path, someone else's included.
Names are unique; a clash is a configuration error.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from durable_tasks._redact import redact_secrets
from durable_tasks.errors import ConfigurationError, UnknownTaskTypeError
from durable_tasks.processor import BaseSimpleProcessor

NOTHING_TO_IMPORT = (
    "no processors to run: name the modules that define them with --import MODULE (repeatable) "
    "or DURABLE_TASKS_IMPORTS=MODULE[,MODULE...], e.g. --import myapp.processors"
)
"""What a worker with no modules to import says instead of running empty (exit 2)."""


def processor_modules(*sources: Iterable[str]) -> list[str]:
    """The modules named by `sources` (the settings' `imports`, then `--import`), each once, in
    order. Empty when nothing names any: a worker refuses that (`NOTHING_TO_IMPORT`)."""
    return list(dict.fromkeys(name for source in sources for name in source))


@dataclass
class ProcessorRegistry:
    """Every known task type: simple processors and flow workflows, by name."""

    simple: dict[str, type[BaseSimpleProcessor[Any]]] = field(default_factory=dict)
    flows: dict[str, type[Any]] = field(default_factory=dict)

    @classmethod
    def discover(cls, modules: Iterable[str]) -> ProcessorRegistry:
        """Import `modules` (packages recursively) and register what they define."""
        registry = cls()
        for name in modules:
            for module in _import_tree(name):
                registry.add_module(module)
        return registry

    @classmethod
    def of(cls, *processors: type[Any]) -> ProcessorRegistry:
        """A registry of exactly these processor classes (handy in tests)."""
        registry = cls()
        for proc in processors:
            registry.add(proc)
        return registry

    def add_module(self, module: ModuleType) -> None:
        """Register every concrete processor class defined in `module` itself."""
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == module.__name__ and _is_processor(obj):
                self.add(obj)

    def add(self, proc: type[Any]) -> None:
        """Register one processor class; names must be unique."""
        from durable_tasks.flow import BaseFlowProcessor, flow_name

        if isinstance(proc, type) and issubclass(proc, BaseFlowProcessor):
            name, table = flow_name(proc), self.flows
        elif isinstance(proc, type) and issubclass(proc, BaseSimpleProcessor):
            proc.options()  # validates the declaration now, not at the first task
            name, table = proc.name, self.simple
        else:
            raise ConfigurationError(f"{proc!r} is not a durable-tasks processor")
        other = self.simple.get(name) or self.flows.get(name)
        if other is not None and other is not proc:
            raise ConfigurationError(
                f"task type {name!r} is defined twice: {_where(other)} and {_where(proc)}"
            )
        table[name] = proc

    @property
    def names(self) -> list[str]:
        """Every known task type, sorted."""
        return sorted([*self.simple, *self.flows])

    def kind_of(self, name: str) -> str:
        """`simple` or `flow`; `UnknownTaskTypeError` lists the known types."""
        if name in self.simple:
            return "simple"
        if name in self.flows:
            return "flow"
        known = ", ".join(self.names) or "none (no processor modules named)"
        raise UnknownTaskTypeError(f"unknown task type {name!r}; known types: {known}")

    def input_model(self, name: str) -> type[BaseModel]:
        """The job-data model of task type `name` (`UnknownTaskTypeError` if unknown)."""
        if self.kind_of(name) == "simple":
            return self.simple[name].input_model
        model: type[BaseModel] = self.flows[name].input_model
        return model

    def redact_input(self, name: str, config: Any) -> Any:
        """`config` as a record may keep it: the type's secret fields masked (see `_redact`);
        unchanged for a type this registry does not know."""
        if name not in self.simple and name not in self.flows:
            return config
        return redact_secrets(self.input_model(name), config)

    def activities(self) -> list[Callable[..., Any]]:
        """Every activity a worker must register: simple processors and flow steps."""
        found: dict[str, Callable[..., Any]] = {}
        for simple in self.simple.values():
            found[simple.name] = simple().activity()
        for flow in self.flows.values():
            for step in flow.steps:
                found.setdefault(step.activity_name, step.activity)
        return list(found.values())


def _is_processor(obj: type[Any]) -> bool:
    from durable_tasks.flow import BaseFlowProcessor, is_concrete_flow

    if issubclass(obj, BaseFlowProcessor):
        return is_concrete_flow(obj)
    return issubclass(obj, BaseSimpleProcessor) and bool(obj.__dict__.get("name"))


def _import_tree(name: str) -> Sequence[ModuleType]:
    try:
        root = importlib.import_module(name)
    except ImportError as err:
        raise ConfigurationError(f"cannot import processor module {name!r}: {err}") from err
    modules = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{name}."):
        modules.append(importlib.import_module(info.name))
    return modules


def _where(obj: type[Any]) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"
