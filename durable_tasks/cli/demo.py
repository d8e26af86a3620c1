"""`durable-tasks demo`: start the examples and watch them finish (see durable_tasks/demo.py)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

_DESCRIPTION = """\
A first look at durable-tasks, on real servers. Uses the running dev stack (`make run`) if it
answers, else starts its own embedded one in .data/ and stops it afterwards. Starts three tasks:
the send-email example, the video-processing flow on a generated clip (download, transcode and
thumbnail in parallel, upload to PocketBase), and flaky-upstream, which fails twice and then
succeeds (see its error log). Shows their progress, prints the final records and where to look.
Exit 0 when all three succeed. The examples are this repository's own `workflows` and
`activities` packages, which the installed package does not ship: run it from a checkout's root.
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the `demo` command."""
    parser = subparsers.add_parser(
        "demo",
        help="start the example tasks and watch them finish (a first five minutes)",
        description=_DESCRIPTION,
        epilog="example:\n  make run            # in one shell\n  durable-tasks demo  # in another",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from durable_tasks.cli._common import import_from_working_directory
    from durable_tasks.dev import run_demo

    import_from_working_directory()
    return asyncio.run(run_demo())
