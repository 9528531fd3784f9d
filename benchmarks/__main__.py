"""``python -m benchmarks [sse|e2e|facade|ide-chunks] [options]``: the SSE decoding benchmark (the
default, :mod:`benchmarks.bench_sse`), the end-to-end streaming one
(:mod:`benchmarks.bench_end_to_end`), the facade against the client
(:mod:`benchmarks.bench_facade`) or the cost of one IDE chunk
(:mod:`benchmarks.bench_ide_chunks`)."""

from __future__ import annotations

import sys


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "e2e":
        from .bench_end_to_end import main as e2e

        return e2e(argv[1:])
    if argv and argv[0] == "facade":
        from .bench_facade import main as facade

        return facade(argv[1:])
    if argv and argv[0] == "ide-chunks":
        from .bench_ide_chunks import main as ide_chunks

        return ide_chunks(argv[1:])
    if argv and argv[0] == "sse":
        argv = argv[1:]
    from .bench_sse import main as sse

    return sse(argv)


raise SystemExit(_dispatch(sys.argv[1:]))
