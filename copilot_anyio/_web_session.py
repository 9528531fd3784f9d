"""The web flavour's requests, with token handling and retries, but no task of its own.

``WebSession`` is shared by ``CopilotClient`` (which adds a task group, background refresh and
memory-stream streaming) and by the ``GithubCopilot`` facade (an async generator, which must not
own a task group). It sends what ``_web_wire`` describes through ``_transport`` and applies two
policies around each request:

* a 401 from the API host drops the token that was refused, fetches a new one and tries once
  more (protocol.md §2.5, §6), which is safe because no byte of a reply has reached the caller;
* ``RetryPolicy`` decides about 5xx, 429 and network failures (protocol.md §5.4).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing, suppress
from typing import Any, Final, Protocol

import anyio
import httpx

from . import _web_wire as wire
from ._auth import DEFAULT_WEB_TOKEN_TTL, TokenLease, web_token_lease
from ._config import Hosts
from ._errors import (
    AuthenticationError,
    CopilotError,
    EventTooLarge,
    IncompleteStreamError,
    NotFoundError,
    PermissionDeniedError,
    RemoteProtocolError,
    StreamInterruptedError,
    StreamStalledError,
    WebSessionInvalidError,
)
from ._models import ChatChunk, ChatResult, ThreadInfo
from ._retry import RetryPolicy
from ._sse import SSEDecoder
from ._transport import HTTPTransport, map_httpx_error

_DRAIN_GRACE: Final = 1.0
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})

__all__ = ["StaticToken", "TokenSource", "WebSession", "iter_web_chunks"]


class TokenSource(Protocol):
    """Something that hands out a web token and can be told one was refused."""

    async def get(self) -> str: ...

    def invalidate(self, value: str) -> None: ...


class StaticToken:
    """A token given by the caller (``web_token=``): nothing to refresh it with."""

    def __init__(self, value: str) -> None:
        self._value = value
        self._refused = False

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def get(self) -> str:
        if self._refused:
            raise AuthenticationError(
                "the web token given was refused, and without cookies no other can be fetched",
                status_code=401,
            )
        return self._value

    def invalidate(self, value: str) -> None:
        self._refused = True


class WebSession:
    """Web-flavour requests over one transport, for one github.com account (its cookies)."""

    def __init__(
        self,
        transport: HTTPTransport,
        hosts: Hosts,
        *,
        cookies: Mapping[str, str],
        retry: RetryPolicy,
        web_token_ttl: float = DEFAULT_WEB_TOKEN_TTL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.transport = transport
        self.hosts = hosts
        self._cookies = dict(cookies)
        self.retry = retry
        self.web_token_ttl = web_token_ttl
        self._clock = clock

    def __repr__(self) -> str:
        # Cookie names only: their values are the user's github.com session.
        return f"WebSession(hosts={self.hosts!r}, cookies={sorted(self._cookies)})"

    async def fetch_web_token(self) -> TokenLease:
        """``POST chat/token`` with the session cookies; a lease on the token it returns.

        Raises WebSessionInvalidError when github.com refuses the cookies (401, 403, 404 or an
        HTML login page instead of JSON), which retrying cannot fix.
        """
        request = wire.web_token_request(self.hosts.github_url)
        try:
            _, payload = await self._with_retries(
                lambda: self.transport.request_json(request, cookies=self._cookies)
            )
        except (AuthenticationError, PermissionDeniedError, NotFoundError) as exc:
            raise WebSessionInvalidError(
                f"github.com refused the session cookies ({exc.status_code}): sign in again "
                "and export fresh cookies",
                status_code=exc.status_code,
                body=exc.body,
            ) from None
        except RemoteProtocolError:
            raise WebSessionInvalidError(
                "github.com answered chat/token with a page, not a token: the session cookies "
                "are not signed in"
            ) from None
        return web_token_lease(
            wire.parse_web_token(payload), self._clock(), ttl=self.web_token_ttl, payload=payload
        )

    async def _with_retries(self, attempt: Callable[[], Any], *, idempotent: bool = True) -> Any:
        tries = 0
        while True:
            try:
                return await attempt()
            except CopilotError as exc:
                tries += 1
                delay = self.retry.delay_for(
                    exc, tries, jitter=random.random(), idempotent=idempotent
                )
                if delay is None:
                    raise
            await anyio.sleep(delay)

    async def _authorized(self, tokens: TokenSource, build: Callable[[str], wire.Request]) -> Any:
        """Run ``build(token)`` through the transport with the 401-refresh-once rule."""
        token = await tokens.get()
        idempotent = build(token).method in _IDEMPOTENT
        try:
            return await self._with_retries(
                lambda: self.transport.request_json(build(token)), idempotent=idempotent
            )
        except AuthenticationError:
            tokens.invalidate(token)
            token = await tokens.get()
            return await self._with_retries(
                lambda: self.transport.request_json(build(token)), idempotent=idempotent
            )

    async def create_thread(self, tokens: TokenSource) -> str:
        """Create a thread; returns its id."""
        h = self.hosts
        _, payload = await self._authorized(
            tokens, lambda t: wire.create_thread_request(h.api_url, h.github_url, t)
        )
        return wire.parse_thread_id(payload)

    async def list_threads(self, tokens: TokenSource) -> list[ThreadInfo]:
        h = self.hosts
        _, payload = await self._authorized(
            tokens, lambda t: wire.list_threads_request(h.api_url, h.github_url, t)
        )
        return wire.parse_threads(payload)

    async def list_messages(self, tokens: TokenSource, thread_id: str) -> Any:
        """The thread's messages reply (``{"thread", "messages"}``) as decoded JSON."""
        h = self.hosts
        _, payload = await self._authorized(
            tokens, lambda t: wire.list_messages_request(h.api_url, h.github_url, t, thread_id)
        )
        return payload

    async def delete_thread(self, tokens: TokenSource, thread_id: str) -> None:
        h = self.hosts
        await self._authorized(
            tokens, lambda t: wire.delete_thread_request(h.api_url, h.github_url, t, thread_id)
        )

    def message_builder(
        self,
        *,
        thread_id: str,
        content: str,
        model: str,
        parent_message_id: str,
        streaming: bool = True,
    ) -> Callable[[str], wire.Request]:
        """The message POST of one turn as a function of the token (retries keep the same
        ``responseMessageID``, a fresh UUID4 per turn)."""
        hosts = self.hosts
        response_id = str(uuid.uuid4())

        def build(token: str) -> wire.Request:
            return wire.send_message_request(
                hosts.api_url,
                hosts.github_url,
                token,
                thread_id=thread_id,
                content=content,
                model=model,
                parent_message_id=parent_message_id,
                response_message_id=response_id,
                streaming=streaming,
            )

        return build

    async def send_message(
        self,
        tokens: TokenSource,
        build: Callable[[str], wire.Request],
        *,
        thread_id: str,
        idle: float,
        max_event_size: int,
    ) -> ChatResult:
        """A non-streaming message post, returning the whole reply.

        The reply is read by its ``Content-Type``, not by what was asked for: the server may
        stream even when ``streaming`` is false (protocol.md §2.5).
        """
        response = await self.open_stream(tokens, build)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                return wire.result_from_message(await self.transport.read_json(response), thread_id)
            accumulator = wire.WebStreamAccumulator(thread_id)
            async with aclosing(
                iter_web_chunks(response, accumulator, idle=idle, max_event_size=max_event_size)
            ) as chunks:
                async for _ in chunks:
                    pass
            return accumulator.result()
        finally:
            await self.transport.close(response)

    async def open_stream(
        self, tokens: TokenSource, build: Callable[[str], wire.Request]
    ) -> httpx.Response:
        """Post a message and return the 2xx response with its body unread.

        401 → one refresh and retry; other failures per ``RetryPolicy`` (a POST is re-sent
        only when it cannot have reached the server). Nothing of the body has been read, so
        every retry here happens before any chunk could reach the caller.
        """
        token = await tokens.get()
        refreshed = False
        tries = 0
        while True:
            request = build(token)
            try:
                response = await self.transport.send(request)
                try:
                    await self.transport.raise_for_status(response)
                except BaseException:
                    await self.transport.close(response)
                    raise
                return response
            except AuthenticationError:
                if refreshed:
                    raise
                refreshed = True
                tokens.invalidate(token)
                token = await tokens.get()
            except CopilotError as exc:
                tries += 1
                delay = self.retry.delay_for(
                    exc,
                    tries,
                    jitter=random.random(),
                    idempotent=request.method in _IDEMPOTENT,
                )
                if delay is None:
                    raise
                await anyio.sleep(delay)


