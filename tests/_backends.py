"""Which AnyIO backends this test run covers (``COPILOT_ANYIO_BACKENDS``, default both)."""

from __future__ import annotations

import os

BACKENDS: tuple[str, ...] = tuple(
    b.strip() for b in os.environ.get("COPILOT_ANYIO_BACKENDS", "asyncio,trio").split(",") if b
)
