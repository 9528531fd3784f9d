"""The transport over httpx: the one module of the library that imports httpx.

It turns ``Request`` values into httpx requests, hands back ``Response`` values whose body raises
copilot-anyio errors, and maps every httpx error at this seam, so nothing above it knows httpx.
"""

from __future__ import annotations

import functools
import http.cookiejar
import json
import math
import os
import ssl
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import anyio
import httpx

from .._config import Limits, Timeouts
from .._errors import (
    ConnectError,
    ConnectTimeout,
    CopilotError,
    LocalProtocolError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    TransportError,
    WriteError,
)
from .._http import Request, Response
from ._redact import install as _install_log_redaction

__all__ = ["HTTPXTransport", "map_httpx_error"]

# httpcore prints response headers (Set-Cookie included) at DEBUG: see _redact.
_install_log_redaction()

#: Connections per httpx pool (see HTTPXTransport.__init__).
_SHARD_SIZE: Final = 16
#: Connections beyond the request limit, for token fetches.
_CONTROL_HEADROOM: Final = 4

_ssl_contexts: dict[tuple[str | bool, bool, str, str], ssl.SSLContext] = {}
_ssl_lock = threading.Lock()


def _build_ssl_context(verify: str | bool, trust_env: bool) -> ssl.SSLContext:
    """The TLS context httpx would build for ``verify``, built once per setting (in a thread).

    The lock makes concurrent first uses wait for one build instead of each loading the CA
    bundle (a thousand conversations started at once used to load it a thousand times).
    """
    env = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    key = (verify, trust_env, *env)
    with _ssl_lock:
        context = _ssl_contexts.get(key)
        if context is None:
            context = httpx.create_ssl_context(verify=verify, trust_env=trust_env)
            _ssl_contexts[key] = context
        return context


async def _ssl_context(verify: str | bool, trust_env: bool) -> ssl.SSLContext:
    env = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    cached = _ssl_contexts.get((verify, trust_env, *env))
    if cached is not None:
        return cached
    return await anyio.to_thread.run_sync(_build_ssl_context, verify, trust_env)


@functools.cache
def _no_ca_context() -> ssl.SSLContext:
    """A context that verifies and trusts no one: for clients whose hosts are all plain http.

    Building it reads no file; should anything ever try TLS with it, verification fails. One
    per process: it holds no state a connection could change.
    """
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def map_httpx_error(exc: httpx.HTTPError) -> CopilotError:
    """The copilot-anyio error for an httpx error (raise it outside the ``except`` block)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return ConnectTimeout(text)
    if isinstance(exc, httpx.PoolTimeout):
        return PoolTimeout(text)
    if isinstance(exc, httpx.ReadTimeout):
        return ReadTimeout(text)
    if isinstance(exc, httpx.WriteTimeout | httpx.WriteError):
        return WriteError(text)
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(text)
    if isinstance(exc, httpx.LocalProtocolError):
        return LocalProtocolError(text)
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.NetworkError):
        return ReadError(text)
    return TransportError(text)


def _seconds(value: float) -> float | None:
    """httpx's spelling of a timeout: None for "no timeout" (our math.inf)."""
    return None if math.isinf(value) else value


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse every Set-Cookie: cookies are sent explicitly, to the GitHub host only."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _Body:
    """An httpx response body as a ``ByteStream`` that raises copilot-anyio errors."""

    __slots__ = ("_closed", "_interrupted", "_iterator", "_response", "_shard", "_transport")

    def __init__(self, response: httpx.Response, transport: HTTPXTransport, shard: int) -> None:
        self._response = response
        self._transport = transport
        self._shard = shard
        self._iterator: AsyncIterator[bytes] | None = None
        self._closed = False
        #: a read was cancelled midway: httpx's iterator is finished and cannot go on
        self._interrupted = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self._interrupted:
            # Its end would read as the end of the body: say what happened instead.
            raise ReadError("an earlier read of this body was cancelled; httpx cannot resume it")
        if self._iterator is None:
            self._iterator = self._response.aiter_bytes()
        error: CopilotError
        try:
            return await anext(self._iterator)
        except httpx.HTTPError as exc:
            error = map_httpx_error(exc)
        except anyio.get_cancelled_exc_class():
            self._interrupted = True
            raise
        # Raised here, not in the except block: the httpx error holds the request and its
        # Authorization header and must not ride along as __context__.
        raise error

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._transport._busy[self._shard] -= 1
        try:
            iterator = self._iterator
            if iterator is not None:
                await iterator.aclose()  # type: ignore[attr-defined]
        finally:
            await self._response.aclose()


