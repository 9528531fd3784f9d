"""One client's measurement, in a process of its own (so its CPU time and memory are its own).

``python -m benchmarks.e2e_harness --client aiohttp --backend asyncio --route ide --port P --n 1000
--k 50`` prints one JSON line with the raw figures; ``benchmarks.bench_end_to_end`` runs it per client.

The run, on AnyIO (so the same harness drives asyncio and trio):

1. Open the client's session (its client object and the one token fetch), collect garbage and
   read the baseline RSS.
2. Start ``n`` conversations together at ``t0``. The server (armed by the orchestrator) sends
   each stream's first text delta at once and then holds it. The time from ``t0`` to each
   conversation's first delta is its TTFC.
3. When every conversation has its first delta (or has failed), all ``n`` streams are open and
   idle: collect garbage, read RSS ("idle"), then tell the server to release them.
4. The other ``k - 1`` deltas of each stream arrive ``interval`` apart; RSS is sampled every
   100 ms ("load" is the highest sample). Every text is checked against the expected one.

CPU time is the process's (user + system) over phase 2 ("open": connections, token-bearing
thread and message POSTs or the ``/chat/completions`` POST, first deltas) and phase 4 ("stream"), read with
``time.process_time()``; the server's CPU over the same window is read from its stats route, and
the whole machine's busy share (all cores, every process: a shared machine shows here) from
``/proc/stat``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import sys
import time
from collections import Counter
from typing import Any

import anyio

from . import e2e_wire as wire
from .e2e_clients import CLIENTS, First
from .e2e_server import raise_fd_limit

_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def rss_kib() -> int:
    """Resident set size now, in KiB (Linux /proc; the peak elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_KIB
    except OSError:
        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def machine_times() -> tuple[int, int, int]:
    """(busy, softirq, total) clock ticks of the whole machine so far (Linux; zeros elsewhere).

    Busy is everything but idle and iowait; softirq is where loopback TCP is partly processed,
    on behalf of neither process, so it shows cost that neither CPU figure includes.
    """
    try:
        with open("/proc/stat", "rb") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0, 0
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], fields[6], total


def _share(before: tuple[int, int, int], after: tuple[int, int, int], index: int) -> float:
    total = after[2] - before[2]
    return (after[index] - before[index]) / total * 100 if total else math.nan


