"""Property-based: whatever bad ids, arguments or `--input` files the CLI gets, it answers in
one line on stderr with exit 2, never a traceback.

The CLI runs in this process (`cli.main`), so hundreds of cases take seconds. The settings
name no PocketBase superuser, so an argument that happens to be valid stops at that one-line
configuration error instead of connecting anywhere: every case ends before the network.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from durable_tasks import cli
from tests.support.bad_input import (
    any_text,
    as_json_text,
    bad_task_ids,
    blank_workspaces,
    json_values,
    poisoned_inputs,
)
from tests.support.cli import SETTINGS_VARIABLES

PROPERTY = settings(
    max_examples=250,
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
NO_SUPERUSER = "POCKETBASE_ADMIN_EMAIL and POCKETBASE_ADMIN_PASSWORD must be set"


@pytest.fixture(scope="module", autouse=True)
def no_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in SETTINGS_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
        patch.setenv("POCKETBASE_URL", "http://127.0.0.1:9")
        patch.setenv("DURABLE_TASKS_DEV_DATA_DIR", str(tmp_path_factory.mktemp("no-dev-stack")))
        yield


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("inputs")


def one_line_exit_2(argv: list[str]) -> str:
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = exc.code  # type: ignore[assignment]
    assert code == 2, (argv, code, err.getvalue())
    lines = err.getvalue().splitlines()
    assert "Traceback" not in err.getvalue()
    assert len(lines) == 1 and lines[0].startswith("durable-tasks: error: "), lines
    assert out.getvalue() == ""
    return lines[0]


@PROPERTY
@given(command=st.sampled_from(["status", "cancel", "rerun", "watch"]), task_id=bad_task_ids)
def test_any_bad_task_id_is_refused_in_one_line(command: str, task_id: str) -> None:
    line = one_line_exit_2([command, "--", task_id])
    assert "invalid taskId" in line


@PROPERTY
@given(
    type=st.one_of(st.just("send-email"), any_text),
    workspace=st.one_of(blank_workspaces, st.just("ws")),
    task_id=st.one_of(bad_task_ids, st.none()),
    data=st.one_of(any_text, poisoned_inputs.map(as_json_text)),
)
def test_any_start_arguments_end_in_one_line(
    type: str, workspace: str, task_id: str | None, data: str
) -> None:
    argv = ["start", f"--workspace={workspace}", f"--input={data}"]
    argv += [] if task_id is None else [f"--task-id={task_id}"]
    line = one_line_exit_2([*argv, "--", type])
    assert any(
        named in line
        for named in ("invalid type", "invalid workspaceId", "invalid taskId", "--input",
                      "unknown task type", NO_SUPERUSER)
    ), line  # fmt: skip


file_contents = st.one_of(
    st.binary(max_size=3000),
    st.integers(min_value=65, max_value=5000).map(lambda n: ("[" * n + "]" * n).encode()),
    st.integers(min_value=65, max_value=2000).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
    poisoned_inputs.map(lambda v: as_json_text(v).encode()),
    json_values.map(lambda v: json.dumps(v, allow_nan=True).encode("utf-16")),
    st.sampled_from([b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": "\\udfff"}', b"\xef\xbb\xbf{}"]),
)


@PROPERTY
@given(content=file_contents)
def test_any_input_file_ends_in_one_line(files: Path, content: bytes) -> None:
    job = files / "job.json"
    job.write_bytes(content)
    line = one_line_exit_2(["start", "send-email", "--workspace", "ws", "--input", f"@{job}"])
    assert f"--input @{job}: " in line or NO_SUPERUSER in line, line
