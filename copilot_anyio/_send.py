"""The send loop: every request of the client and of the facade goes through ``Sender.send``.

Theory of operation
-------------------
A request leaves its builder as plain data with no credential in it. ``Sender.send`` runs one
loop around the transport:

1. the request's ``Auth`` (if any) supplies a credential and adds it to a copy of the request
   (an ``Authorization`` header, or the github.com cookies);
2. the transport sends it; a status of 300 or more becomes its typed ``APIStatusError`` (a
   redirect is never followed: it could carry the credential to another host);
3. a 401 tells the auth that its credential was refused; the auth drops it, and the request is
   sent once more with a fresh one — once, and only here, before any byte of a reply has
   reached the caller;
4. any other failure is put to ``RetryPolicy.delay_for``, which says how long to wait before
   the next attempt, or to raise now (a POST that may have reached the server is never re-sent).

The decisions are pure (``_retry``, ``_status``); this module only waits, sends and closes.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Final, Protocol

import anyio

from ._config import Timeouts
from ._errors import (
    AuthenticationError,
    CopilotError,
    LocalProtocolError,
    RemoteProtocolError,
    WrongHostError,
)
from ._http import Request, Response, unsafe_header
from ._retry import RetryPolicy
from ._status import error_from_response, unexpected_response
from ._transport import Transport, close_response, read_body, read_error_body

__all__ = ["Auth", "BearerAuth", "Sender", "TokenSource"]


#: What the send loop answers by dropping the credential and sending once more with a new one.
_REFUSED: Final = (AuthenticationError, WrongHostError)


class TokenSource(Protocol):
    """Hands out a token, and is told when the server refused one."""

    async def get(self) -> str: ...

    def invalidate(self, value: str) -> None: ...


class Auth(Protocol):
    """Adds a credential to a request, and hears when the server refused it."""

    async def credential(self) -> str:
        """The credential to send now (fetching one first if needed)."""
        ...

    def apply(self, request: Request, credential: str) -> Request:
        """A copy of ``request`` carrying ``credential``."""
        ...

    def refused(self, credential: str) -> bool:
        """The server answered 401 to ``credential``: drop it. True when a retry may help."""
        ...


class BearerAuth:
    """``Authorization: <scheme> <token>`` with a token from a ``TokenSource``."""

    __slots__ = ("_refreshable", "_scheme", "_source")

    def __init__(
        self, source: TokenSource, scheme: str = "Bearer", *, refreshable: bool = True
    ) -> None:
        self._source = source
        self._scheme = scheme
        self._refreshable = refreshable

    def __repr__(self) -> str:
        return f"BearerAuth(scheme={self._scheme!r})"

    async def credential(self) -> str:
        return await self._source.get()

    def apply(self, request: Request, credential: str) -> Request:
        return request.with_headers({"Authorization": f"{self._scheme} {credential}"})

    def refused(self, credential: str) -> bool:
        self._source.invalidate(credential)
        return self._refreshable


class Sender:
    """Sends requests through one transport with auth, the 401 rule and the retry policy.

    Args:
        transport: what sends.
        retry: the retry policy.
        timeouts: ``first_byte`` also bounds reading a whole JSON or error body.
        now: Unix time, for ``retry-after`` dates.
        jitter: a number in [0, 1) per retry.
    """

    __slots__ = ("_jitter", "_now", "observers", "retry", "timeouts", "transport")

    def __init__(
        self,
        transport: Transport,
        *,
        retry: RetryPolicy,
        timeouts: Timeouts,
        now: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.transport = transport
        self.retry = retry
        self.timeouts = timeouts
        self._now = now
        self._jitter = jitter
        #: called with every response, errors included, before its body is read (quota headers)
        self.observers: list[Callable[[Response], None]] = []

    def __repr__(self) -> str:
        return f"Sender(transport={self.transport!r}, retry={self.retry!r})"

    async def send(self, request: Request, auth: Auth | None = None) -> Response:
        """The response to ``request`` (status below 300), its body unread: close it.

        Raises the typed ``APIStatusError`` for a status of 300 or more (after one fresh
        credential on 401), or the transport's error, once the retry policy gives up.
        """
        refused = False
        tries = 0
        while True:
            credential = None if auth is None else await auth.credential()
            sent = (
                request if auth is None or credential is None else auth.apply(request, credential)
            )
            bad = unsafe_header(sent.headers)
            if bad is not None:
                # Values are checked where they enter (arguments, token replies); this is the
                # last line, and it never repeats the value (it may be a credential).
                raise LocalProtocolError(
                    f"the {bad} header of {request.method} {_path(request.url)} holds characters "
                    "that cannot be sent in an HTTP header"
                )
            try:
                response = await self.transport.send(sent)
                for observe in self.observers:
                    observe(response)
                if response.status_code >= 300:
                    try:
                        raise await self._error(response)
                    finally:
                        await close_response(response)
                return response
            except _REFUSED:
                # 401: the credential was refused; 421: this host does not serve it (the next
                # credential comes with its own host). Either way: drop it, get another, once.
                if auth is None or credential is None or refused or not auth.refused(credential):
                    raise
                refused = True
            except CopilotError as exc:
                tries += 1
                delay = self.retry.delay_for(
                    exc, tries, jitter=self._jitter(), idempotent=request.idempotent
                )
                if delay is None:
                    raise
                await anyio.sleep(delay)

    async def open_stream(self, request: Request, auth: Auth | None = None) -> Response:
        """``send``, insisting on an event stream (body unread: close it).

        A success that is something else (a login page, a JSON body, an empty reply) raises
        UnexpectedResponseError with the status, the content type and the server's own words.
        A response without any ``Content-Type`` is given the benefit of the doubt.
        """
        response = await self.send(request, auth)
        content_type = response.content_type
        if not content_type or "text/event-stream" in content_type.lower():
            # The stream may stay open for minutes: it keeps what names the request, not its
            # body (a conversation's whole history, on the IDE flavour).
            response.request = replace(response.request, json=None)
            return response
        try:
            body = await read_error_body(response, within=self.timeouts.first_byte)
        finally:
            await close_response(response)
        what = f"{request.method} {_path(request.url)}"
        raise unexpected_response(response.status_code, content_type, body, what=what)

    async def send_json(self, request: Request, auth: Auth | None = None) -> Any:
        """Send, read the whole body, and return it decoded (None for an empty body).

        Raises RemoteProtocolError when a successful body is not JSON.
        """
        response = await self.send(request, auth)
        try:
            return await self.read_json(response)
        finally:
            await close_response(response)

    async def read_json(self, response: Response) -> Any:
        """The body of an open response as JSON (None when empty); bounded by ``first_byte``."""
        body = await read_body(response, within=self.timeouts.first_byte)
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            pass
        # Raised outside the except block: a JSONDecodeError keeps the whole body as ``.doc``
        # (a token reply holds the token), and ``from None`` would still keep it as __context__.
        raise RemoteProtocolError(
            f"{response.request.method} {_path(response.request.url)} answered "
            f"{response.status_code} with a body that is not JSON "
            f"({response.content_type or 'no content type'})"
        )

    async def _error(self, response: Response) -> CopilotError:
        body = await read_error_body(response, within=self.timeouts.first_byte)
        error = error_from_response(
            response.status_code, response.headers, body, now=self._now(), request=response.request
        )
        if error.request_id is None:
            # The server did not echo one: the id we sent still finds the request in its logs.
            error.request_id = response.request.headers.get("X-Request-Id")
        return error


def _path(url: str) -> str:
    """The path of ``url``, without scheme, host or query (messages name the resource only)."""
    rest = url.split("://", 1)[-1]
    path = rest[rest.find("/") :] if "/" in rest else "/"
    return path.split("?", 1)[0]
