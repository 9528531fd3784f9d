"""The one module that talks to httpx: sending requests, reading bodies, mapping httpx's errors.

Everything above this module deals in ``_web_wire.Request`` values and copilot-anyio errors, so
moving to another HTTP library is a change to this file alone.
"""

from __future__ import annotations

import http.cookiejar
import json
import logging
import math
import os
import ssl
import time
from collections.abc import Mapping
from typing import Any, Final

import anyio
import httpx

from ._config import Limits, Timeouts
from ._errors import (
    ConnectError,
    ConnectTimeout,
    CopilotError,
    LocalProtocolError,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
    WriteError,
)
from ._http import Request
from ._status import error_from_response

__all__ = ["CLOSE_GRACE", "HTTPTransport", "map_httpx_error"]

#: Connections per httpx pool (see HTTPTransport.__init__).
_SHARD_SIZE: Final = 16
#: Connections beyond the request limit, for token fetches.
_CONTROL_HEADROOM: Final = 4

_ssl_contexts: dict[tuple[str | bool, bool, str, str], ssl.SSLContext] = {}


async def _ssl_context(verify: str | bool, trust_env: bool) -> ssl.SSLContext:
    """The TLS context httpx would build for ``verify``, built in a thread and cached."""
    env = (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))
    key = (verify, trust_env, *env)
    context = _ssl_contexts.get(key)
    if context is None:
        context = await anyio.to_thread.run_sync(
            lambda: httpx.create_ssl_context(verify=verify, trust_env=trust_env)
        )
        _ssl_contexts[key] = context
    return context


logger = logging.getLogger("copilot_anyio")

#: How long closing a response may take when the peer has gone quiet.
CLOSE_GRACE: Final = 5.0
_MAX_ERROR_BODY: Final = 64 * 1024


