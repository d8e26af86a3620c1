"""`python -m faults.run` (`make faults`): the fault and bad-input campaign on real servers.

It starts a Temporal dev server (state in SQLite, so it can restart) and PocketBase with this
project's schema and hooks on free loopback ports, and `durable-tasks worker` processes; it
stops exactly those, by PID. Then, each bounded in count and time:

1. worker SIGKILL mid-step (20 times): the retry must come within 15 s, no completed step twice;
2. cancel of a running step (10 times): it must reach the attempt within 2 s;
3. PocketBase down 10 s under 20 tasks and flows, then down 60 s;
4. Temporal dev server restarted mid-run on its persistent state;
5. 500 simple tasks and 100 flows started at once;
6. bad input from `hypothesis` (>= 1,000 cases) over the models, the client and the CLI;
7. isolation probes through PocketBase's API as a user of another workspace.

It prints tried / correct / lost / time per scenario and exits 1 if any case was not correct
or any task was lost. `--quick` (for CI) shrinks counts and outages, not the bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import logging
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from faults import fuzz, isolation, scenarios
from faults.scenarios import Outcome
from faults.stack import Stack


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, shorter outages")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument(
        "--only", type=int, nargs="*", default=None, help="run only these scenarios (1-8)"
    )
    return parser.parse_args(argv)


async def campaign(args: argparse.Namespace, workdir: Path) -> list[Outcome]:
    q = args.quick
    stack = Stack(workdir)
    outcomes: list[Outcome] = []
    try:
        await stack.start()
        steps: list[tuple[str, float, Callable[[], Awaitable[Outcome]]]] = [
            ("worker SIGKILL mid-step", 900, lambda: scenarios.sigkill(stack, 4 if q else 20)),
            ("cancel a running step", 300, lambda: scenarios.cancel(stack, 4 if q else 10)),
            ("PocketBase down 10 s", 400, lambda: scenarios.pocketbase_outage(stack, 20, 10)),
            (
                "PocketBase down long",
                400,
                lambda: scenarios.pocketbase_outage(stack, 6, 20 if q else 60),
            ),
            ("Temporal restart", 400, lambda: scenarios.temporal_restart(stack, 8)),
            ("load", 1200, lambda: scenarios.load(stack, 100 if q else 500, 20 if q else 100)),
            ("bad input (hypothesis)", 900, lambda: fuzz.bad_input(stack, 600, 250, 200)),
            ("isolation probes", 120, lambda: isolation.isolation(stack)),
        ]
        for number, (name, limit, step) in enumerate(steps, 1):
            if args.only and number not in args.only:
                continue
            began = time.monotonic()
            try:  # every scenario bounded in time, whatever happens inside it
                outcome = await asyncio.wait_for(step(), limit)
            except TimeoutError:
                outcome = Outcome(name, 1, 0, 1, time.monotonic() - began, f"hung past {limit} s")
            outcomes.append(outcome)
            print(_row(outcome), flush=True)
    finally:
        await stack.stop()
    return outcomes


def _row(o: Outcome) -> str:
    mark = "ok " if o.ok else "BAD"
    return f"| {mark} | {o.scenario:<26} | {o.tried:>5} | {o.correct:>7} | {o.lost:>4} | {o.seconds:>7.1f} | {o.note}"


HEADER = "|     | scenario                   | tried | correct | lost | time (s) | note\n|-----|----------------------------|-------|---------|------|----------|-----"


def _interrupted(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: `asyncio.run` then cancels the campaign, whose `finally` stops the
    servers and workers it started (a plain SIGTERM would leave them running)."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where it is
    signal.signal(signal.SIGTERM, _interrupted)  # stopped from outside: still stop our servers
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    began = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="durable-tasks-faults-")
    try:
        print(f"faults: servers and logs in {tmp}", file=sys.stderr)
        print(HEADER, flush=True)
        outcomes = asyncio.run(campaign(args, Path(tmp)))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + HEADER)
    for outcome in outcomes:
        print(_row(outcome))
    bad = [o.scenario for o in outcomes if not o.ok]
    total = time.monotonic() - began
    print(
        f"\n{len(outcomes)} scenarios in {total:.0f} s; "
        + (f"NOT CORRECT: {', '.join(bad)}" if bad else "all correct, 0 lost")
    )
    return 1 if bad or not outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
