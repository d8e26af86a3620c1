"""`python -m durable_tasks.cli`: the `durable-tasks` command without the console script."""

from __future__ import annotations

from durable_tasks.cli import console_main

if __name__ == "__main__":
    console_main()
