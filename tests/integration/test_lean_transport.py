"""The lean transport against real loopback servers, on asyncio and trio.

Each test serves a few lines of raw HTTP/1.1 from an AnyIO listener (``serve``), so what the
server does byte by byte (keep-alive, a close while idle, a body cut short) is in the test.
"""

from __future__ import annotations

import gzip
import math
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import pytest
import trustme
from anyio.streams.tls import TLSListener

from copilot_anyio import (
    ConnectError,
    ConnectTimeout,
    Limits,
    PoolTimeout,
    ReadError,
    ReadTimeout,
    Timeouts,
)
from copilot_anyio._http import Request
from copilot_anyio._transport import LeanTransport, close_response, read_body

pytestmark = pytest.mark.anyio


@dataclass
class Seen:
    """One request as the server read it."""

    line: str
    headers: dict[str, str]
    body: bytes
    connection: int  # which connection (0, 1, …) carried it
    index: int  # its place on that connection (0 for the first)


@dataclass
class Server:
    url: str
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    closed: int = 0  # connections the server saw end
    _change: anyio.Event = field(default_factory=anyio.Event)

    def saw_close(self) -> None:
        self.closed += 1
        self._change.set()
        self._change = anyio.Event()

    async def wait_closed(self, count: int) -> None:
        while self.closed < count:
            await self._change.wait()


Handler = Callable[[anyio.abc.ByteStream, Seen], Awaitable[bool]]


async def read_request(
    stream: anyio.abc.ByteStream, buffer: bytearray
) -> tuple[str, dict[str, str], bytes] | None:
    """The next request on ``stream`` (head and Content-Length body), or None at EOF."""
    while b"\r\n\r\n" not in buffer:
        try:
            buffer += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += await stream.receive()
    buffer[:] = rest[length:]
    return lines[0], headers, rest[:length]


@asynccontextmanager
async def serve(handler: Handler, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """Serve ``handler`` on a loopback port; it answers one request and returns whether the
    connection stays open."""
    listener: anyio.abc.Listener[anyio.abc.ByteStream] = await anyio.create_tcp_listener(
        local_host="127.0.0.1"
    )
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    if tls is not None:
        listener = TLSListener(listener, tls, standard_compatible=False)
    server = Server(f"{'https' if tls else 'http'}://127.0.0.1:{port}")

    async def connection(stream: anyio.abc.ByteStream) -> None:
        number = server.connections
        server.connections += 1
        buffer = bytearray()
        try:
            async with stream:
                index = 0
                while (request := await read_request(stream, buffer)) is not None:
                    seen = Seen(request[0], request[1], request[2], number, index)
                    server.seen.append(seen)
                    index += 1
                    if not await handler(stream, seen):
                        return
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, anyio.EndOfStream):
            pass
        finally:
            server.saw_close()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, connection)
        yield server
        tg.cancel_scope.cancel()


def response(body: bytes = b"ok", *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", *headers, f"content-length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def chunked(*pieces: bytes) -> bytes:
    frames = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces)
    return b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + frames + b"0\r\n\r\n"


