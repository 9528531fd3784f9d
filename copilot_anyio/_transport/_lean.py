"""The lean transport: HTTP/1.1 over AnyIO streams, for many long streams at once.

Theory of operation
-------------------
``send`` turns a ``Request`` into one buffer (request line, headers, JSON body), takes a
connection from the pool (``_pool.py``: an idle one of the same origin, or a new one within
the limit), writes the buffer and reads until the response head is parsed (``_parser.py``,
llhttp). It returns a ``Response`` whose body reads the same connection: each ``receive`` of
the socket is parsed at once and its body bytes handed up whole, one piece per read.

Connecting resolves a host name once per ``DNS_TTL`` and dials its addresses directly
(``_dial.py``), not through ``anyio.connect_tcp``'s thread and task group per connection.

Timeouts are per phase and cost one cancel scope per phase, never one per read: connecting
(TCP, a proxy's ``CONNECT``, TLS) under ``Timeouts.connect``; writing under ``Timeouts.write``,
then the same scope re-armed for ``Timeouts.first_byte`` until the head is in; waiting for a
connection under ``Timeouts.pool`` only when there is a wait. Reading the body is the reader's
business (the idle watchdog above bounds it).

A body read to its end gives its connection back to the pool at that moment, if the server
allows keep-alive and sent nothing after it. A body closed before its end closes the
connection: whatever was left unread would be read as the next response. An idle connection
the server closed is noticed before it is reused (``Connection.readable_while_idle``); should
the server close it just as a request goes out, a request that got no byte back is sent again
on a new connection once, if it may be: when it failed while being written (a server does not
act on a request it did not receive whole) or is idempotent.

Like the httpx transport it never follows a redirect (a 3xx is handed up as it is), keeps no
cookie, adds no credential and retries nothing else: the send loop decides all of that.
Bodies the server compresses (gzip, deflate) are decompressed, at most ``MAX_DECODED`` bytes
per piece; compression is asked for only when the request is not for an event stream.
Proxies: ``http://`` and ``https://`` proxy URLs (with ``user:password@``), from ``proxy`` or,
with ``trust_env``, the ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY``
variables; https targets go through a ``CONNECT`` tunnel, plain http ones are forwarded.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
import zlib
from typing import Any, Final, cast
from urllib.parse import quote, unquote, urlsplit

import anyio
from anyio.abc import ByteStream
from anyio.streams.tls import TLSStream

from .._config import Limits, Timeouts
from .._errors import (
    ConnectError,
    ConnectTimeout,
    CopilotError,
    LocalProtocolError,
    ReadError,
    ReadTimeout,
    WriteError,
)
from .._http import Request, Response, unsafe_header
from ._connection import Connection
from ._dial import Resolver, connect_any
from ._parser import MAX_HEAD, ParseError, ResponseParser
from ._pool import KEEPALIVE_EXPIRY, Pool
from ._tls import ssl_context

__all__ = ["LeanTransport"]

#: The most one read of the socket takes.
READ_SIZE: Final = 64 * 1024
#: The most one piece of a decompressed body holds (a small gzip body may inflate a lot).
MAX_DECODED: Final = 1024 * 1024
#: Connections beyond the request limit, for token fetches (as the httpx transport).
_CONTROL_HEADROOM: Final = 4
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: What a read or write of an open connection may raise when it breaks.
_BROKEN: Final = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,
    ssl.SSLError,
)


class _Origin:
    """Where a URL points: the pool key and what connecting needs."""

    __slots__ = ("host", "host_header", "key", "port", "tls")

    def __init__(self, scheme: str, host: str, port: int) -> None:
        self.tls = scheme == "https"
        self.host = host
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self.host_header = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
        self.key = f"{scheme}://{shown}:{port}"


class _Proxy:
    """A proxy URL, parsed once."""

    __slots__ = ("authorization", "origin")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ConnectError(
                f"the lean transport speaks to http and https proxies only, not {scheme}:// "
                "(use http='httpx' for SOCKS)"
            )
        self.origin = _Origin(scheme, parts.hostname, parts.port or _DEFAULT_PORTS[scheme])
        self.authorization: str | None = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(pair.encode()).decode()


def _split(url: str) -> tuple[_Origin, str]:
    """The origin of ``url`` and its request target (path and query)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError("not an absolute http(s) URL")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    port = parts.port or _DEFAULT_PORTS[scheme]
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    if not (target.isascii() and target.isprintable()) or " " in target:
        target = quote(target, safe="/%:@!$&'()*+,;=?-._~")
    return _Origin(scheme, host, port), target


