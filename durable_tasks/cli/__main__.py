"""`python -m durable_tasks.cli`: the `durable-tasks` command without the console script."""

from __future__ import annotations

import sys

from durable_tasks.cli import main

if __name__ == "__main__":
    sys.exit(main())
