"""End-to-end streaming: N concurrent conversations in one process, copilot-anyio beside its peers.

A fast server (:mod:`benchmarks.e2e_server`) runs in a process of its own and streams, for
each conversation, ``k`` text deltas ``interval`` apart. ``--route web`` (the default): the web
token once, then per conversation a thread POST and the streaming message POST. ``--route ide``:
the GitHub token exchanged once (and, for copilot-anyio, the model list read once), then per
conversation one streaming ``POST /chat/completions`` in Copilot's chunk shape. Each client runs in a fresh
subprocess (:mod:`benchmarks.e2e_harness`), so the CPU time and memory it reports are its own,
and opens ``n`` conversations at once; every text is checked against the server's deterministic
one. The clients take turns in one run, their order rotated at each repetition, and the
figures are the median over repetitions.

Per client: wall chunks/s while streaming, and how much longer than the paced ideal streaming
took ("slow"); CPU µs per chunk, overall and while streaming only; CPU µs per conversation to
open (connect, thread POST, message POST, first delta); time to first chunk (TTFC) from the
moment all ``n`` were started, p50 and p99; RSS per stream with all ``n`` open and idle, and at
the peak under load; failures; the server's CPU share over the same window (well under 100 %
means it was not the bottleneck). Ratios against aiohttp and against the floor (raw AnyIO
sockets, on the same event loop) follow.

CPU time is the robust figure on a shared machine; wall figures move with other processes.

Usage: ``python -m benchmarks e2e [--quick] [--route web|ide] [--n 1000,5000] [--k 50] [--repeats 3]
[--clients copilot-anyio,aiohttp] [--backends asyncio,trio] [--output FILE] [--baseline FILE]``;
``--baseline`` prints this run ÷ an earlier JSON (same N and clients) after the tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import e2e_wire as wire
from .e2e_clients import CLIENTS

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
BACKENDS = ("asyncio", "trio")
_PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)

#: Derived per-run figures: (key, column title, format, lower is better).
COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("failures", "fail", "{:.0f}", True),
    ("chunks_per_s", "chunks/s", "{:,.0f}", False),
    ("slowdown", "slow×", "{:.2f}", True),
    ("cpu_us_per_chunk", "CPU µs/chunk", "{:.1f}", True),
    ("stream_us_per_chunk", "stream µs/chunk", "{:.1f}", True),
    ("open_us_per_conv", "open µs/conv", "{:.0f}", True),
    ("ttfc_p50_ms", "TTFC p50 ms", "{:.0f}", True),
    ("ttfc_p99_ms", "TTFC p99 ms", "{:.0f}", True),
    ("idle_kib_per_stream", "idle KiB/str", "{:.1f}", True),
    ("load_kib_per_stream", "load KiB/str", "{:.1f}", True),
    ("server_cpu_pct", "server CPU%", "{:.0f}", True),
    ("machine_busy_pct", "machine busy%", "{:.0f}", True),
)
RATIO_KEYS = (
    "cpu_us_per_chunk",
    "stream_us_per_chunk",
    "open_us_per_conv",
    "ttfc_p99_ms",
    "idle_kib_per_stream",
)


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


class ServerProcess:
    """The server subprocess: started with a free port, stopped by closing its stdin."""

    def __init__(self, k: int, interval: float, *, uvloop: bool = False) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.e2e_server",
            f"--k={k}",
            f"--interval={interval}",
        ]
        if uvloop:
            command.append("--uvloop")
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.close()
            raise SystemExit(f"the benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])

    def call(self, method: str, path: str) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_client(
    server: ServerProcess, client: str, backend: str, route: str, n: int, k: int, interval: float
) -> dict[str, Any]:
    # Generous bounds (a slow client is measured, not failed), yet every run ends by itself.
    open_timeout = 60 + n * 0.02
    stream_timeout = 60 + 3 * k * interval + n * 0.03
    server.call("POST", wire.CONTROL_ARM)
    command = [
        sys.executable,
        "-m",
        "benchmarks.e2e_harness",
        f"--client={client}",
        f"--backend={backend}",
        f"--route={route}",
        f"--port={server.port}",
        f"--n={n}",
        f"--k={k}",
        f"--open-timeout={open_timeout}",
        f"--stream-timeout={stream_timeout}",
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=_child_env(),
            capture_output=True,
            text=True,
            timeout=open_timeout + stream_timeout + 60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        server.call("POST", wire.CONTROL_RELEASE)
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return {
            "client": client,
            "backend": backend,
            "flavour": CLIENTS[client].route_for(route),
            "n": n,
            "k": k,
            "error": "timed out",
            "stderr": stderr[-2000:],
        }
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        server.call("POST", wire.CONTROL_RELEASE)
        return {
            "client": client,
            "backend": backend,
            "flavour": CLIENTS[client].route_for(route),
            "n": n,
            "k": k,
            "error": f"exit status {done.returncode}",
            "stderr": done.stderr[-2000:],
        }
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = elapsed
    if done.stderr.strip():
        result["stderr"] = done.stderr[-2000:]
    result.update(derive(result, interval))
    return result


def derive(r: dict[str, Any], interval: float) -> dict[str, float]:
    n, k = r["n"], r["k"]
    nan = float("nan")

    def div(a: float, b: float) -> float:
        return a / b if b else nan

    ideal = (k - 1) * interval
    return {
        "chunks_per_s": div(r["stream_chunks"], r["stream_wall_s"]),
        "slowdown": div(r["stream_wall_s"], ideal),
        "cpu_us_per_chunk": div(r["open_cpu_s"] + r["stream_cpu_s"], r["chunks"]) * 1e6,
        "stream_us_per_chunk": div(r["stream_cpu_s"], r["stream_chunks"]) * 1e6,
        "open_us_per_conv": div(r["open_cpu_s"], n) * 1e6,
        "idle_kib_per_stream": div(r["rss_idle_kib"] - r["rss_base_kib"], n),
        "load_kib_per_stream": div(r["rss_load_kib"] - r["rss_base_kib"], n),
        "server_cpu_pct": div(r["server_cpu_s"], r["window_wall_s"]) * 100,
        "server_us_per_chunk": div(r["server_cpu_s"], r["server_chunks"]) * 1e6,
        "machine_busy_pct": r.get("machine_busy_pct", nan),
    }


def _label(client: str, backend: str) -> str:
    return f"{client} ({backend})"


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Median of every figure over the repetitions, per client and backend."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_label.setdefault(_label(r["client"], r["backend"]), []).append(r)
    summary: dict[str, dict[str, Any]] = {}
    for label, group in by_label.items():
        good = [r for r in group if "error" not in r]
        entry: dict[str, Any] = {
            "client": group[0]["client"],
            "backend": group[0]["backend"],
            "flavour": group[0].get("flavour", "?"),
            "repetitions": len(group),
            "crashed_runs": len(group) - len(good),
        }
        for key in [c[0] for c in COLUMNS] + ["server_us_per_chunk", "ttfc_max_ms"]:
            values = [r[key] for r in good if r.get(key) == r.get(key)]  # drop NaN
            entry[key] = statistics.median(values) if values else float("nan")
        entry["failures"] = sum(r.get("failures", 0) for r in good) + entry["crashed_runs"]
        kinds: dict[str, int] = {}
        for r in good:
            for kind, count in r.get("failure_kinds", {}).items():
                kinds[kind] = kinds.get(kind, 0) + count
        entry["failure_kinds"] = kinds
        summary[label] = entry
    return summary


def _reference(
    summary: dict[str, dict[str, Any]], client: str, backend: str
) -> dict[str, Any] | None:
    return summary.get(_label(client, backend)) or summary.get(_label(client, "asyncio"))


def ratios(summary: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """client ÷ aiohttp and client ÷ floor (same event loop) for the cost figures."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for label, entry in summary.items():
        out[label] = {}
        for peer in ("aiohttp", "floor"):
            ref = _reference(summary, peer, entry["backend"])
            if ref is None:
                continue
            out[label][peer] = {
                key: entry[key] / ref[key] if ref[key] else float("nan") for key in RATIO_KEYS
            }
    return out


