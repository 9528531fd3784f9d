"""The transport protocol, and what every caller does with a response whatever sent it.

A transport turns a ``Request`` into a ``Response`` (status, headers, an unread body) and raises
only copilot-anyio's ``TransportError`` subclasses. It does not follow redirects, keep cookies,
add credentials or retry: the send loop (``_send.py``) decides all of that, once, for every
transport.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

import anyio

from .._errors import ReadError, ReadTimeout, TransportError
from .._http import ByteStream, Request, Response

__all__ = [
    "CLOSE_GRACE",
    "MAX_ERROR_BODY",
    "Transport",
    "close_response",
    "read_body",
    "read_error_body",
]

logger = logging.getLogger("copilot_anyio")

#: How long closing a response may take when the peer has gone quiet.
CLOSE_GRACE: Final = 5.0
#: The most of an error body that is read (the status is the error; the body only explains it).
MAX_ERROR_BODY: Final = 64 * 1024


class Transport(Protocol):
    """Sends requests. ``send`` returns once the response headers arrived; the body is unread.

    The returned response must be closed with ``close_response`` (or its ``stream.aclose()``)
    exactly once. ``aclose`` closes the transport's connections.
    """

    async def send(self, request: Request) -> Response: ...

    async def aclose(self) -> None: ...


async def close_response(response: Response) -> None:
    """Close a response even while being cancelled, without hanging on a dead peer."""
    if getattr(response.stream, "closed", False):
        return  # read to its end and given back: no close to wait for
    with anyio.move_on_after(CLOSE_GRACE, shield=True):
        try:
            await response.stream.aclose()
        except Exception as exc:  # a failed close must not cost the caller its outcome
            logger.debug("closing a response failed: %s", type(exc).__name__)


async def read_body(response: Response, *, within: float, limit: int | None = None) -> bytes:
    """The body of an open response (at most ``limit`` bytes), within ``within`` seconds.

    Raises ReadTimeout when the body stalls and the transport's error when it breaks.
    """
    if getattr(response.stream, "at_end", False):
        # The whole body came with the head (a small JSON reply): nothing to wait for.
        body = await _gather(response.stream, limit)
        return body if limit is None else body[:limit]
    with anyio.move_on_after(within) as scope:
        body = await _gather(response.stream, limit)
    if scope.cancelled_caught:
        raise ReadTimeout(
            f"the body of {response.request.method} {response.request.url} stalled for {within} s"
        )
    return body if limit is None else body[:limit]


async def _gather(stream: ByteStream, limit: int | None) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        chunks.append(chunk)
        size += len(chunk)
        if limit is not None and size >= limit:
            break
    return b"".join(chunks)


async def read_error_body(response: Response, *, within: float) -> str:
    """At most ``MAX_ERROR_BODY`` of an error response's body, as text; "" when it breaks."""
    try:
        body = await read_body(response, within=within, limit=MAX_ERROR_BODY)
    except (ReadError, ReadTimeout, TransportError):
        return ""  # the status is the error; a broken error body must not hide it
    return body.decode("utf-8", "replace")
