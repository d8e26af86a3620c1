"""The public API is declared once, sorted, and every name in it exists (a change is deliberate)."""

from __future__ import annotations

import durable_tasks

EXPECTED = {
    "ActivityOptions", "BaseFlowProcessor", "BaseParentProcessor", "BaseProcessor",
    "BaseSimpleProcessor", "ConfigurationError", "DurableTasksError", "DurableTasksPlugin",
    "ErrorLogEntry",
    "FailurePolicy", "InvalidInputError", "JobData", "MemoryTaskStore", "NonRetryableError",
    "ParentJobData", "PocketBaseTaskStore", "ProcessorRegistry", "RetryOptions", "Settings", "SimpleJobData",
    "StartOutcome", "Step", "StepJobData", "StepResult", "StepStatus", "StoreError",
    "StorePermanentError", "StoreRejectedError", "StoreUnavailableError",
    "TaskAlreadyExistsError", "TaskClient", "TaskContext", "TaskNotFoundError", "TaskRecord",
    "TaskResult", "TaskStatus", "TaskStore", "TaskSyncInterceptor", "TaskView",
    "UnknownTaskTypeError", "build_worker", "connect_temporal", "flow_processor",
    "load_settings", "reconcile", "run_worker", "step_activity",
}  # fmt: skip


def test_exports_are_pinned_sorted_and_real() -> None:
    assert set(durable_tasks.__all__) == EXPECTED
    assert durable_tasks.__all__ == sorted(durable_tasks.__all__)
    for name in durable_tasks.__all__:
        assert getattr(durable_tasks, name) is not None


def test_the_pocketbase_sdk_is_imported_in_one_module_only() -> None:
    """Nothing but the PocketBase package's request client knows PocketBase's SDK exists."""
    import pathlib
    import re

    root = pathlib.Path(durable_tasks.__file__).parent.parent
    pattern = re.compile(r"^\s*(import pocketbase|from pocketbase\b)", re.M)
    importers = sorted(
        str(p.relative_to(root))
        for folder in ("durable_tasks", "workflows", "activities")
        for p in (root / folder).rglob("*.py")
        if pattern.search(p.read_text())
    )
    assert importers == ["durable_tasks/pocketbase/_client.py"]


def test_pytest_plugin_without_pytest_asyncio_warns_instead_of_breaking() -> None:
    """The plugin loads in every pytest run of the environment: it must not break suites that
    lack the `testing` extra."""
    import subprocess
    import sys

    code = (
        "import sys, warnings\n"
        "sys.modules['pytest_asyncio'] = None  # as if it were not installed\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    import durable_tasks.testing.pytest_plugin as plugin\n"
        "print(hasattr(plugin, 'task_store'), [str(w.message) for w in seen])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.startswith("False [")
    assert "pip install 'durable-tasks[testing]'" in result.stdout
