"""``python -m benchmarks [sse|e2e] [options]``: the SSE decoding benchmark (the default, see
:mod:`benchmarks.bench_sse`) or the end-to-end streaming one (:mod:`benchmarks.bench_end_to_end`).
"""

from __future__ import annotations

import sys


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] == "e2e":
        from .bench_end_to_end import main as e2e

        return e2e(argv[1:])
    if argv and argv[0] == "sse":
        argv = argv[1:]
    from .bench_sse import main as sse

    return sse(argv)


raise SystemExit(_dispatch(sys.argv[1:]))
