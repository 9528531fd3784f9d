"""``python -m benchmarks [facade] ...``: the SSE decoding benchmark (:mod:`benchmarks.bench_sse`)
by default; ``facade`` runs :mod:`benchmarks.bench_facade`."""

from __future__ import annotations

import sys

if sys.argv[1:2] == ["facade"]:
    from .bench_facade import main as facade_main

    raise SystemExit(facade_main(sys.argv[2:]))

from .bench_sse import main

raise SystemExit(main())
