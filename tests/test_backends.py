"""The two-backend harness itself: every async test really runs on the backend it names."""

from __future__ import annotations

import pytest
import sniffio

pytestmark = pytest.mark.anyio


async def test_runs_on_the_named_backend(anyio_backend: str) -> None:
    assert sniffio.current_async_library() == anyio_backend