def map_httpx_error(exc: httpx.HTTPError) -> CopilotError:
    """The copilot-anyio error for an httpx error (the caller raises it ``from exc``)."""
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


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Refuse every Set-Cookie: cookies are sent explicitly, to the GitHub host only."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class HTTPTransport:
    """An ``httpx.AsyncClient`` configured for Copilot, with copilot-anyio's error mapping.

    Args:
        timeouts: network phase timeouts (see ``Timeouts``).
        limits: the pool is sized to ``limits.max_concurrent_requests``.
        proxy: an HTTP(S) proxy URL, or None (``trust_env`` still honours ``HTTPS_PROXY``).
        verify: True, False, a CA bundle path or an ``ssl.SSLContext``.
        transport: a custom httpx transport (for tests or unusual networks).
        trust_env: read proxies and CA settings from the environment, as httpx does.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        limits: Limits,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
    ) -> None:
        self.timeouts = timeouts
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
                    connect=timeouts.connect,
                    read=timeouts.first_byte,
                    write=timeouts.write,
                    pool=None if math.isinf(timeouts.pool) else timeouts.pool,
                ),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                proxy=proxy,
                verify=verify,
                transport=transport,
                trust_env=trust_env,
                follow_redirects=False,
                cookies=httpx.Cookies(http.cookiejar.CookieJar(policy=_NoCookies())),
            )
            for _ in range(shards)
        ]
        self._busy = [0] * shards
        self._shard_of: dict[int, int] = {}

    @classmethod
    async def open(
        cls,
        *,
        timeouts: Timeouts,
        limits: Limits,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
    ) -> HTTPTransport:
        """A transport whose TLS context was built off the event loop.

        Loading a CA bundle takes tens of milliseconds of blocking file I/O; it happens once per
        process and setting, in a worker thread, and every shard shares the context.
        """
        if transport is None and not isinstance(verify, ssl.SSLContext) and verify is not False:
            verify = await _ssl_context(verify, trust_env)
        return cls(
            timeouts=timeouts,
            limits=limits,
            proxy=proxy,
            verify=verify,
            transport=transport,
            trust_env=trust_env,
        )

    def __repr__(self) -> str:
        return f"HTTPTransport(timeouts={self.timeouts!r})"

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _pick_shard(self) -> int:
        busy = self._busy
        return busy.index(min(busy))

    def _build(
        self, client: httpx.AsyncClient, request: Request, cookies: Mapping[str, str] | None
    ) -> httpx.Request:
        headers = dict(request.headers)
        if request.send_cookies and cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        content = None if request.json is None else json.dumps(request.json).encode()
        return client.build_request(request.method, request.url, headers=headers, content=content)

    async def send(
        self, request: Request, *, cookies: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Send and return the response with its body still unread (streaming).

        The status is not checked here; the caller closes the response (``close``). httpx
        bounds the pool wait, connecting and writing; the wait for the response headers is
        bounded by ``Timeouts.first_byte`` from the moment the request was sent (httpx's trace
        hook tells when), and reading the body is left to the stream reader (``Timeouts.idle``).
        """
        shard = self._pick_shard()
        client = self._clients[shard]
        built = self._build(client, request, cookies)
        first_byte = anyio.CancelScope()

        async def trace(name: str, info: Mapping[str, Any]) -> None:
            if name.endswith(".receive_response_headers.started"):
                first_byte.deadline = anyio.current_time() + self.timeouts.first_byte

        built.extensions["trace"] = trace
        built.extensions["timeout"] = httpx.Timeout(
            connect=self.timeouts.connect,
            read=None,
            write=self.timeouts.write,
            pool=None if math.isinf(self.timeouts.pool) else self.timeouts.pool,
        ).as_dict()
        self._busy[shard] += 1
        error: CopilotError | None = None
        response: httpx.Response | None = None
        try:
            with first_byte:
                response = await client.send(built, stream=True)
        except httpx.HTTPError as exc:
            # Raised outside this block: the httpx error holds the request, headers and all,
            # and must not ride along as __context__ (it would carry the token).
            error = map_httpx_error(exc)
        finally:
            if response is None:
                self._busy[shard] -= 1
        if response is None:
            if error is None:  # the first-byte scope expired
                error = ReadTimeout(
                    f"no response headers from {request.method} {built.url.path} within "
                    f"{self.timeouts.first_byte} s"
                )
            raise error
        self._shard_of[id(response)] = shard
        return response

    async def request_json(
        self, request: Request, *, cookies: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send, read the whole body, raise the typed error for a failure status.

        Returns ``(status, payload)``; ``payload`` is the decoded JSON, or None for an empty
        body. A 2xx body that is not JSON raises RemoteProtocolError.
        """
        response = await self.send(request, cookies=cookies)
        try:
            await self.raise_for_status(response)
            return response.status_code, await self.read_json(response)
        finally:
            await self.close(response)

    async def read_json(self, response: httpx.Response) -> Any:
        """The body of an open response as JSON (None when empty); bounded by ``first_byte``."""
        error: CopilotError | None = None
        body = b""
        try:
            with anyio.fail_after(self.timeouts.first_byte):
                body = await response.aread()
        except TimeoutError:
            error = ReadTimeout("the response body stalled")
        except httpx.HTTPError as exc:
            error = map_httpx_error(exc)
        if error is not None:
            raise error
        if not body.strip():
            return None
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            content_type = response.headers.get("content-type", "")
            raise RemoteProtocolError(
                f"{response.request.method} {response.url.path} answered "
                f"{response.status_code} with a body that is not JSON "
                f"({content_type or 'no content type'})"
            ) from None

    async def raise_for_status(self, response: httpx.Response) -> None:
        """Raise the typed APIStatusError for a status >= 400 (reading at most 64 KiB of body)."""
        if response.status_code < 400:
            return
        body = await self._read_capped(response)
        raise error_from_response(
            response.status_code, dict(response.headers), body, now=time.time()
        )

    async def _read_capped(self, response: httpx.Response) -> str:
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.move_on_after(self.timeouts.first_byte):
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= _MAX_ERROR_BODY:
                        break
        except httpx.HTTPError:
            pass  # the status is the error; a broken error body must not hide it
        return b"".join(chunks)[:_MAX_ERROR_BODY].decode("utf-8", "replace")

    async def close(self, response: httpx.Response) -> None:
        """Close a response even while being cancelled, without hanging on a dead peer.

        Every response ``send`` returned must be closed here exactly once (closing twice is
        harmless): it also returns the request's place in its shard.
        """
        shard = self._shard_of.pop(id(response), None)
        if shard is not None:
            self._busy[shard] -= 1
        with anyio.move_on_after(CLOSE_GRACE, shield=True):
            try:
                await response.aclose()
            except Exception as exc:  # a failed close must not cost the caller its outcome
                logger.debug("closing a response failed: %s", type(exc).__name__)
