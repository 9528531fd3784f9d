"""Garbage-collector census: what an open idle stream costs the cyclic collector.

``python -m benchmarks.gc_census --client copilot-anyio --backend asyncio --n 1000``

Starts the end-to-end server (:mod:`benchmarks.e2e_server`), opens one client's session in this
process (the same code as the end-to-end benchmark, :mod:`benchmarks.e2e_clients`), starts ``n``
conversations and, once each has its first delta and the server holds them, counts the objects
the collector tracks, by type, against the count with the session open and nothing started.
Then the streams are released and read to their end, and the collections that ran while opening
and while streaming are reported (how many of each generation, and the time they took, from
``gc.callbacks``), with the CPU time of each phase.

With ``--garbage`` the objects the collector had to free while streaming (reference cycles) are
kept and counted per chunk: what makes it run at all.

Prints the per-stream counts (largest first) and one JSON line with the totals.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import Counter
from typing import Any

import anyio

from . import e2e_wire as wire
from .bench_end_to_end import ServerProcess
from .e2e_clients import CLIENTS
from .e2e_harness import control, rss_kib
from .e2e_server import raise_fd_limit


class _GcClock:
    """Collections by generation and the time they took, while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.counts = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            generation = info["generation"]
            self.counts[generation] += 1
            self.seconds[generation] += time.perf_counter() - self._start

    def take(self) -> dict[str, Any]:
        out = {"collections": list(self.counts), "gc_s": [round(s, 4) for s in self.seconds]}
        self.counts = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        return out


def _name(o: object) -> str:
    """The type's name, with what it runs or wraps for code-bearing objects."""
    kind = type(o).__qualname__
    if kind in ("coroutine", "generator", "function", "async_generator"):
        return f"{kind} {getattr(o, '__qualname__', '?')}"
    if kind == "method":
        return f"method {getattr(getattr(o, '__func__', None), '__qualname__', '?')}"
    if kind == "cell":
        try:
            return f"cell -> {type(o.cell_contents).__qualname__}"  # type: ignore[attr-defined]
        except ValueError:
            return "cell (empty)"
    return kind


def _census() -> Counter[str]:
    gc.collect()
    return Counter(_name(o) for o in gc.get_objects())


async def measure(
    client: str, port: int, n: int, k: int, garbage: bool = False, route: str = "web"
) -> dict[str, Any]:
    spec = CLIENTS[client]
    base = f"http://127.0.0.1:{port}"
    clock = _GcClock()
    gc.callbacks.append(clock)
    first_seen = 0
    done = 0
    chunks = 0
    failures: Counter[str] = Counter()
    all_open = anyio.Event()
    all_done = anyio.Event()
    async with spec.routes[spec.route_for(route)](base, n) as session:

        async def one(i: int) -> None:
            nonlocal done, chunks, first_seen
            opened = False

            def first() -> None:
                nonlocal opened, first_seen
                opened = True
                first_seen += 1
                if first_seen == n:
                    all_open.set()

            try:
                text, count, _ = await session.conversation(i, first)
                chunks += count
                if text != wire.expected_text(i, k):
                    failures["wrong text"] += 1
            except Exception as exc:
                failures[type(exc).__name__] += 1
            finally:
                if not opened:
                    first()
                done += 1
                if done == n:
                    all_done.set()

        before = _census()
        rss_before = rss_kib()
        async with anyio.create_task_group() as tg:
            clock.on = True
            c0 = time.process_time()
            for i in range(n):
                tg.start_soon(one, i)
            await all_open.wait()
            c1 = time.process_time()
            clock.on = False
            open_gc = clock.take()
            idle = _census()
            rss_idle = rss_kib()
            await control(port, "POST", wire.CONTROL_RELEASE)
            if garbage:
                gc.collect()
                gc.set_debug(gc.DEBUG_SAVEALL)
            clock.on = True
            c2 = time.process_time()
            await all_done.wait()
            c3 = time.process_time()
            clock.on = False
            stream_gc = clock.take()
    gc.callbacks.remove(clock)
    cyclic: dict[str, float] = {}
    if garbage:
        gc.collect()
        gc.set_debug(0)
        found = Counter(_name(o) for o in gc.garbage)
        gc.garbage.clear()
        cyclic = {
            name: round(count / max(1, chunks - n), 3) for name, count in found.most_common(25)
        }
    delta = idle - before
    per_stream = {name: round(count / n, 2) for name, count in delta.most_common()}
    return {
        "client": client,
        "n": n,
        "failures": dict(failures),
        "tracked_per_stream": round(sum(delta.values()) / n, 1),
        "by_type": per_stream,
        "idle_kib_per_stream": round((rss_idle - rss_before) / n, 1),
        "open_cpu_us_per_conv": round((c1 - c0) / n * 1e6, 1),
        "stream_cpu_us_per_chunk": round((c3 - c2) / max(1, chunks - n) * 1e6, 2),
        "open_gc": open_gc,
        "stream_gc": stream_gc,
        "cyclic_garbage_per_chunk": cyclic,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gc_census")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="copilot-anyio")
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--route", choices=("web", "ide"), default="web")
    parser.add_argument(
        "--garbage",
        action="store_true",
        help="keep what the collector frees while streaming (gc.DEBUG_SAVEALL) and count it",
    )
    args = parser.parse_args(argv)
    raise_fd_limit()
    server = ServerProcess(args.k, 0.02)
    try:
        server.call("POST", wire.CONTROL_ARM)
        result = anyio.run(
            measure,
            args.client,
            server.port,
            args.n,
            args.k,
            args.garbage,
            args.route,
            backend=args.backend,
        )
    finally:
        server.close()
    result["backend"] = args.backend
    result["route"] = args.route
    for name, count in list(result["by_type"].items())[: args.top]:
        print(f"{count:8.2f}  {name}")
    result["by_type"] = dict(list(result["by_type"].items())[: args.top])
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
