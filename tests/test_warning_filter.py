"""The pytest warning filter hides only the HTTP stack's nested generators, by full name.

pytest applies the configured ``filterwarnings`` around every test, so warning here behaves as
a generator finalised during a test would: ignored, or raised as an error.
"""

from __future__ import annotations

import warnings

import pytest

HIDDEN = (
    "httpx._models.Response.aiter_raw",
    "httpx._client.BoundAsyncStream.__aiter__",
    "httpx._transports.default.AsyncResponseStream.__aiter__",
    "httpcore._async.connection_pool.PoolByteStream.__aiter__",
    "httpcore._async.http11.HTTP11ConnectionByteStream.__aiter__",
    "httpcore._async.http11.AsyncHTTP11Connection._receive_response_body",
)
STILL_ERRORS = (
    "copilot_anyio._compat.GithubCopilot.create_async_generator",
    "copilot_anyio._client.CopilotClient.__asynccontextmanager__",
    "copilot_anyio._groups.task_group",
    "copilot_anyio.emulator._server.serve_emulator",
    # the one httpx generator the library starts itself, and closes
    "httpx._models.Response.aiter_bytes",
    # look-alikes
    "httpx._models.Response.aiter_raw_copilot_anyio",
    "httpx_x._models.Response.aiter_raw",
    "tests.httpx._models.Response.aiter_raw",
)


def _collected(name: str) -> str:
    # trio's wording (trio/_core/_asyncgens.py)
    return (
        f"Async generator {name!r} was garbage collected before it had been exhausted. "
        "Surround its use in 'async with aclosing(...):' to ensure that it gets cleaned up as "
        "soon as you're done using it."
    )


@pytest.mark.parametrize("name", HIDDEN)
def test_the_http_stacks_nested_generators_are_ignored(name: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        # record=True keeps the configured filters; "ignore" drops the warning before recording
        warnings.warn(_collected(name), ResourceWarning, stacklevel=1)
    assert caught == []


@pytest.mark.parametrize("name", STILL_ERRORS)
def test_any_other_generator_left_open_is_an_error(name: str) -> None:
    with pytest.raises(ResourceWarning, match="garbage collected"):
        warnings.warn(_collected(name), ResourceWarning, stacklevel=1)