class _Decoder:
    """Incremental gzip/deflate decoding, in bounded pieces."""

    __slots__ = ("_tail", "_zlib")

    def __init__(self, encoding: str) -> None:
        # 16 + MAX_WBITS: a gzip header; MAX_WBITS: zlib-wrapped deflate (what servers send).
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else 0)
        self._tail = b""

    @property
    def pending(self) -> bool:
        return bool(self._tail)

    @property
    def whole(self) -> bool:
        """Did the compressed stream reach its proper end?"""
        return self._zlib.eof

    def decode(self, data: bytes) -> bytes:
        out = self._zlib.decompress(self._tail + data, MAX_DECODED)
        self._tail = self._zlib.unconsumed_tail
        return out


class _Body:
    """A response body on its connection, as a ``ByteStream`` raising copilot-anyio errors."""

    __slots__ = ("_connection", "_decoder", "_parser", "_pool", "_stream")

    def __init__(
        self,
        connection: Connection,
        parser: ResponseParser,
        pool: Pool,
        decoder: _Decoder | None,
    ) -> None:
        self._connection: Connection | None = connection
        self._stream: ByteStream | None = connection.stream
        self._parser = parser
        self._pool = pool
        self._decoder = decoder

    def __aiter__(self) -> _Body:
        return self

    @property
    def at_end(self) -> bool:
        """The response is parsed to its end: what is left of it is in memory (no wait)."""
        return self._parser.done

    @property
    def closed(self) -> bool:
        """The connection was given back or closed: ``aclose`` has nothing to do."""
        return self._connection is None

    async def __anext__(self) -> bytes:
        parser = self._parser
        while True:
            if parser.done and self._connection is not None:
                # Read to its end: the connection goes back before the last bytes go up.
                await self._finish()
            body = parser.body
            if body:
                data = body[0] if len(body) == 1 else b"".join(body)
                body.clear()
                if self._decoder is None:
                    return data
                data = self._decode(data)
                if data:
                    return data
                continue
            if self._decoder is not None and self._decoder.pending:
                data = self._decode(b"")
                if data:
                    return data
                continue
            if parser.done:
                if self._decoder is not None and not self._decoder.whole:
                    self._decoder = None
                    raise ReadError("the compressed body ended before its end")
                raise StopAsyncIteration
            stream = self._stream
            if stream is None:
                raise StopAsyncIteration  # closed by aclose
            error: CopilotError | None = None
            try:
                data = await stream.receive(READ_SIZE)
            except anyio.EndOfStream:
                data = b""
            except _BROKEN as exc:
                error = ReadError(f"the connection broke: {_what(exc)}")
            if error is None:
                try:
                    if data:
                        parser.feed(data)
                    else:
                        parser.feed_eof()
                except ParseError as exc:
                    error = ReadError(str(exc))
            if error is not None:
                await self.aclose()
                raise error

    def _decode(self, data: bytes) -> bytes:
        assert self._decoder is not None
        try:
            return self._decoder.decode(data)
        except zlib.error as exc:
            raise ReadError(f"the compressed body is damaged: {exc}") from None

    async def _finish(self) -> None:
        """The response was read to its end: the connection goes back to the pool, or closes."""
        connection = self._connection
        if connection is None:
            return
        self._connection = self._stream = None
        if not (self._parser.keep_alive and self._pool.release(connection)):
            self._pool.discard(connection)
            with anyio.CancelScope(shield=True):
                await connection.aclose()

    async def aclose(self) -> None:
        """Close the body; before its end, that closes the connection too (never reused)."""
        connection = self._connection
        if connection is None:
            return
        self._connection = self._stream = None
        self._pool.discard(connection)
        with anyio.CancelScope(shield=True):
            await connection.aclose()


