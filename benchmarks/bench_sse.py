"""SSE decoding throughput: copilot-anyio beside its peers, same bytes, same chunks, same run.

For each corpus (see :mod:`benchmarks.corpus`) and each chunking (64 B, 1 KiB, 16 KiB, one
event per chunk) every decoder first decodes the stream once and is compared with the
corpus's expected ``(event, data)`` pairs; a peer that differs is reported "not comparable"
and not timed. Then each decoder is timed ``--repeats`` times, the decoders taking turns within
each repeat so that noise from other processes spreads evenly, and the median is reported
(the minimum is kept in the JSON too). The garbage collector is off while a run is timed, as
``timeit`` does. The clock is the process's CPU time by default, so that other processes on a
shared machine do not count (``--clock wall`` for elapsed time).

Ratios (ours / peer) from one run are the figures that travel between machines; absolute
MB/s do not. Results are printed and written to ``benchmarks/results/sse.json``.

Usage: ``python -m benchmarks [--quick] [--repeats N] [--events N] [--seed N] [--clock cpu|wall]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .corpus import CORPORA, Corpus, chunk_fixed, chunk_per_event, make_corpus
from .peers import OURS, Peer, available_peers, limit_reference

__all__ = ["main"]

CHUNKINGS: tuple[tuple[str, int | None], ...] = (
    ("64 B", 64),
    ("1 KiB", 1024),
    ("16 KiB", 16384),
    ("per event", None),
)

# The project's goals: minimum ratio ours/peer for (peer, chunking).
TARGETS: dict[tuple[str, str], float] = {
    ("ld-eventsource", "1 KiB"): 1.5,
    ("ld-eventsource", "16 KiB"): 1.5,
    ("ld-eventsource", "64 B"): 1.2,
    ("ld-eventsource", "per event"): 1.2,
    ("httpx-sse", "1 KiB"): 2.0,
    ("httpx-sse", "16 KiB"): 2.0,
}

RESULTS = Path(__file__).parent / "results" / "sse.json"


def _chunks(corpus: Corpus, size: int | None) -> list[bytes]:
    return chunk_per_event(corpus) if size is None else chunk_fixed(corpus.stream, size)


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def _time_once(peer: Peer, chunks: Sequence[bytes], clock: Callable[[], float]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = clock()
        peer.run(chunks)
        return clock() - start
    finally:
        gc.enable()


def _comparable(peer: Peer, corpus: Corpus, chunks: Sequence[bytes]) -> tuple[bool, str]:
    try:
        events = peer.run(chunks)
    except Exception as exc:  # a peer failing on valid input is a finding, not a crash
        return False, f"raised {type(exc).__name__}: {exc}"
    if peer.name.startswith("limit"):
        ok = len(events) == len(corpus.expected)
        return ok, "" if ok else f"{len(events)} blocks for {len(corpus.expected)} events"
    pairs = peer.pairs(events)
    if pairs == corpus.expected:
        return True, ""
    if len(pairs) != len(corpus.expected):
        return False, f"{len(pairs)} events instead of {len(corpus.expected)}"
    first = next(i for i, (a, b) in enumerate(zip(pairs, corpus.expected, strict=True)) if a != b)
    return False, f"event {first} differs: {pairs[first]!r:.80} != {corpus.expected[first]!r:.80}"


def _fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def run(n_events: int, repeats: int, seed: int, clock: str) -> dict[str, Any]:
    peers = available_peers()
    versions = {p.name: p.version for p in [OURS, *peers]}
    meta: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "events_per_corpus": n_events,
        "repeats": repeats,
        "statistic": "median",
        "clock": clock,
        "seed": seed,
        "versions": versions,
    }
    print(
        f"Python {meta['python']} ({meta['implementation']}) on {meta['platform']}, "
        f"{meta['cpu_count']} CPUs; {n_events} events per corpus, median of {repeats}, "
        f"{clock} time"
    )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    cells: list[dict[str, Any]] = []
    for corpus_name in CORPORA:
        corpus = make_corpus(corpus_name, n_events, seed)
        limit = limit_reference(b"\r\n\r\n" if corpus_name.endswith("crlf") else b"\n\n")
        contenders = [OURS, *peers, limit]
        for label, size in CHUNKINGS:
            chunks = _chunks(corpus, size)
            cell: dict[str, Any] = {
                "corpus": corpus_name,
                "description": corpus.description,
                "chunking": label,
                "bytes": len(corpus.stream),
                "events": len(corpus.expected),
                "chunks": len(chunks),
                "results": {},
            }
            timed: list[Peer] = []
            for peer in contenders:
                ok, why = _comparable(peer, corpus, chunks)
                cell["results"][peer.name] = {"comparable": ok, "note": why}
                if ok:
                    timed.append(peer)
                elif peer is OURS:
                    raise SystemExit(f"copilot-anyio decoded {corpus_name}/{label} wrong: {why}")
            times: dict[str, list[float]] = {p.name: [] for p in timed}
            for _ in range(repeats):
                for peer in timed:
                    times[peer.name].append(_time_once(peer, chunks, CLOCKS[clock]))
            ours = statistics.median(times[OURS.name])
            for peer in timed:
                median = statistics.median(times[peer.name])
                cell["results"][peer.name].update(
                    median_s=median,
                    min_s=min(times[peer.name]),
                    mb_per_s=len(corpus.stream) / median / 1e6,
                    events_per_s=len(corpus.expected) / median,
                    ratio=median / ours,  # ours / peer, in throughput
                )
            cells.append(cell)
            _print_cell(cell, [p.name for p in contenders])
    return {"meta": meta, "cells": cells}


def _print_cell(cell: dict[str, Any], names: list[str]) -> None:
    if cell["chunking"] == CHUNKINGS[0][0]:
        print()
        print(
            f"{cell['corpus']}: {cell['description']}; {cell['bytes'] / 1e6:.1f} MB, "
            f"{cell['events']} events"
        )
        header = f"  {'chunking':<10}" + "".join(f"{name:>22}" for name in names)
        print(header)
    parts = [f"  {cell['chunking']:<10}"]
    for name in names:
        r = cell["results"][name]
        if not r["comparable"]:
            parts.append(f"{'not comparable':>22}")
        elif name == OURS.name:
            text = f"{r['mb_per_s']:.0f} MB/s {_fmt_rate(r['events_per_s'])} ev/s"
            parts.append(f"{text:>22}")
        else:
            parts.append(f"{r['mb_per_s']:>7.0f} MB/s {r['ratio']:>6.2f}x")
    print("".join(parts), flush=True)


def _print_summary(report: dict[str, Any]) -> bool:
    print()
    print("ratio ours/peer (throughput), by corpus and chunking:")
    peers = [n for n in report["meta"]["versions"] if n != OURS.name]
    print(f"  {'corpus':<12}{'chunking':<11}" + "".join(f"{p:>16}" for p in peers))
    all_met = True
    misses: list[str] = []
    for cell in report["cells"]:
        row = f"  {cell['corpus']:<12}{cell['chunking']:<11}"
        for p in peers:
            r = cell["results"].get(p)
            if r is None or not r["comparable"]:
                row += f"{'n/c':>16}"
                continue
            target = TARGETS.get((p, cell["chunking"]))
            text = f"{r['ratio']:.2f}x"
            if target is not None:
                met = r["ratio"] >= target
                text += "   ok" if met else " MISS"
                if not met:
                    all_met = False
                    misses.append(
                        f"{cell['corpus']} {cell['chunking']} vs {p}: {r['ratio']:.2f}x < {target}x"
                    )
            else:
                text += "     "
            row += f"{text:>16}"
        print(row)
    print()
    print(
        "targets: >=1.5x ld-eventsource and >=2x httpx-sse at 1 KiB and 16 KiB; "
        ">=1.2x ld-eventsource at 64 B and per event"
    )
    print("all targets met" if all_met else "targets missed:\n  " + "\n  ".join(misses))
    return all_met


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="2,000 events, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per cell (7)")
    parser.add_argument("--events", type=int, default=None, help="events per corpus (20,000)")
    parser.add_argument("--seed", type=int, default=2025, help="corpus seed")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this process's CPU time (default; robust on a shared machine), wall: elapsed",
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args(argv)
    n_events = args.events or (2_000 if args.quick else 20_000)
    repeats = args.repeats or (3 if args.quick else 7)
    report = run(n_events, repeats, args.seed, args.clock)
    report["all_targets_met"] = _print_summary(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {args.output}")
    return 0
