"""HTTP requests and responses as plain data: the seam between the library and its transports.

A ``Request`` says what to send and never holds a credential: the send loop's auth adds the
``Authorization`` header (or the github.com cookies) to a copy just before it goes out. A
``Response`` is what every transport hands back: the status, the headers (names in lower case)
and the body as an async byte stream that must be closed. A transport's own errors never cross
this seam: its byte stream raises copilot-anyio's ``TransportError`` subclasses.

Pure: this module imports no event loop and no HTTP client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol, cast

__all__ = [
    "IDEMPOTENT_METHODS",
    "ByteStream",
    "Request",
    "Response",
    "header_safe",
    "unsafe_header",
]

#: Methods that may be sent twice without doing twice what they do (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})


def header_safe(value: str) -> bool:
    """Can ``value`` go into an HTTP header as it is? Printable ASCII only: no CR, LF or NUL
    (which would end the header or the request), nothing a server could read two ways."""
    return value.isascii() and value.isprintable()


def unsafe_header(headers: Mapping[str, str]) -> str | None:
    """The name of the first header whose name or value cannot be sent, else None."""
    for name, value in headers.items():
        if not (isinstance(cast(object, name), str) and isinstance(cast(object, value), str)):
            return str(name)
        if not header_safe(value) or not header_safe(name) or ":" in name or " " in name:
            return name if header_safe(name) else "(unprintable)"
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as data.

    Attributes:
        method, url: what to send where.
        headers: every header but the credential.
        json: the body, encoded as JSON by the transport (None: no body).
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None

    def __repr__(self) -> str:
        # Header values may be secrets once auth has added one: show only which are set.
        return f"Request({self.method} {self.url}, headers={sorted(self.headers)})"

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS

    def with_headers(self, extra: Mapping[str, str]) -> Request:
        """A copy with ``extra`` headers added (replacing any of the same name)."""
        return replace(self, headers={**self.headers, **extra})


class ByteStream(Protocol):
    """A response body: iterate for the bytes; ``aclose()`` releases the connection.

    Iterating raises ``TransportError`` subclasses (``ReadError`` …) when the connection fails.
    A body may also say, as attributes, that what is left of it is already in memory
    (``at_end``: iterating it waits for nothing) or that closing it has nothing left to do
    (``closed``); callers then skip the timeout they would otherwise put around it.
    """

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True, repr=False)
class Response:
    """An HTTP response whose body has not been read yet.

    Attributes:
        status_code: the HTTP status.
        headers: the response headers, names in lower case.
        stream: the body; closing it (``aclose``) is the owner's job, exactly once.
        request: the request as it was built (without its credential).
    """

    status_code: int
    headers: Mapping[str, str]
    stream: ByteStream
    request: Request

    def __repr__(self) -> str:
        return f"<Response {self.status_code} to {self.request.method} {self.request.url}>"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")
