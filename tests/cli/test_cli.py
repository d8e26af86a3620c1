"""The command line's shape: commands listed and documented, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap

import pytest

from durable_tasks import cli
from durable_tasks.errors import ConfigurationError
from tests.support.cli import clean_env, console_script, run_cli


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands registered")


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    commands = _subcommands(cli.build_parser())
    assert {"dev", "worker"} <= commands.keys()
    for name in commands:
        assert f"    {name} " in out, f"`{name}` missing from --help"
    assert "exit codes" in out


@pytest.mark.parametrize("name", sorted(_subcommands(cli.build_parser())))
def test_every_command_is_documented(name: str) -> None:
    """Each command (ours and those added later) has a description and help on every option."""
    parser = _subcommands(cli.build_parser())[name]
    assert parser.description and len(parser.description) > 40, f"{name}: no real description"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help != argparse.SUPPRESS, (
            f"{name}: option {action.option_strings or action.dest} has no help text"
        )
    parser.format_help()  # must not raise (e.g. a stray % in a help string)


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().err


def test_console_script_help_and_unknown_command() -> None:
    help_run = run_cli("--help")
    assert help_run.returncode == 0
    assert "dev" in help_run.stdout and "worker" in help_run.stdout
    bad = run_cli("frobnicate")
    assert bad.returncode == 2
    assert "invalid choice" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("durable-tasks ")


def test_error_from_a_command_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> None:
        raise ConfigurationError("FOO is wrong:\n  set it to bar")

    monkeypatch.setattr("durable_tasks.settings.load_settings", broken)
    assert cli.main(["worker"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "durable-tasks: error: FOO is wrong: set it to bar\n"
    assert captured.out == ""


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_worker_rejects_bad_concurrency(value: str) -> None:
    result = run_cli("worker", "--max-concurrent-activities", value)
    assert result.returncode == 2
    assert "--max-concurrent-activities" in result.stderr
    assert "Traceback" not in result.stderr


def test_worker_rejects_unknown_import_before_connecting() -> None:
    # Nothing listens on this address: the error must come from the import check, at once.
    result = run_cli("worker", "--import", "no_such_pkg.processors", TEMPORAL_ADDRESS="127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "durable-tasks: error: --import no_such_pkg.processors: no module named "
        "'no_such_pkg.processors' (is it installed, and on PYTHONPATH?)"
    ]


def test_worker_with_nothing_to_import_says_how_to_name_it_and_exits_2() -> None:
    # Nothing listens on this address: the refusal comes before connecting anywhere.
    result = run_cli("worker", TEMPORAL_ADDRESS="127.0.0.1:9")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "durable-tasks: error: no processors to run: name the modules that define them with "
        "--import MODULE (repeatable) or DURABLE_TASKS_IMPORTS=MODULE[,MODULE...], e.g. "
        "--import myapp.processors"
    ]


_FAKE_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    import durable_tasks.worker

    async def fake_run_worker(
        settings, *, imports=(), max_concurrent_activities=None, stop=None,
        graceful_shutdown=None, metrics_address=None, dispatch=None,
    ):
        grace = graceful_shutdown.total_seconds()
        print("running", settings.task_queue, list(imports), max_concurrent_activities, grace, dispatch, flush=True)
        await stop.wait()
        print("stopped cleanly", flush=True)

    durable_tasks.worker.run_worker = fake_run_worker
    from durable_tasks.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_worker_signal_sets_stop(signame: str) -> None:
    """`worker` hands its options to run_worker and turns SIGTERM/SIGINT into the stop event."""
    import signal

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _FAKE_WORKER,
            "worker",
            "--import",
            "json",
            "--import",
            "csv",
            "--max-concurrent-activities",
            "7",
            "--graceful-shutdown",
            "3",
            "--no-dispatch",
        ],  # fmt: skip
        env=clean_env(DURABLE_TASKS_TASK_QUEUE="q1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        # The handlers are installed before run_worker runs, so the signal can go right away.
        assert process.stdout.readline() == "running q1 ['json', 'csv'] 7 3.0 False\n"
        process.send_signal(getattr(signal, signame))
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert out == "stopped cleanly\n"


def test_console_script_is_the_venv_one() -> None:
    # Guards the other subprocess tests: they must exercise this checkout, not some other install.
    result = subprocess.run(
        [console_script(), "--help"], capture_output=True, text=True, check=True, timeout=60
    )
    assert "durable-tasks" in result.stdout
