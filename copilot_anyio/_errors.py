"""The exceptions copilot-anyio raises, and only those.

Which one do I catch? ::

    CopilotError                          base of everything below; never raised bare
    ├── UsageError                        the caller misused the API (also a RuntimeError)
    ├── CredentialsError                  no credentials were given or found
    ├── TransportError                    no usable HTTP response came back
    │   ├── ConnectError
    │   ├── ConnectTimeout
    │   ├── ReadError
    │   ├── ReadTimeout
    │   ├── WriteError
    │   └── PoolTimeout
    ├── ProtocolError
    │   ├── LocalProtocolError            we broke the protocol: a bug in copilot-anyio
    │   └── RemoteProtocolError           the peer sent something we cannot read
    │       ├── EventTooLarge             one SSE event outgrew ``max_event_size``
    │       └── UnexpectedResponseError   a page or JSON where a stream was expected
    ├── StreamError                       a stream began but did not complete; ``.partial_text``
    │   ├── IncompleteStreamError         the body ended cleanly without the terminal event
    │   ├── StreamStalledError            no event for longer than the idle timeout
    │   ├── StreamInterruptedError        the connection broke mid-stream
    │   ├── StreamServerError             the server reported an error inside the stream
    │   └── MalformedEventError           an event could not be read (it may have held text)
    ├── APIStatusError                    an HTTP error status; ``.status_code .body .request_id``
    │   ├── BadRequestError               400
    │   ├── AuthenticationError           401
    │   ├── QuotaExceededError            402, ``.retry_after``
    │   ├── PermissionDeniedError         403
    │   ├── NotFoundError                 404
    │   ├── RateLimitError                429 (and 503 with ``retry-after``), ``.retry_after``
    │   └── ServerError                   5xx
    └── TokenExchangeError                the long-lived credential was refused: sign in again
        └── WebSessionInvalidError        the github.com session cookies no longer work

Cancellation is never turned into one of these, and a timeout never reads as cancellation.
No message, repr or attribute here ever holds a token or a cookie: the I/O layer redacts
request headers before it builds an error, and bodies are the server's, not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "ConnectTimeout",
    "CopilotError",
    "CredentialsError",
    "EventTooLarge",
    "IncompleteStreamError",
    "LocalProtocolError",
    "MalformedEventError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolTimeout",
    "ProtocolError",
    "QuotaExceededError",
    "RateLimitError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ServerError",
    "StreamError",
    "StreamInterruptedError",
    "StreamServerError",
    "StreamStalledError",
    "TokenExchangeError",
    "TransportError",
    "UnexpectedResponseError",
    "UsageError",
    "WebSessionInvalidError",
    "WriteError",
]


class CopilotError(Exception):
    """Base class of every error copilot-anyio raises on purpose."""


class UsageError(CopilotError, RuntimeError):
    """The API was used in a way it does not support (e.g. iterating a closed stream)."""


class CredentialsError(CopilotError):
    """No credentials were given and none could be found where the client looks for them."""


# --- transport -------------------------------------------------------------------------------


class TransportError(CopilotError):
    """No usable HTTP response: the connection could not be made, or broke before a status."""


class ConnectError(TransportError):
    """The TCP/TLS connection could not be established."""


class ConnectTimeout(TransportError):
    """Establishing the connection took longer than ``Timeouts.connect``."""


class ReadError(TransportError):
    """Reading from the connection failed."""


class ReadTimeout(TransportError):
    """No response headers arrived within ``Timeouts.first_byte``."""


class WriteError(TransportError):
    """Sending the request failed."""


class PoolTimeout(TransportError):
    """No connection became free in the pool in time."""


# --- protocol --------------------------------------------------------------------------------


class ProtocolError(CopilotError):
    """A protocol rule was broken, by us (Local) or by the peer (Remote)."""


class LocalProtocolError(ProtocolError):
    """copilot-anyio broke the protocol: this is a bug, please report it."""


class RemoteProtocolError(ProtocolError):
    """The server sent bytes or JSON that cannot be interpreted."""


class EventTooLarge(RemoteProtocolError):
    """A single server-sent event grew past the decoder's ``max_event_size`` (in bytes)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"server-sent event of at least {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit
        #: the text of a chat reply that arrived before the oversized event (set by the reader)
        self.partial_text = ""


class UnexpectedResponseError(RemoteProtocolError):
    """A successful status, but not the event stream that was asked for (a login page, a JSON
    body, an empty reply).

    Attributes:
        status_code: the HTTP status.
        content_type: the ``Content-Type`` the server sent ("" when none).
        body: the start of the body as text (at most a few hundred characters).
    """

    def __init__(self, message: str, *, status_code: int, content_type: str, body: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.content_type = content_type
        self.body = body


# --- streams ---------------------------------------------------------------------------------


class StreamError(CopilotError):
    """A response stream started but did not complete.

    ``partial_text`` holds every text delta that was received before the failure, so no
    token of text is lost even when the stream is.
    """

    def __init__(self, message: str, *, partial_text: str = "") -> None:
        super().__init__(message)
        self.partial_text = partial_text


class IncompleteStreamError(StreamError):
    """The body ended cleanly, but without the terminal event (``complete`` / ``[DONE]``)."""


class StreamStalledError(StreamError):
    """No event arrived for longer than the idle timeout (keep-alive comments do not count)."""


class StreamInterruptedError(StreamError):
    """The connection broke in the middle of the stream."""


class MalformedEventError(StreamError):
    """An event's data could not be read, even leniently. It may have carried text, so the
    stream ends here (with ``partial_text``) rather than report a success that lost some."""


class StreamServerError(StreamError):
    """The server reported an error inside the stream (an ``error`` object or event)."""

    def __init__(self, message: str, *, partial_text: str = "", code: str | None = None) -> None:
        super().__init__(message, partial_text=partial_text)
        self.code = code


# --- HTTP status -----------------------------------------------------------------------------


class APIStatusError(CopilotError):
    """The server answered with an error status.

    Attributes:
        status_code: the HTTP status.
        headers: response headers (lower-cased names).
        body: the response body as text (the server's words; never our credentials).
        code: the machine-readable ``code`` from a JSON error body, when there is one.
        request_id: ``x-request-id`` or ``x-github-request-id``, when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}: {self.message}{rid}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"message={self.message!r}, code={self.code!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was refused as malformed or unsupported (never retried)."""


class AuthenticationError(APIStatusError):
    """401: the short-lived token was refused even after one refresh."""


class _RetryAfterMixin:
    retry_after: float | None


class QuotaExceededError(APIStatusError, _RetryAfterMixin):
    """402: the account's quota is used up. ``retry_after`` is seconds until it resets, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermissionDeniedError(APIStatusError):
    """403: the account or integration may not use this endpoint or model."""


class NotFoundError(APIStatusError):
    """404: the path, thread or model does not exist (or the thread API is disabled)."""


class RateLimitError(APIStatusError, _RetryAfterMixin):
    """429 (or 503 with ``retry-after``). ``retry_after`` is seconds to wait, if the server said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed."""


# --- credentials -----------------------------------------------------------------------------


class TokenExchangeError(CopilotError):
    """The long-lived credential could not be exchanged for a short-lived token.

    This means "your GitHub sign-in is bad", not "Copilot is down": retrying will not help.
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class WebSessionInvalidError(TokenExchangeError):
    """github.com refused the session cookies (expired, signed out, or not a Copilot user)."""
