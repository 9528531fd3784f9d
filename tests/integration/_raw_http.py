"""A tiny raw HTTP/1.1 server for replies no real server should send: bad token replies, login
pages, redirects, connections reset before or after the headers.

A handler gets the parsed request and returns the bytes to send, or ``RESET`` to abort the
connection (an RST, not a clean close) instead of answering, or an async generator of pieces to
send one by one as the client takes them (each ``send`` waits while the socket's buffers are
full: a streamed reply that feels the client's backpressure).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from typing import Final

import anyio
from anyio.abc import SocketAttribute, SocketStream

__all__ = ["RESET", "RawServer", "Seen", "html_reply", "json_reply", "raw_server", "sse_reply"]

#: Returned by a handler: abort the connection without answering.
RESET: Final = b"\x00RESET"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class RawServer:
    url: str
    seen: list[Seen] = field(default_factory=list)


Handler = Callable[[Seen], Awaitable[bytes | AsyncGenerator[bytes, None]]]


async def _read_request(stream: SocketStream, buffer: bytearray) -> Seen | None:
    while b"\r\n\r\n" not in buffer:
        try:
            buffer.extend(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return None
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += await stream.receive()
    buffer[:] = rest[length:]
    return Seen(method, path, headers)


def _reset(stream: SocketStream) -> None:
    sock = stream.extra(SocketAttribute.raw_socket)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[RawServer]:
    """Serves ``handler``'s bytes for each request, keep-alive, until the block ends."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(SocketAttribute.local_port)
    server = RawServer(f"http://127.0.0.1:{port}")

    async def serve(stream: SocketStream) -> None:
        buffer = bytearray()
        async with stream:
            while (request := await _read_request(stream, buffer)) is not None:
                server.seen.append(request)
                reply = await handler(request)
                if not isinstance(reply, bytes):
                    try:
                        async with aclosing(reply):
                            async for piece in reply:
                                await stream.send(piece)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        return
                    continue
                if reply.startswith(RESET):
                    if len(reply) > len(RESET):  # a head start, then the reset
                        await stream.send(reply[len(RESET) :])
                    _reset(stream)
                    return
                try:
                    await stream.send(reply)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        yield server
        tg.cancel_scope.cancel()


def _reply(status: str, content_type: str, body: str, extra: tuple[str, ...]) -> bytes:
    data = body.encode()
    head = [f"HTTP/1.1 {status}", f"content-type: {content_type}", *extra]
    head.append(f"content-length: {len(data)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def json_reply(status: str, body: str, *extra: str) -> bytes:
    return _reply(status, "application/json", body, extra)


def html_reply(status: str, body: str, *extra: str) -> bytes:
    return _reply(status, "text/html; charset=utf-8", body, extra)


def sse_reply(*payloads: str) -> bytes:
    return _reply("200 OK", "text/event-stream", "".join(f"data: {p}\n\n" for p in payloads), ())