def _what(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class _Failed(Exception):
    """A request failed on its connection; ``retry``: it may be sent again on a new one."""

    def __init__(self, error: CopilotError, *, retry: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry = retry


class LeanTransport:
    """HTTP/1.1 over AnyIO streams with an O(1) keep-alive pool. See the module docstring.

    Args:
        timeouts: network phase timeouts (``Timeouts``).
        limits: at most ``limits.max_concurrent_requests`` connections (plus a few for token
            fetches) are open at once.
        proxy: an ``http://`` or ``https://`` proxy URL, or None (``trust_env`` reads the
            ``*_PROXY`` variables).
        verify: True, False, a CA bundle file or directory, or an ``ssl.SSLContext``.
        trust_env: read proxies and CA settings from the environment, as httpx does.
        keepalive_expiry: seconds an idle connection is kept for reuse.

    Use ``await LeanTransport.open(...)`` inside an event loop: it builds the TLS context in a
    worker thread (once per process and setting) instead of on the loop.
    """

    def __init__(
        self,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
    ) -> None:
        self.timeouts = timeouts or Timeouts()
        limits = limits or Limits()
        self._pool = Pool(
            max(1, limits.max_concurrent_requests) + _CONTROL_HEADROOM,
            keepalive_expiry=keepalive_expiry,
        )
        self._verify = verify
        self._trust_env = trust_env
        self._context = verify if isinstance(verify, ssl.SSLContext) else None
        self._proxy = None if proxy is None else _Proxy(proxy)
        self._env_proxies: dict[str, _Proxy | None] = {}
        self._resolver = Resolver()

    @classmethod
    async def open(
        cls,
        *,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        proxy: str | None = None,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        tls: bool = True,
    ) -> LeanTransport:
        """A transport whose TLS context was built off the event loop.

        ``tls=False`` says every URL it will be given is plain http: the context is then
        built only if an https URL (or proxy) turns up after all.
        """
        transport = cls(
            timeouts=timeouts, limits=limits, proxy=proxy, verify=verify, trust_env=trust_env
        )
        if tls or (proxy is not None and proxy.startswith("https:")):
            transport._context = await ssl_context(verify, trust_env)
        return transport

    def __repr__(self) -> str:
        return f"LeanTransport(timeouts={self.timeouts!r}, pool={self._pool!r})"

    @property
    def pool(self) -> Pool:
        """The connection pool (for statistics: ``open_connections``, ``idle_connections``)."""
        return self._pool

    async def aclose(self) -> None:
        """Close every connection, idle or busy; the transport cannot be used afterwards."""
        idle = [c for queue in self._pool._idle.values() for c in queue]
        busy = await self._pool.aclose()
        with anyio.CancelScope(shield=True):
            for connection in idle + busy:
                await connection.aclose()

    # --- sending ---------------------------------------------------------------------------

    async def send(self, request: Request) -> Response:
        """Send ``request``; return once the response head arrived, the body unread.

        Raises ConnectError, ConnectTimeout, WriteError, ReadError, ReadTimeout (no head within
        ``Timeouts.first_byte``), PoolTimeout, or LocalProtocolError for a request that cannot
        be written as HTTP/1.1.
        """
        parsed: tuple[_Origin, str] | None = None
        body: bytes | None = None
        try:
            parsed = _split(request.url)
            body = None if request.json is None else json.dumps(request.json).encode()
        except (ValueError, TypeError, UnicodeError):
            parsed = None
        if (
            parsed is None
            or unsafe_header(request.headers) is not None
            or not _token(request.method)
        ):
            raise LocalProtocolError(
                f"{request.method} {request.url.split('?', 1)[0]} could not be encoded as an "
                "HTTP request"
            )
        origin, target = parsed
        proxy = self._proxy_for(origin)
        forward = proxy is not None and not origin.tls
        head = _encode(
            request,
            f"{request.url.split('#', 1)[0]}" if forward else target,
            origin.host_header,
            body,
            proxy.authorization if forward and proxy is not None else None,
        )
        no_body = request.method == "HEAD"
        for attempt in (1, 2):
            connection = await self._connection(origin, proxy)
            parser = ResponseParser(no_body=no_body)
            try:
                await self._exchange(connection, head, parser, request.idempotent)
            except _Failed as failed:
                if failed.retry and attempt == 1 and connection.requests > 1:
                    continue
                error = failed.error
                break
            headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in parser.headers
            }
            encoding = headers.get("content-encoding", "").lower()
            decoder = _Decoder(encoding) if encoding in ("gzip", "x-gzip", "deflate") else None
            return Response(
                parser.status, headers, _Body(connection, parser, self._pool, decoder), request
            )
        raise error

    async def _exchange(
        self, connection: Connection, head: bytes, parser: ResponseParser, idempotent: bool
    ) -> None:
        """Write the request and read the response head into ``parser``.

        On failure the connection is closed and ``_Failed`` raised: retryable when nothing came
        back on a reused connection and the request was not written whole, or is idempotent.
        """
        timeouts = self.timeouts
        stream = connection.stream
        connection.requests += 1
        written = received = False
        error: CopilotError | None = None
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + timeouts.write) as scope:
                try:
                    await stream.send(head)
                    written = True
                    scope.deadline = anyio.current_time() + timeouts.first_byte
                    while not parser.head_done:
                        try:
                            data = await stream.receive(READ_SIZE)
                        except anyio.EndOfStream:
                            parser.feed_eof()
                        else:
                            received = True
                            parser.feed(data)
                except ParseError as exc:
                    error = ReadError(str(exc))
                except _BROKEN as exc:
                    what = "sending the request" if not written else "waiting for the response"
                    error = (ReadError if written else WriteError)(
                        f"the connection broke while {what}: {_what(exc)}"
                    )
            if scope.cancelled_caught:
                error = (
                    ReadTimeout(f"no response head within {timeouts.first_byte} s")
                    if written
                    else WriteError(f"sending the request took over {timeouts.write} s")
                )
        except BaseException:
            await self._drop(connection)
            raise
        if error is not None:
            await self._drop(connection)
            retry = (
                not received
                and not isinstance(error, ReadTimeout)
                and not (written and scope.cancelled_caught)
                and (not written or idempotent)
            )
            raise _Failed(error, retry=retry)

    async def _drop(self, connection: Connection) -> None:
        self._pool.discard(connection)
        with anyio.CancelScope(shield=True):
            await connection.aclose()

    # --- connections ------------------------------------------------------------------------

    async def _connection(self, origin: _Origin, proxy: _Proxy | None) -> Connection:
        slot = await self._pool.acquire(origin.key, within=self.timeouts.pool)
        if isinstance(slot, Connection):
            return slot
        try:
            stream = await self._connect(origin, proxy)
        except BaseException:
            self._pool.discard(slot)
            raise
        connection = Connection(origin.key, stream)
        self._pool.opened(slot, connection)
        return connection

    async def _connect(self, origin: _Origin, proxy: _Proxy | None) -> ByteStream:
        """A stream to ``origin`` (through ``proxy``), TLS included, within the connect timeout."""
        timeout = self.timeouts.connect
        error: CopilotError | None = None
        stream: ByteStream | None = None
        where = origin.key if proxy is None else f"{origin.key} through {proxy.origin.key}"
        try:
            with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
                try:
                    first = origin if proxy is None else proxy.origin
                    addresses = await self._resolver.resolve(first.host, first.port)
                    stream = await connect_any(addresses)
                    if first.tls:
                        stream = await self._tls(stream, first)
                    if proxy is not None and origin.tls:
                        await _tunnel(stream, origin, proxy)
                        stream = await self._tls(stream, origin)
                except CopilotError as exc:
                    error = exc
                except (*_BROKEN, anyio.EndOfStream) as exc:
                    error = ConnectError(f"could not connect to {where}: {_what(exc)}")
            if scope.cancelled_caught:
                error = ConnectTimeout(f"connecting to {where} took over {timeout} s")
        except BaseException:
            if stream is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.aclose_forcefully(stream)
            raise
        if error is not None:
            if stream is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.aclose_forcefully(stream)
            raise error
        assert stream is not None
        return stream

    async def _tls(self, stream: ByteStream, origin: _Origin) -> ByteStream:
        context = self._context
        if context is None:
            context = self._context = await ssl_context(self._verify, self._trust_env)
        # standard_compatible=False: HTTP frames its bodies, so a close without TLS goodbye
        # loses nothing, and closing never waits for a peer's close_notify.
        return await TLSStream.wrap(
            stream, hostname=origin.host, ssl_context=context, standard_compatible=False
        )

    def _proxy_for(self, origin: _Origin) -> _Proxy | None:
        if self._proxy is not None or not self._trust_env:
            return self._proxy
        key = origin.key
        if key in self._env_proxies:
            return self._env_proxies[key]
        proxies = urllib.request.getproxies_environment()
        url = proxies.get("https" if origin.tls else "http") or proxies.get("all")
        found = None
        if url and not cast(Any, urllib.request).proxy_bypass_environment(origin.host, proxies):
            found = _Proxy(url if "://" in url else f"http://{url}")
        self._env_proxies[key] = found
        return found