async def control(port: int, method: str, path: str) -> Any:
    """A request to the server's control routes, on a connection of its own."""
    request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(request.encode())
        data = b""
        try:
            while True:
                data += await stream.receive(65536)
        except anyio.EndOfStream:
            pass
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class _Tally:
    def __init__(self, n: int, k: int) -> None:
        self.n = n
        self.k = k
        self.first: list[float] = [math.nan] * n
        self.opened = 0  # conversations that had their first delta, or failed before it
        self.finished = 0
        self.chunks = 0
        self.ok = 0
        self.failures: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.all_open = anyio.Event()
        self.all_done = anyio.Event()

    def fail(self, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        self.examples.setdefault(kind, detail[:300])

    def mark_open(self) -> None:
        self.opened += 1
        if self.opened == self.n:
            self.all_open.set()


async def measure(
    client: str,
    route: str,
    port: int,
    n: int,
    k: int,
    open_timeout: float,
    stream_timeout: float,
) -> dict[str, Any]:
    spec = CLIENTS[client]
    route = spec.route_for(route)
    base = f"http://127.0.0.1:{port}"
    tally = _Tally(n, k)
    gc.collect()
    rss_start = rss_kib()
    async with spec.routes[route](base, n) as session:
        gc.collect()
        rss_base = rss_kib()
        server_before = await control(port, "GET", wire.CONTROL_STATS)
        t0 = 0.0

        async def one(i: int) -> None:
            opened = False

            def first() -> None:
                nonlocal opened
                tally.first[i] = time.perf_counter() - t0
                opened = True
                tally.mark_open()

            first_cb: First = first
            try:
                text, count, ended = await session.conversation(i, first_cb)
            except Exception as exc:
                tally.fail(type(exc).__name__, f"conversation {i}: {exc!r}")
            else:
                tally.chunks += count
                if text != wire.expected_text(i, k):
                    tally.fail("wrong text", f"conversation {i}: {text[:80]!r}")
                elif count != k:
                    tally.fail("wrong delta count", f"conversation {i}: {count} != {k}")
                elif not ended:
                    tally.fail("no end marker", f"conversation {i}")
                else:
                    tally.ok += 1
            finally:
                if not opened:
                    tally.mark_open()
                tally.finished += 1
                if tally.finished == n:
                    tally.all_done.set()

        load_peak = 0

        async def sample_rss() -> None:
            nonlocal load_peak
            while True:
                load_peak = max(load_peak, rss_kib())
                await anyio.sleep(0.1)

        open_timed_out = False
        async with anyio.create_task_group() as tg:
            m0 = machine_times()
            t0 = time.perf_counter()
            c0 = time.process_time()
            for i in range(n):
                tg.start_soon(one, i)
            with anyio.move_on_after(open_timeout) as scope:
                await tally.all_open.wait()
            open_timed_out = scope.cancelled_caught
            t1 = time.perf_counter()
            c1 = time.process_time()
            gc.collect()
            rss_idle = rss_kib()
            opened_with_first = sum(1 for x in tally.first if not math.isnan(x))
            await control(port, "POST", wire.CONTROL_RELEASE)
            sampler = anyio.CancelScope()

            async def run_sampler() -> None:
                with sampler:
                    await sample_rss()

            tg.start_soon(run_sampler)
            t2 = time.perf_counter()
            c2 = time.process_time()
            with anyio.move_on_after(stream_timeout) as scope:
                await tally.all_done.wait()
            t3 = time.perf_counter()
            c3 = time.process_time()
            m3 = machine_times()
            sampler.cancel()
            if scope.cancelled_caught:
                unfinished = n - tally.finished
                tally.fail("timeout", f"{unfinished} conversations unfinished")
                tally.failures["timeout"] = unfinished
                tg.cancel_scope.cancel()
        server_after = await control(port, "GET", wire.CONTROL_STATS)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    ttfc = [x for x in tally.first if not math.isnan(x)]
    return {
        "client": client,
        "flavour": route,
        "n": n,
        "k": k,
        "ok": tally.ok,
        "failures": sum(tally.failures.values()),
        "failure_kinds": dict(tally.failures),
        "failure_examples": tally.examples,
        "open_timed_out": open_timed_out,
        "chunks": tally.chunks,
        "stream_chunks": tally.chunks - opened_with_first,
        "open_wall_s": t1 - t0,
        "open_cpu_s": c1 - c0,
        "stream_wall_s": t3 - t2,
        "stream_cpu_s": c3 - c2,
        "window_wall_s": t3 - t0,
        "ttfc_p50_ms": percentile(ttfc, 0.50) * 1e3,
        "ttfc_p99_ms": percentile(ttfc, 0.99) * 1e3,
        "ttfc_max_ms": max(ttfc, default=math.nan) * 1e3,
        "rss_start_kib": rss_start,
        "rss_base_kib": rss_base,
        "rss_idle_kib": rss_idle,
        "rss_load_kib": max(load_peak, rss_idle),
        "maxrss_kib": usage.ru_maxrss,
        "machine_busy_pct": _share(m0, m3, 0),
        "machine_softirq_pct": _share(m0, m3, 1),
        "server_cpu_s": server_after["cpu_s"] - server_before["cpu_s"],
        "server_chunks": server_after["chunks_sent"] - server_before["chunks_sent"],
        # Requests in the window besides the release and the closing stats call: N per IDE
        # run (one POST each), 2 N per web run; more means token or model-list fetches.
        "server_requests": server_after["requests"] - server_before["requests"] - 2,
        "server_token_exchanges": server_after.get("token_exchanges", 0)
        - server_before.get("token_exchanges", 0),
        "server_model_lists": server_after.get("model_lists", 0)
        - server_before.get("model_lists", 0),
        "server_late_ticks": server_after["late_ticks"] - server_before["late_ticks"],
        "server_max_connections": server_after["max_connections"],
        "server_loop": server_after["loop"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_harness")
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--route", choices=wire.ROUTES, default="web")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--open-timeout", type=float, default=60.0)
    parser.add_argument("--stream-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    raise_fd_limit()
    result = anyio.run(
        measure,
        args.client,
        args.route,
        args.port,
        args.n,
        args.k,
        args.open_timeout,
        args.stream_timeout,
        backend=args.backend,
    )
    result["backend"] = args.backend
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
