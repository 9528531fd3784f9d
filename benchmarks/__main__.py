"""``python -m benchmarks``: the SSE decoding benchmark (see :mod:`benchmarks.bench_sse`)."""

from __future__ import annotations

from .bench_sse import main

raise SystemExit(main())