async def iter_web_chunks(
    response: httpx.Response,
    accumulator: wire.WebStreamAccumulator,
    *,
    idle: float,
    max_event_size: int,
) -> AsyncGenerator[ChatChunk]:
    """The chunks of one web reply, read from ``response``.

    After the ``complete`` chunk has been yielded (``accumulator.completed`` is then true), the
    generator reads on to the end of the body, briefly, so the connection can be reused: a
    consumer that has what it needs may stop iterating there.

    Raises (each with ``partial_text``): StreamStalledError when no event arrives for ``idle``
    seconds (keep-alive comments do not count), StreamInterruptedError when the connection
    breaks, IncompleteStreamError when the body ends without ``complete``, StreamServerError for
    an error reported in the stream, EventTooLarge for an oversized event. The caller closes the
    response. The idle timer runs in a cancel scope that is always exited before a ``yield``.
    """
    decoder = SSEDecoder(max_event_size=max_event_size)
    framing = wire.SingleNewlineFraming()
    body: AsyncGenerator[bytes] = response.aiter_bytes()  # type: ignore[assignment]
    deadline = anyio.current_time() + idle
    try:
        while True:
            data: bytes | None = None
            broken: str | None = None
            with anyio.CancelScope(deadline=deadline) as scope:
                try:
                    data = await anext(body)
                except StopAsyncIteration:
                    data = b""
                except httpx.HTTPError as exc:
                    broken = str(map_httpx_error(exc))
            if broken is not None:
                # Raised outside the except block: the httpx error holds the request and its
                # Authorization header, and must not ride along as __context__.
                raise StreamInterruptedError(
                    f"the connection broke mid-stream: {broken}", partial_text=accumulator.text
                )
            if data is None or scope.cancelled_caught:
                raise StreamStalledError(f"no event for {idle} s", partial_text=accumulator.text)
            try:
                if data:
                    events = decoder.feed(framing.feed(data))
                else:
                    # Lenient at the end: a last line the server did not terminate still
                    # counts (a line cut short is not valid JSON and is skipped anyway).
                    events = decoder.feed(b"\n\n") + decoder.feed_eof()
            except EventTooLarge as exc:
                exc.partial_text = accumulator.text
                raise
            for event in events:
                chunk = accumulator.feed(event.data)
                if chunk is None:
                    continue
                yield chunk
                if accumulator.completed:
                    await _drain(body)
                    return
                deadline = anyio.current_time() + idle
            if not data:
                raise IncompleteStreamError(
                    "the reply ended without a 'complete' event", partial_text=accumulator.text
                )
    finally:
        await body.aclose()


async def _drain(body: AsyncIterator[bytes]) -> None:
    """Read what follows ``complete`` until the server ends the body (briefly, then give up).

    Reaching the end lets the connection return to the pool instead of being torn down.
    """
    with anyio.move_on_after(_DRAIN_GRACE), suppress(httpx.HTTPError):
        async for _ in body:
            pass