def _fmt(fmt: str, value: Any) -> str:
    if isinstance(value, float) and value != value:
        return "-"
    return fmt.format(value)


def print_tables(
    route: str, n: int, k: int, interval: float, summary: dict[str, dict[str, Any]]
) -> None:
    labels = list(summary)
    width = max(len(label) for label in labels) + 2
    print()
    print(
        f"{route} route, N = {n:,} conversations, K = {k} deltas {interval * 1e3:.0f} ms apart "
        f"(median of {max(e['repetitions'] for e in summary.values())})"
    )
    header = f"{'client':<{width}}{'flav':<5}" + "".join(
        f"{c[1]:>{max(9, len(c[1]) + 2)}}" for c in COLUMNS
    )
    print(header)
    for label in labels:
        entry = summary[label]
        row = f"{label:<{width}}{entry['flavour']:<5}"
        for key, title, fmt, _ in COLUMNS:
            row += f"{_fmt(fmt, entry[key]):>{max(9, len(title) + 2)}}"
        print(row)
    table = ratios(summary)
    titles = {
        "cpu_us_per_chunk": "CPU/chunk",
        "stream_us_per_chunk": "stream/chunk",
        "open_us_per_conv": "open/conv",
        "ttfc_p99_ms": "TTFC p99",
        "idle_kib_per_stream": "idle RSS",
    }
    print()
    print("ratios (client ÷ peer; below 1 is better than the peer):")
    print(
        f"{'client':<{width}}"
        + "".join(f"{titles[key] + ' ÷aio':>18}{'÷floor':>9}" for key in RATIO_KEYS)
    )
    for label in labels:
        row = f"{label:<{width}}"
        for key in RATIO_KEYS:
            for peer, w in (("aiohttp", 18), ("floor", 9)):
                value = table[label].get(peer, {}).get(key, float("nan"))
                row += f"{_fmt('{:.2f}', value):>{w}}"
        print(row)
    for label in labels:
        kinds = summary[label]["failure_kinds"]
        if kinds or summary[label]["crashed_runs"]:
            print(f"failures of {label}: {kinds} crashed runs: {summary[label]['crashed_runs']}")


