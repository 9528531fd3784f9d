"""Integration tests: no blocking call from the client on the event loop.

blockbuster patches blocking functions (file and socket I/O, ``time.sleep``, …) so that calling
one from code in ``copilot_anyio`` while an asyncio loop runs raises ``BlockingError``. It watches
asyncio only, so the fixture is active on the asyncio half of the run. The emulator is excluded:
it is test infrastructure, and its first request imports Hypercorn (imports read files).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from blockbuster import blockbuster_ctx


@pytest.fixture(autouse=True)
def _no_blocking_calls(request: pytest.FixtureRequest) -> Iterator[None]:
    backend = getattr(getattr(request.node, "callspec", None), "params", {}).get("anyio_backend")
    if backend != "asyncio":
        yield
        return
    with blockbuster_ctx(["copilot_anyio"], excluded_modules=["copilot_anyio.emulator"]):
        yield