class HTTPXTransport:
    """A transport over httpx, configured for Copilot: no cookies kept, no redirects followed.

    Args:
        timeouts: network phase timeouts (``Timeouts``).
        limits: the connection pool is sized to ``limits.max_concurrent_requests``.
        proxy: an HTTP(S) proxy URL, or None (``trust_env`` still honours ``HTTPS_PROXY``).
        verify: True, False, a CA bundle path or an ``ssl.SSLContext``.
        httpx_transport: an ``httpx.AsyncBaseTransport`` to send through (tests, unusual
            networks, SOCKS); the default is httpx's own connection pool.
        trust_env: read proxies and CA settings from the environment, as httpx does.

    Use ``await HTTPXTransport.open(...)`` inside an event loop: it builds the TLS context in a
    worker thread (once per process and setting) instead of on the loop.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        httpx_transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        self.timeouts = timeouts = timeouts or Timeouts()
        limits = limits or Limits()
        # Token fetches do not take a request slot (a stream waiting for a token holds one),
        # so the pool has room for them beyond the request limit.
        pool = max(1, limits.max_concurrent_requests) + _CONTROL_HEADROOM
        # httpcore re-examines every connection of a pool whenever a request starts or a
        # response closes, so one pool of N busy connections costs O(N) per event and O(N^2)
        # overall: at 200 concurrent streams that bookkeeping took half of the CPU. Small pools
        # ("shards") keep it constant; each request goes to the least busy shard.
        shards = max(1, math.ceil(pool / _SHARD_SIZE))
        per_shard = math.ceil(pool / shards)
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=_seconds(timeouts.connect),
                    read=_seconds(timeouts.first_byte),
                    write=_seconds(timeouts.write),
                    pool=_seconds(timeouts.pool),
                ),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                proxy=proxy,
                verify=verify,
                transport=httpx_transport,
                trust_env=trust_env,
                follow_redirects=False,
                # A CookieJar (not httpx.Cookies, which httpx would copy into a jar of its own
                # and lose the policy): nothing the server sets is ever stored or replayed.
                cookies=http.cookiejar.CookieJar(policy=_RefuseCookies()),
            )
            for _ in range(shards)
        ]
        self._busy = [0] * shards
        self._request_timeout = httpx.Timeout(
            connect=_seconds(timeouts.connect),
            read=None,
            write=_seconds(timeouts.write),
            pool=_seconds(timeouts.pool),
        ).as_dict()

    @classmethod
    async def open(
        cls,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        httpx_transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
        tls: bool = True,
    ) -> HTTPXTransport:
        """A transport whose TLS context was built off the event loop.

        ``tls=False`` says every URL it will be given is plain http (the emulator, a local
        proxy): then no CA bundle is loaded at all.
        """
        if httpx_transport is None and not isinstance(verify, ssl.SSLContext) and verify:
            if tls or (proxy is not None and proxy.startswith("https:")):
                verify = await _ssl_context(verify, trust_env)
            else:
                verify = _no_ca_context()
        return cls(
            timeouts=timeouts,
            limits=limits,
            proxy=proxy,
            verify=verify,
            httpx_transport=httpx_transport,
            trust_env=trust_env,
        )

    def __repr__(self) -> str:
        return f"HTTPXTransport(timeouts={self.timeouts!r})"

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _build(self, client: httpx.AsyncClient, request: Request) -> httpx.Request:
        content = None if request.json is None else json.dumps(request.json).encode()
        return client.build_request(
            request.method, request.url, headers=request.headers, content=content
        )

    async def send(self, request: Request) -> Response:
        """Send and return the response with its body still unread.

        httpx bounds the pool wait, connecting and writing; the wait for the response headers is
        bounded by ``Timeouts.first_byte`` from the moment the request was sent (httpx's trace
        hook tells when); reading the body is the reader's business (``Timeouts.idle``).
        """
        busy = self._busy
        shard = busy.index(min(busy))
        client = self._clients[shard]
        error: CopilotError | None = None
        try:
            built = self._build(client, request)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, TypeError, ValueError):
            # Header values are checked before they get here; this is the last line.
            error = LocalProtocolError(
                f"{request.method} {request.url.split('?', 1)[0]} could not be encoded as an "
                "HTTP request"
            )
        if error is not None:
            raise error
        first_byte = anyio.CancelScope()
        first_byte_timeout = self.timeouts.first_byte

        async def trace(name: str, info: Mapping[str, Any]) -> None:
            if name.endswith(".receive_response_headers.started"):
                first_byte.deadline = anyio.current_time() + first_byte_timeout

        built.extensions["trace"] = trace
        built.extensions["timeout"] = self._request_timeout
        busy[shard] += 1
        response: httpx.Response | None = None
        try:
            with first_byte:
                response = await client.send(built, stream=True)
        except httpx.HTTPError as exc:
            error = map_httpx_error(exc)
        finally:
            if response is None:
                busy[shard] -= 1
        if response is None:
            if error is None:  # the first-byte scope expired
                error = ReadTimeout(
                    f"no response headers from {request.method} {built.url.path} within "
                    f"{first_byte_timeout} s"
                )
            raise error
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        return Response(response.status_code, headers, _Body(response, self, shard), request)