async def _tunnel(stream: ByteStream, origin: _Origin, proxy: _Proxy) -> None:
    """Ask the proxy for a tunnel to ``origin`` (``CONNECT``); raises ConnectError if refused."""
    authority = f"{origin.host_header.rsplit(':', 1)[0]}:{origin.port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    if proxy.authorization is not None:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD:
            raise ConnectError(f"the proxy's answer to CONNECT is longer than {MAX_HEAD} bytes")
        buffer += await stream.receive(READ_SIZE)
    head, rest = buffer.split(b"\r\n\r\n", 1)
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit() or not 200 <= int(parts[1]) < 300:
        raise ConnectError(f"the proxy refused a tunnel to {authority}: {status_line!r}")
    if rest:
        raise ConnectError(f"the proxy sent bytes after opening the tunnel to {authority}")


def _token(method: str) -> bool:
    return method.isascii() and method.isalpha() and method.isupper()


def _encode(
    request: Request, target: str, host: str, body: bytes | None, proxy_auth: str | None
) -> bytes:
    """The request line, headers and body as one buffer (one write per request)."""
    lines = [f"{request.method} {target} HTTP/1.1"]
    names = {name.lower() for name in request.headers}
    if "host" not in names:
        lines.append(f"Host: {host}")
    lines.extend(f"{name}: {value}" for name, value in request.headers.items())
    if "accept" not in names:
        lines.append("Accept: */*")
    if "accept-encoding" not in names:
        accept = next((v for k, v in request.headers.items() if k.lower() == "accept"), "")
        # Streams are left uncompressed: each delta is small and must not wait for a block.
        if "text/event-stream" not in accept:
            lines.append("Accept-Encoding: gzip, deflate")
    if "user-agent" not in names:
        lines.append("User-Agent: copilot-anyio")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    elif request.method in ("POST", "PUT", "PATCH"):
        lines.append("Content-Length: 0")
    if proxy_auth is not None:
        lines.append(f"Proxy-Authorization: {proxy_auth}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head if body is None else head + body
