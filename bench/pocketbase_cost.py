"""`python -m bench.pocketbase_cost`: what a patch costs PocketBase, split into its parts.

Starts a throwaway PocketBase with this project's schema and hooks plus the probe routes of
`bench/pb_probe/` (each does part of what the sync route does: parse the body; also find each
record in one transaction; also save each record with PocketBase's own save), then sends the
same patches through each probe and through the real sync route, one request after another,
1, 4, 10 and 100 patches per request, and prints the PocketBase CPU (user + system) per patch.
Each cell is measured twice, in mirrored rounds (routes in order, then reversed), after a
warm-up of every route. `--subscriber` adds a superuser realtime subscription to every task
record, as a front end's; `--busy` keeps both cores busy with two spinning processes meanwhile.
`bench/README.md` ("Why throughput at 50 in flight stays below ×0.90") reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from bench.measure import CpuMeter
from durable_tasks.dev import free_port, project_pb_dirs, start_pocketbase
from durable_tasks.pocketbase import PocketBaseRealtime

PROBES = Path(__file__).parent / "pb_probe"
SYNC_ROUTE = "/api/durable-tasks/sync"
ROUTES = {
    "parses the body and answers": "/api/bench-probe/parse",
    "also finds each record, in one transaction": "/api/bench-probe/find",
    "also saves each record (PocketBase's own save)": "/api/bench-probe/save",
    "is the sync route (guard rules, merge, answer)": SYNC_ROUTE,
}
BATCHES = (1, 4, 10, 100)
_SPIN = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass"


class Probe:
    """Sends patches to the routes and reads PocketBase's CPU around them."""

    def __init__(self, client: httpx.Client, cpu: CpuMeter, ids: list[str]) -> None:
        self.client, self.cpu, self.ids = client, cpu, ids
        self._progress = 0

    def send(self, route: str, batch: int, ids: list[str]) -> None:
        self._progress += 1  # rises from pass to pass: the sync route applies every patch
        patch = {"runId": "r1", "newRun": True, "status": "RUNNING", "progress": self._progress}
        for start in range(0, len(ids), batch):
            items = [{"taskId": t, "patch": patch} for t in ids[start : start + batch]]
            answer = self.client.post(route, json={"items": items}).raise_for_status().json()
            if route == SYNC_ROUTE and not all(r["applied"] for r in answer["results"]):
                raise RuntimeError(f"the sync route refused a probe patch: {answer['results']}")

    def cpu_ms_per_patch(self, route: str, batch: int) -> float:
        before = self.cpu.read()["pocketbase"]
        self.send(route, batch, self.ids)
        return 1000 * (self.cpu.read()["pocketbase"] - before) / len(self.ids)

    def table(self) -> dict[str, list[float]]:
        for route in ROUTES.values():  # warm-up: every route once, untimed
            self.send(route, 10, self.ids[:100])
        cells: dict[tuple[str, int], list[float]] = {}
        order = [(label, batch) for label in ROUTES for batch in BATCHES]
        for round_order in (order, order[::-1]):  # mirrored rounds: drift weighs on every cell
            for label, batch in round_order:
                ms = self.cpu_ms_per_patch(ROUTES[label], batch)
                cells.setdefault((label, batch), []).append(ms)
        return {label: [sum(cells[label, batch]) / 2 for batch in BATCHES] for label in ROUTES}


def render(table: dict[str, list[float]], patches: int, conditions: str) -> str:
    sizes = " | ".join(f"{size} in a request" for size in BATCHES[1:])
    lines = [
        f"PocketBase CPU per patch ({conditions}), {patches} patches per cell, the mean of two",
        "mirrored rounds, one request after another:",
        "",
        f"| a request to PocketBase that… | 1 patch per request | {sizes} |",
        "|---" * (len(BATCHES) + 1) + "|",
    ]
    for label, row in table.items():
        lines.append(f"| {label} | " + " | ".join(f"{ms:.2f} ms" for ms in row) + " |")
    return "\n".join(lines)


@contextlib.contextmanager
def spinning(count: int, seconds: float) -> Iterator[None]:
    """`count` processes that keep a core busy each, for at most `seconds`; stopped after."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", _SPIN.format(s=seconds)]) for _ in range(count)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.terminate()
            spinner.wait()


@contextlib.contextmanager
def subscribed(url: str, email: str, password: str) -> Iterator[None]:
    """A superuser realtime subscription to every task record, as the bench's observer has
    (`PocketBaseRealtime`), read on a thread and event loop of its own meanwhile."""
    ready = threading.Event()

    async def follow() -> None:
        realtime = PocketBaseRealtime(url, email, password)
        async for _ in realtime.topic_events(f"{realtime.collection}/*"):
            ready.set()  # the first item is SUBSCRIBED; events only need reading

    loop = asyncio.new_event_loop()
    following = loop.create_task(follow())

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(following)

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    try:
        if not ready.wait(10):
            raise RuntimeError("the realtime subscription did not start within 10 s")
        yield
    finally:
        loop.call_soon_threadsafe(following.cancel)
        reader.join(10)
        if not reader.is_alive():
            loop.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pocketbase_cost", description=__doc__)
    parser.add_argument("--patches", type=int, default=1000, help="patches per cell (1000)")
    parser.add_argument("--subscriber", action="store_true", help="a realtime subscriber too")
    parser.add_argument("--busy", action="store_true", help="both cores kept busy meanwhile")
    args = parser.parse_args(argv)
    if args.patches < max(BATCHES):
        parser.error(f"--patches must be at least {max(BATCHES)}")
    conditions = ", ".join(
        ["a realtime subscriber" if args.subscriber else "no subscriber"]
        + (["both cores busy"] if args.busy else [])
    )
    email, password = "probe@example.com", secrets.token_urlsafe(18)
    migrations, hooks = project_pb_dirs()
    with tempfile.TemporaryDirectory(prefix="durable-tasks-pb-cost-") as tmp:
        probe_hooks = Path(tmp) / "pb_hooks"
        shutil.copytree(hooks, probe_hooks)
        shutil.copy(PROBES / "probe_routes.pb.js", probe_hooks)
        server = start_pocketbase(
            Path(tmp) / "pb_data",
            free_port(),
            admin_email=email,
            admin_password=password,
            migrations_dir=migrations,
            hooks_dir=probe_hooks,
        )
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                login = client.post(
                    "/api/collections/_superusers/auth-with-password",
                    json={"identity": email, "password": password},
                )
                token = login.raise_for_status().json()["token"]
                client.headers["Authorization"] = token
                ids = [f"probe-{i:06d}" for i in range(args.patches)]
                for start in range(0, len(ids), 100):
                    new = [{"taskId": t, "workspaceId": "bench", "type": "probe", "input": {}}
                           for t in ids[start : start + 100]]  # fmt: skip
                    client.post("/api/durable-tasks/create", json={"items": new}).raise_for_status()
                with contextlib.ExitStack() as stack:
                    if args.subscriber:
                        stack.enter_context(subscribed(server.url, email, password))
                    if args.busy:
                        stack.enter_context(spinning(2, seconds=600))
                    table = Probe(client, CpuMeter({"pocketbase": server.pid}), ids).table()
        finally:
            server.stop()
    print(render(table, args.patches, conditions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