def versus_baseline(
    summaries: dict[str, Any], baseline: dict[str, Any]
) -> dict[str, dict[str, dict[str, float]]]:
    """now ÷ baseline for the cost figures, per N and client present in both runs; printed."""
    old_meta = baseline.get("meta", {})
    print()
    print(
        f"now ÷ baseline (commit {old_meta.get('commit', '?')}, {old_meta.get('date', '?')}; "
        "below 1 is better now):"
    )
    out: dict[str, dict[str, dict[str, float]]] = {}
    for n, current in summaries.items():
        before = baseline.get("summary", {}).get(n)
        if before is None:
            continue
        print(f"  N = {int(n):,}")
        print(f"  {'client':<26}" + "".join(f"{key:>22}" for key in RATIO_KEYS))
        out[n] = {}
        for label, entry in current["figures"].items():
            prev = before["figures"].get(label)
            if prev is None:
                continue
            row = {key: entry[key] / prev[key] if prev[key] else float("nan") for key in RATIO_KEYS}
            out[n][label] = row
            print(
                f"  {label:<26}" + "".join(f"{_fmt('{:.2f}', row[key]):>22}" for key in RATIO_KEYS)
            )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks e2e",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="N = 1,000 and one repetition")
    parser.add_argument(
        "--route",
        "--flavour",
        choices=wire.ROUTES,
        default="web",
        help="web: thread + message POSTs (openai runs its IDE route); ide: /chat/completions",
    )
    parser.add_argument(
        "--n", default=None, help="comma-separated conversation counts (1000,5000,10000)"
    )
    parser.add_argument("--k", type=int, default=50, help="text deltas per conversation (50)")
    parser.add_argument(
        "--interval", type=float, default=0.02, help="seconds between deltas (0.02)"
    )
    parser.add_argument("--repeats", type=int, default=None, help="repetitions (3; 1 with --quick)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help=f"of {','.join(CLIENTS)}")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="for the AnyIO clients")
    parser.add_argument(
        "--no-skip",
        action="store_true",
        help="run httpx-sse and openai at every N (by default only up to N = 1,000: they are slow)",
    )
    parser.add_argument(
        "--server-uvloop", action="store_true", help="run the server on uvloop (if installed)"
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON file (benchmarks/results/)")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="an earlier JSON to print now ÷ then against"
    )
    args = parser.parse_args(argv)

    ns = [int(x) for x in (args.n or ("1000" if args.quick else "1000,5000,10000")).split(",")]
    repeats = args.repeats or (1 if args.quick else 3)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    for c in clients:
        if c not in CLIENTS:
            parser.error(f"unknown client {c!r}; choose from {', '.join(CLIENTS)}")
    plan = [(c, b) for c in clients for b in CLIENTS[c].backends if b in backends]
    if not plan:
        parser.error("no client runs on the backends chosen")
    if args.k < 2:
        parser.error("--k must be at least 2")

    # Read before the run, so that a missing or unreadable file fails at once.
    baseline = json.loads(args.baseline.read_text()) if args.baseline is not None else {}
    today = dt.date.today().isoformat()
    distributions = sorted({d for c in clients for d in CLIENTS[c].distributions} | {"trio"})
    meta: dict[str, Any] = {
        "date": today,
        "commit": _git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "route": args.route,
        "n": ns,
        "k": args.k,
        "interval_s": args.interval,
        "repeats": repeats,
        "versions": {d: _version(d) for d in distributions},
        "clock": "process CPU time (user + system) for CPU figures; perf_counter for wall",
    }
    print(
        f"end-to-end streaming, {args.route} route, {today}, commit {meta['commit']}; Python {meta['python']} on "
        f"{meta['platform']}, {meta['cpu_count']} CPUs, load average "
        f"{' '.join(f'{x:.2f}' for x in meta['loadavg_start'])}"
    )
    print("versions: " + ", ".join(f"{d} {v}" for d, v in meta["versions"].items()))
    runs: list[dict[str, Any]] = []
    summaries: dict[str, Any] = {}
    for n in ns:
        server = ServerProcess(args.k, args.interval, uvloop=args.server_uvloop)
        try:
            runnable = [(c, b) for c, b in plan if args.no_skip or _fits(c, n)]
            for c in dict.fromkeys(c for c, _ in plan if (c, "asyncio") not in runnable):
                print(f"  N={n:,} {c}: skipped ({CLIENTS[c].why_skipped}; --no-skip runs it)")
            for rep in range(repeats):
                shift = rep % len(runnable)
                order = runnable[shift:] + runnable[:shift]
                for client, backend in order:
                    result = run_client(
                        server, client, backend, args.route, n, args.k, args.interval
                    )
                    result["repetition"] = rep
                    runs.append(result)
                    _progress(result)
        finally:
            server.close()
        summary = summarize([r for r in runs if r["n"] == n])
        summaries[str(n)] = {"figures": summary, "ratios": ratios(summary)}
        print_tables(args.route, n, args.k, args.interval, summary)
    meta["loadavg_end"] = os.getloadavg()
    print()
    print(
        "CPU figures are the client process's own CPU time; wall figures (chunks/s, slow×, TTFC) "
        f"move with other load (load average at the end: "
        f"{' '.join(f'{x:.2f}' for x in meta['loadavg_end'])})."
    )
    report: dict[str, Any] = {"meta": meta, "summary": summaries, "runs": runs}
    if args.baseline is not None:
        report["versus_baseline"] = versus_baseline(summaries, baseline)
    output = args.output or RESULTS / f"e2e-{args.route}-{today}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {output}")
    return 0


def _fits(client: str, n: int) -> bool:
    limit = CLIENTS[client].max_n
    return limit is None or n <= limit


def _progress(r: dict[str, Any]) -> None:
    label = _label(r["client"], r["backend"])
    if "error" in r:
        print(f"  N={r['n']:,} {label}: {r['error']}\n{r.get('stderr', '')}", flush=True)
        return
    print(
        f"  N={r['n']:,} {label}: {r['process_wall_s']:.1f} s, {r['failures']} failures, "
        f"{r['cpu_us_per_chunk']:.1f} CPU µs/chunk, server CPU {r['server_cpu_pct']:.0f} %",
        flush=True,
    )