async def ok(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
    await stream.send(response(seen.line.encode()))
    return True


def get(server: Server, path: str = "/", **headers: str) -> Request:
    return Request("GET", server.url + path, headers=headers)


def post(server: Server, path: str = "/", json: object = None, **headers: str) -> Request:
    return Request("POST", server.url + path, headers=headers, json=json)


async def fetch(transport: LeanTransport, request: Request) -> tuple[int, bytes]:
    response = await transport.send(request)
    try:
        return response.status_code, await read_body(response, within=5)
    finally:
        await close_response(response)


@asynccontextmanager
async def lean(**options: object) -> AsyncIterator[LeanTransport]:
    transport = await LeanTransport.open(tls=False, trust_env=False, **options)  # type: ignore[arg-type]
    try:
        yield transport
    finally:
        await transport.aclose()
    assert transport.pool.open_connections == 0


# --- keep-alive ------------------------------------------------------------------------------


async def test_a_conversations_sequential_requests_share_one_connection() -> None:
    with anyio.fail_after(10):
        async with serve(ok) as server, lean() as transport:
            for path in ("/threads", "/threads/1/messages", "/threads/1/messages"):
                assert await fetch(transport, post(server, path, json={"a": 1})) == (
                    200,
                    f"POST {path} HTTP/1.1".encode(),
                )
            assert server.connections == 1
            assert [s.index for s in server.seen] == [0, 1, 2]
            assert transport.pool.idle_connections == 1


async def test_the_request_is_well_formed() -> None:
    with anyio.fail_after(10):
        async with serve(ok) as server, lean() as transport:
            await fetch(transport, post(server, "/p?q=1", json={"b": "é"}, X_Id="7"))
            seen = server.seen[0]
    assert seen.line == "POST /p?q=1 HTTP/1.1"
    assert seen.headers["host"] == server.url.removeprefix("http://")
    assert seen.headers["x_id"] == "7"
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.body == b'{"b": "\\u00e9"}'


async def test_response_headers_are_lower_cased_and_redirects_are_not_followed() -> None:
    async def redirect(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(
            response(
                b"", "Location: http://127.0.0.1:1/elsewhere", "Set-Cookie: a=b", status="302 Found"
            )
        )
        return True

    with anyio.fail_after(10):
        async with serve(redirect) as server, lean() as transport:
            status, _ = await fetch(transport, get(server))
            assert status == 302
            response_ = await transport.send(get(server))
            await close_response(response_)
            assert "cookie" not in server.seen[1].headers  # nothing stored, nothing replayed
            assert response_.headers["location"] == "http://127.0.0.1:1/elsewhere"
            assert len(server.seen) == 2


# --- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reusable"),
    [
        pytest.param(response(b"hello world"), True, id="content-length"),
        pytest.param(chunked(b"hello", b" ", b"world"), True, id="chunked"),
        pytest.param(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nhello world", False, id="close"),
    ],
)
async def test_bodies_by_length_chunks_or_close(raw: bytes, reusable: bool) -> None:
    async def answer(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(raw)
        return reusable

    with anyio.fail_after(10):
        async with serve(answer) as server, lean() as transport:
            assert await fetch(transport, get(server)) == (200, b"hello world")
            assert await fetch(transport, get(server)) == (200, b"hello world")
            assert server.connections == (1 if reusable else 2)


async def test_a_gzip_body_is_decompressed_and_asked_for_only_off_streams() -> None:
    document = b'{"models": [' + b'{"id": "gpt"},' * 5000 + b"{}]}"

    async def gzipped(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(response(gzip.compress(document), "content-encoding: gzip"))
        return True

    with anyio.fail_after(10):
        async with serve(gzipped) as server, lean() as transport:
            assert await fetch(transport, get(server, Accept="application/json")) == (200, document)
            response_ = await transport.send(get(server, Accept="text/event-stream"))
            await close_response(response_)
    assert "gzip" in server.seen[0].headers["accept-encoding"]
    assert "accept-encoding" not in server.seen[1].headers


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not gzip at all", id="garbage"),
        pytest.param(gzip.compress(b"x" * 1000)[:-12], id="cut-short"),
    ],
)
async def test_a_damaged_gzip_body_is_a_read_error(body: bytes) -> None:
    async def damaged(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(response(body, "content-encoding: gzip"))
        return True

    with anyio.fail_after(10):
        async with serve(damaged) as server, lean() as transport:
            with pytest.raises(ReadError, match="compressed"):
                await fetch(transport, get(server))


async def test_a_body_closed_before_its_end_never_goes_back_to_the_pool() -> None:
    release = anyio.Event()

    async def slow(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        if seen.connection == 0:
            await stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello")
            await release.wait()
            # The rest of the first body, then what would be read as the next response.
            await stream.send(b"world" + response(b"stale"))
            return True
        await stream.send(response(b"fresh"))
        return True

    with anyio.fail_after(10):
        async with serve(slow) as server, lean() as transport:
            first = await transport.send(get(server))
            assert await anext(aiter(first.stream)) == b"hello"
            await close_response(first)
            release.set()
            assert await fetch(transport, get(server)) == (200, b"fresh")
            assert server.connections == 2
            assert transport.pool.open_connections == 1


async def test_a_body_cut_short_is_a_read_error_and_the_connection_is_dropped() -> None:
    async def cut(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial")
        return False

    with anyio.fail_after(10):
        async with serve(cut) as server, lean() as transport:
            response_ = await transport.send(get(server))
            with pytest.raises(ReadError, match="before the end of the body"):
                async for _ in response_.stream:
                    pass
            await close_response(response_)
            assert transport.pool.open_connections == 0


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"SPDY/9 what\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\n" + b"x: " + b"y" * 70_000 + b"\r\n\r\n", id="huge-head"),
    ],
)
async def test_a_response_that_is_not_http_is_a_read_error(raw: bytes) -> None:
    async def junk(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(raw)
        return False

    with anyio.fail_after(10):
        async with serve(junk) as server, lean() as transport:
            with pytest.raises(ReadError):
                await transport.send(get(server))


# --- stale connections -----------------------------------------------------------------------


async def test_a_connection_the_server_closed_while_idle_is_not_used() -> None:
    async def once(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(response())
        return False  # keep-alive was not refused, yet the server closes

    with anyio.fail_after(10):
        async with serve(once) as server, lean() as transport:
            await fetch(transport, post(server, json={}))
            await server.wait_closed(1)
            # A POST is never sent twice, so only seeing the close beforehand saves it.
            assert await fetch(transport, post(server, json={})) == (200, b"ok")
            assert server.connections == 2


@pytest.mark.parametrize(("method", "retried"), [("GET", True), ("POST", False)])
async def test_a_reused_connection_closed_under_a_request_retries_only_what_may_be(
    method: str, retried: bool
) -> None:
    # The server takes the second request of a connection and closes without a word: the
    # race the idle check cannot see. GET is sent again on a new connection; POST is not.
    async def drop_second(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        if seen.index == 1:
            return False
        await stream.send(response())
        return True

    with anyio.fail_after(10):
        async with serve(drop_second) as server, lean() as transport:
            request = Request(method, server.url + "/")
            await fetch(transport, request)
            if retried:
                assert await fetch(transport, request) == (200, b"ok")
                assert server.connections == 2
            else:
                with pytest.raises(ReadError):
                    await fetch(transport, request)
                assert server.connections == 1
                assert len(server.seen) == 2


# --- errors and timeouts ---------------------------------------------------------------------


async def test_a_refused_connection_is_a_connect_error() -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with anyio.fail_after(10):
        async with lean() as transport:
            with pytest.raises(ConnectError):
                await transport.send(Request("GET", f"http://127.0.0.1:{port}/"))
            assert transport.pool.open_connections == 0


async def test_a_host_name_is_looked_up_once_for_many_connections() -> None:
    # "localhost" may name ::1 first, where nothing listens: that attempt fails at once and
    # 127.0.0.1 is dialled next. Three connections at once, one lookup.
    async def slow(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await anyio.sleep(0.2)  # keeps each connection busy, so each request needs its own
        return await ok(stream, seen)

    with anyio.fail_after(10):
        async with serve(slow) as server, lean() as transport:
            url = server.url.replace("127.0.0.1", "localhost")
            results: list[tuple[int, bytes]] = []

            async def one() -> None:
                results.append(await fetch(transport, Request("GET", url + "/")))

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(one)
            assert results == [(200, b"GET / HTTP/1.1")] * 3
            assert server.connections == 3
            assert transport._resolver.lookups == 1


async def test_no_response_head_in_time_is_a_read_timeout() -> None:
    async def silent(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await anyio.sleep_forever()
        return False

    with anyio.fail_after(10):
        async with serve(silent) as server, lean(timeouts=Timeouts(first_byte=0.2)) as transport:
            start = anyio.current_time()
            with pytest.raises(ReadTimeout):
                await transport.send(get(server))
            assert 0.15 < anyio.current_time() - start < 2
            assert transport.pool.open_connections == 0


async def test_a_slow_body_is_not_timed_by_the_transport() -> None:
    async def pause(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
        await stream.send(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nab")
        await anyio.sleep(0.4)
        await stream.send(b"cd")
        return True

    with anyio.fail_after(10):
        async with serve(pause) as server, lean(timeouts=Timeouts(first_byte=0.1)) as transport:
            assert await fetch(transport, get(server)) == (200, b"abcd")


async def test_the_pool_limit_holds_and_the_wait_is_a_pool_timeout() -> None:
    # Limits(1) opens at most 1 + 4 connections (four for token fetches).
    with anyio.fail_after(10):
        async with (
            serve(ok) as server,
            lean(
                limits=Limits(max_concurrent_requests=1), timeouts=Timeouts(pool=0.2)
            ) as transport,
        ):
            held = [await transport.send(get(server)) for _ in range(5)]
            with pytest.raises(PoolTimeout):
                await transport.send(get(server))

            async def later() -> None:
                await anyio.sleep(0.05)
                await close_response(held.pop())

            async with anyio.create_task_group() as tg:
                tg.start_soon(later)
                # Waits for the closed one's slot (the wait is bounded, not refused).
                assert await fetch(transport, get(server)) == (200, b"GET / HTTP/1.1")
            for response_ in held:
                await close_response(response_)
            assert server.connections == 6


async def test_waiters_for_the_pool_are_served_as_connections_free_up() -> None:
    with anyio.fail_after(20):
        async with serve(ok) as server, lean(limits=Limits(max_concurrent_requests=1)) as transport:
            results: list[int] = []

            async def one() -> None:
                results.append((await fetch(transport, get(server)))[0])

            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(one)
            assert results == [200] * 50
            assert server.connections <= 5


# --- TLS and proxies -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_tls_with_a_given_context(ca: trustme.CA) -> None:
    with anyio.fail_after(10):
        async with (
            serve(ok, tls=server_context(ca)) as server,
            lean(verify=client_context(ca)) as transport,
        ):
            assert await fetch(transport, get(server)) == (200, b"GET / HTTP/1.1")
            assert await fetch(transport, get(server)) == (200, b"GET / HTTP/1.1")
            assert server.connections == 1


async def test_tls_to_an_untrusted_server_is_a_connect_error(ca: trustme.CA) -> None:
    with anyio.fail_after(10):
        async with (
            serve(ok, tls=server_context(ca)) as server,
            lean(verify=ssl.create_default_context()) as transport,
        ):
            with pytest.raises(ConnectError, match=r"(?i)certificate"):
                await transport.send(get(server))


async def test_a_server_that_never_finishes_the_handshake_is_a_connect_timeout(
    ca: trustme.CA,
) -> None:
    async def mute(stream: anyio.abc.ByteStream) -> None:
        async with stream:
            await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    with anyio.fail_after(10):
        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, mute)
            async with lean(verify=client_context(ca), timeouts=Timeouts(connect=0.2)) as transport:
                with pytest.raises(ConnectTimeout):
                    await transport.send(Request("GET", f"https://127.0.0.1:{port}/"))
            tg.cancel_scope.cancel()


@dataclass
class Proxy:
    url: str
    tunnels: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@asynccontextmanager
async def connect_proxy(*, refuse: bool = False) -> AsyncIterator[Proxy]:
    """A tiny HTTP proxy that opens CONNECT tunnels (or refuses them with 407)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    proxy = Proxy(f"http://user:p%40ss@127.0.0.1:{port}")

    async def pipe(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        try:
            async for data in source:
                await sink.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            await anyio.aclose_forcefully(sink)

    async def tunnel(client: anyio.abc.ByteStream) -> None:
        async with client:
            request = await read_request(client, bytearray())
            assert request is not None
            line, headers, _ = request
            proxy.tunnels.append((line, headers))
            if refuse:
                await client.send(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n"
                )
                return
            host, port_ = line.split()[1].rsplit(":", 1)
            async with await anyio.connect_tcp(host, int(port_)) as upstream:
                await client.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
                async with anyio.create_task_group() as tg:
                    tg.start_soon(pipe, client, upstream)
                    tg.start_soon(pipe, upstream, client)

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, tunnel)
        yield proxy
        tg.cancel_scope.cancel()


async def test_https_through_a_connect_proxy(ca: trustme.CA) -> None:
    with anyio.fail_after(10):
        async with serve(ok, tls=server_context(ca)) as server, connect_proxy() as proxy:
            async with lean(verify=client_context(ca), proxy=proxy.url) as transport:
                assert await fetch(transport, get(server)) == (200, b"GET / HTTP/1.1")
                assert await fetch(transport, get(server)) == (200, b"GET / HTTP/1.1")
    authority = server.url.removeprefix("https://")
    assert [line for line, _ in proxy.tunnels] == [f"CONNECT {authority} HTTP/1.1"]
    # user:p@ss, as Basic credentials
    assert proxy.tunnels[0][1]["proxy-authorization"] == "Basic dXNlcjpwQHNz"


async def test_a_proxy_refusing_the_tunnel_is_a_connect_error(ca: trustme.CA) -> None:
    with anyio.fail_after(10):
        async with serve(ok, tls=server_context(ca)) as server, connect_proxy(refuse=True) as proxy:
            async with lean(verify=client_context(ca), proxy=proxy.url) as transport:
                with pytest.raises(ConnectError, match="407"):
                    await transport.send(get(server))


# --- closing ---------------------------------------------------------------------------------


async def test_aclose_closes_busy_and_idle_connections() -> None:
    with anyio.fail_after(10):
        async with serve(ok) as server:
            transport = await LeanTransport.open(tls=False)
            busy = await transport.send(get(server))  # one busy
            await fetch(transport, get(server))  # one idle
            assert transport.pool.open_connections == 2
            await transport.aclose()
            assert transport.pool.open_connections == 0
            await server.wait_closed(2)
            await close_response(busy)  # closing after the transport is harmless


async def test_infinite_timeouts_are_accepted() -> None:
    forever = Timeouts(connect=math.inf, first_byte=math.inf, write=math.inf, pool=math.inf)
    with anyio.fail_after(10):
        async with serve(ok) as server, lean(timeouts=forever) as transport:
            assert (await fetch(transport, get(server)))[0] == 200
