"""The end-to-end benchmark's server: a fast, paced Copilot stand-in in a process of its own.

``python -m benchmarks.e2e_server --k 50 --interval 0.02`` binds 127.0.0.1 on a free port,
prints ``PORT <n>`` on stdout and serves until stdin closes (or it is terminated).

It must never be the bottleneck, so it is as cheap per chunk as a Python server gets: an
``asyncio.Protocol`` with a tiny HTTP/1.1 parser (Content-Length bodies, keep-alive), every
event pre-encoded as a chunked-transfer frame, and one timer for all streams: a ring of slots
``interval / SLOTS`` apart in which each stream keeps its place, so the loop wakes once per slot
whatever the number of streams. It runs on plain asyncio; ``--uvloop`` opts in to uvloop where
it is installed (on the machine this was written on it was no cheaper per chunk: the kernel's
loopback send is most of the cost).

Routes (protocol.md §2, §3.2, §3.5):

* ``POST /github-copilot/chat/token`` → ``{"token": ...}``
* ``POST /github/chat/threads`` → ``{"thread_id": ..., "thread": {...}}``
* ``POST /github/chat/threads/{id}/messages`` → ``text/event-stream``: ``k`` content events,
  ``interval`` apart (the first at once, with the headers), then ``complete``; no ``[DONE]``.
* ``GET /copilot_internal/v2/token`` (``Authorization: token ghu_…``) → a Copilot token
  envelope whose ``endpoints.api`` is this server.
* ``GET /models`` (``Authorization: Bearer <that token>``) → ``{"data": [the benchmark's
  model], "object": "list"}``, routed to ``/chat/completions``.
* ``POST /chat/completions`` (same) → Copilot's stream (§4.3): a leading chunk with empty
  ``choices`` and ``prompt_filter_results``, then ``k`` ``chat.completion.chunk`` content
  deltas ``interval`` apart (the leading chunk and the first delta, which carries
  ``role: assistant``, at once with the headers; every choice with its
  ``content_filter_results``), then a ``finish_reason: stop`` chunk with ``usage``, and
  ``data: [DONE]``. A CAPI call without the Copilot token is answered 401.
* ``POST /_bench/arm``: from now on hold every stream after its first event (the clients measure
  their memory with all streams open and idle); ``POST /_bench/release`` lets the held streams
  go on and disarms; ``GET /_bench/stats`` → the server's CPU time, RSS and counters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import socket
import sys
import time
from typing import Any, Final

from . import e2e_wire as wire

SLOTS: Final = 10
_MAX_HEAD: Final = 64 * 1024


def raise_fd_limit() -> int:
    """Raise the soft limit on open files to the hard one; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def _frame(payload: bytes) -> bytes:
    """One chunked-transfer chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _sse(obj: Any) -> bytes:
    return b"data: " + wire.encode_json(obj) + b"\n\n"


# Every content event, pre-encoded and framed: writing a chunk is one dict-free list lookup.
_WEB_EVENTS: Final = tuple(_frame(_sse({"type": "content", "body": p})) for p in wire.PIECES)
_FILTERS: Final = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}


def _ide_chunk(delta: dict[str, Any]) -> bytes:
    return _frame(
        _sse(
            {
                "choices": [{"index": 0, "content_filter_results": _FILTERS, "delta": delta}],
                "created": 1750000000,
                "id": "chatcmpl-bench",
                "model": wire.MODEL,
                "object": "chat.completion.chunk",
                "usage": None,
            }
        )
    )


_IDE_EVENTS: Final = tuple(_ide_chunk({"content": p}) for p in wire.PIECES)
#: The first delta names the role, as Copilot's do (protocol.md §4.3).
_IDE_FIRST_EVENTS: Final = tuple(
    _ide_chunk({"role": "assistant", "content": p}) for p in wire.PIECES
)
#: Copilot's leading chunk: no choices, the prompt's content-filter verdicts.
_IDE_LEAD: Final = _frame(
    _sse(
        {
            "choices": [],
            "created": 0,
            "id": "",
            "prompt_filter_results": [
                {"prompt_index": 0, "content_filter_results": _FILTERS},
            ],
        }
    )
)
_LAST_CHUNK: Final = b"0\r\n\r\n"

_STREAM_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\n"
    b"access-control-allow-origin: https://github.com\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
_IDE_STREAM_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream\r\n"
    b"cache-control: no-cache\r\n"
    b"x-request-id: 00000000-0000-4000-8000-000000000000\r\n"
    b"x-github-request-id: BENC:0000:0000000:0000000:00000000\r\n"
    b"transfer-encoding: chunked\r\n"
    b"\r\n"
)
#: Every CAPI call must carry the token the exchange hands out (lower-cased, as heads are read).
_COPILOT_TOKEN: Final = "tid=bench;exp=9999999999;sku=bench:00"
_CAPI_AUTH: Final = b"\r\nauthorization: bearer " + _COPILOT_TOKEN.encode() + b"\r\n"
_GITHUB_AUTH: Final = b"\r\nauthorization: token " + wire.GITHUB_TOKEN.encode() + b"\r\n"


def _web_complete(i: int) -> bytes:
    return _frame(
        _sse(
            {
                "type": "complete",
                "id": f"msg-{i}",
                "parentMessageID": f"user-{i}",
                "model": wire.MODEL,
                "turnId": "",
                "createdAt": "2026-12-01T12:00:00.123456789Z",
                "references": [],
                "role": "assistant",
                "intent": "conversation",
                "copilotAnnotations": {"CodeVulnerability": [], "PublicCodeReference": []},
            }
        )
    )


_IDE_FINISH: Final = _frame(
    _sse(
        {
            "choices": [
                {
                    "index": 0,
                    "content_filter_results": _FILTERS,
                    "delta": {"content": None},
                    "finish_reason": "stop",
                }
            ],
            "created": 1750000000,
            "id": "chatcmpl-bench",
            "model": wire.MODEL,
            "object": "chat.completion.chunk",
            "usage": {"prompt_tokens": 9, "completion_tokens": 50, "total_tokens": 59},
        }
    )
) + _frame(b"data: [DONE]\n\n")


_CAPI_PATHS: Final = frozenset((wire.COMPLETIONS_PATH, wire.MODELS_PATH))
_MODELS: Final = {"data": [wire.model_entry()], "object": "list"}


def _json_response(status: bytes, obj: Any, close: bool) -> bytes:
    body = wire.encode_json(obj)
    return b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s\r\n%s" % (
        status,
        len(body),
        b"connection: close\r\n" if close else b"",
        body,
    )


class Stream:
    """One streaming reply in progress."""

    __slots__ = ("close", "conn", "events", "finish", "i", "j", "k")

    def __init__(
        self, conn: Connection, i: int, k: int, events: tuple[bytes, ...], finish: bytes
    ) -> None:
        self.conn = conn
        self.i = i
        self.j = 0  # content events sent
        self.k = k
        self.events = events
        self.finish = finish
        self.close = False

    def step(self) -> bool:
        """Write the next event; False once the reply is over (or the client has gone)."""
        transport = self.conn.transport
        if transport is None or transport.is_closing():
            self.conn.server.streams_aborted += 1
            return False
        if self.j < self.k:
            transport.write(self.events[wire.piece_index(self.i, self.j)])
            self.j += 1
            self.conn.server.chunks_sent += 1
            if self.j < self.k:
                return True
        transport.write(self.finish + _LAST_CHUNK)
        server = self.conn.server
        server.streams_completed += 1
        self.conn.stream = None
        if self.close:
            transport.close()
        elif self.conn.buffer:
            self.conn.parse()
        return False


class Server:
    def __init__(self, loop: asyncio.AbstractEventLoop, k: int, interval: float) -> None:
        self.loop = loop
        self.k = k
        self.interval = interval
        self.resolution = interval / SLOTS
        self.ring: list[list[Stream]] = [[] for _ in range(SLOTS)]
        self.pos = 0
        self.active = 0
        self.next_tick = 0.0
        self.ticking = False
        self.armed = False
        self.held: list[Stream] = []
        self.threads = 0
        self.token_exchanges = 0
        self.model_lists = 0
        self.requests = 0
        self.connections = 0
        self.max_connections = 0
        self.streams_started = 0
        self.streams_completed = 0
        self.streams_aborted = 0
        self.chunks_sent = 0
        self.late_ticks = 0

    # --- pacing ---------------------------------------------------------------------------

    def schedule(self, stream: Stream, slot: int | None = None) -> None:
        # A stream joins the slot just served: it comes round again one interval later.
        self.ring[self.pos if slot is None else slot].append(stream)
        self.active += 1
        if not self.ticking:
            self.ticking = True
            self.next_tick = self.loop.time() + self.resolution
            self.loop.call_at(self.next_tick, self.tick)

    def tick(self) -> None:
        now = self.loop.time()
        if now - self.next_tick > self.resolution:
            self.late_ticks += 1
        while self.next_tick <= now:
            self.pos = pos = (self.pos + 1) % SLOTS
            bucket = self.ring[pos]
            if bucket:
                kept = [s for s in bucket if s.step()]
                self.active -= len(bucket) - len(kept)
                self.ring[pos] = kept
            self.next_tick += self.resolution
        if self.active:
            self.loop.call_at(self.next_tick, self.tick)
        else:
            self.ticking = False

    # --- control --------------------------------------------------------------------------

    def release(self) -> int:
        held, self.held = self.held, []
        self.armed = False
        # Spread the released streams over the ring so they do not all fire in one slot.
        for n, stream in enumerate(held):
            self.schedule(stream, (self.pos + 1 + n) % SLOTS)
        return len(held)

    def stats(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "cpu_s": time.process_time(),
            "utime_s": usage.ru_utime,
            "stime_s": usage.ru_stime,
            "maxrss_kib": usage.ru_maxrss,
            "requests": self.requests,
            "threads": self.threads,
            "token_exchanges": self.token_exchanges,
            "model_lists": self.model_lists,
            "connections": self.connections,
            "max_connections": self.max_connections,
            "streams_started": self.streams_started,
            "streams_completed": self.streams_completed,
            "streams_aborted": self.streams_aborted,
            "streams_active": self.active,
            "streams_held": len(self.held),
            "chunks_sent": self.chunks_sent,
            "late_ticks": self.late_ticks,
            "loop": type(self.loop).__module__,
        }


class Connection(asyncio.Protocol):
    __slots__ = ("buffer", "server", "stream", "transport")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.stream: Stream | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        server = self.server
        server.connections += 1
        server.max_connections = max(server.max_connections, server.connections)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections -= 1
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer = self.buffer + data if self.buffer else data
        if self.stream is None:
            self.parse()

    def parse(self) -> None:
        """Answer every complete request in the buffer (one at a time while a reply streams)."""
        while self.stream is None and self.transport is not None:
            buffer = self.buffer
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self.transport.close()
                return
            head = buffer[:end].lower()
            length = 0
            at = head.find(b"\r\ncontent-length:")
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            elif b"\r\ntransfer-encoding:" in head:
                self.transport.write(_json_response(b"411 Length Required", {}, True))
                self.transport.close()
                return
            total = end + 4 + length
            if len(buffer) < total:
                return
            body = buffer[end + 4 : total]
            self.buffer = buffer[total:]
            method, target, _ = buffer[: buffer.find(b"\r\n")].split(b" ", 2)
            close = b"\r\nconnection: close" in head
            self.handle(method, target.decode("latin-1"), head, body, close)

    def handle(self, method: bytes, target: str, head: bytes, body: bytes, close: bool) -> None:
        server = self.server
        server.requests += 1
        transport = self.transport
        assert transport is not None
        path = target.split("?", 1)[0]
        if method == b"POST" and path.startswith(wire.THREADS_PATH + "/"):
            if path.endswith("/messages"):
                self.start_stream(wire.conversation_of(body), _WEB_EVENTS, None, close)
                return
        elif method == b"POST" and path == wire.THREADS_PATH:
            server.threads += 1
            tid = f"thread-{server.threads}"
            reply = {
                "thread_id": tid,
                "thread": {
                    "id": tid,
                    "name": "",
                    "repoID": 0,
                    "repoOwnerID": 0,
                    "createdAt": "2026-12-01T12:00:00Z",
                    "updatedAt": "2026-12-01T12:00:00Z",
                    "sharedAt": None,
                    "associatedRepoIDs": [],
                },
            }
            transport.write(_json_response(b"201 Created", reply, close))
        elif method == b"POST" and path == wire.WEB_TOKEN_PATH:
            transport.write(_json_response(b"200 OK", {"token": "bench-web-token=" * 6}, close))
        elif path in _CAPI_PATHS and _CAPI_AUTH not in head + b"\r\n":
            unauthorized = {"error": {"message": "unauthorized: token expired", "code": 401}}
            transport.write(_json_response(b"401 Unauthorized", unauthorized, close))
        elif method == b"POST" and path == wire.COMPLETIONS_PATH:
            self.start_stream(wire.conversation_of(body), None, None, close)
            return
        elif method == b"GET" and path == wire.MODELS_PATH:
            server.model_lists += 1
            transport.write(_json_response(b"200 OK", _MODELS, close))
        elif method == b"GET" and path == wire.IDE_TOKEN_PATH:
            if _GITHUB_AUTH not in head + b"\r\n":
                refused = {"message": "Bad credentials", "status": "401"}
                transport.write(_json_response(b"401 Unauthorized", refused, close))
            else:
                server.token_exchanges += 1
                host = f"http://127.0.0.1:{transport.get_extra_info('sockname')[1]}"
                envelope = {
                    "token": _COPILOT_TOKEN,
                    "expires_at": 9999999999,
                    "refresh_in": 1500,
                    "sku": "monthly_subscriber",
                    "chat_enabled": True,
                    "endpoints": {"api": host},
                }
                transport.write(_json_response(b"200 OK", envelope, close))
        elif method == b"POST" and path == wire.CONTROL_ARM:
            server.armed = True
            transport.write(_json_response(b"200 OK", {"armed": True}, close))
        elif method == b"POST" and path == wire.CONTROL_RELEASE:
            released = server.release()
            transport.write(_json_response(b"200 OK", {"released": released}, close))
        elif method == b"GET" and path == wire.CONTROL_STATS:
            transport.write(_json_response(b"200 OK", server.stats(), close))
        else:
            transport.write(_json_response(b"404 Not Found", {"message": "Not Found"}, close))
        if close:
            transport.close()

    def start_stream(
        self, i: int, events: tuple[bytes, ...] | None, finish: bytes | None, close: bool
    ) -> None:
        """A web stream (``events`` given; ``finish`` None: its ``complete`` event) or, with
        ``events`` None, an IDE one."""
        server = self.server
        transport = self.transport
        assert transport is not None
        server.streams_started += 1
        if events is None:
            # IDE: the head, the leading chunk and the first delta go out together.
            stream = Stream(self, i, server.k, _IDE_EVENTS, _IDE_FINISH)
            transport.write(
                _IDE_STREAM_HEAD + _IDE_LEAD + _IDE_FIRST_EVENTS[wire.piece_index(i, 0)]
            )
            stream.j = 1
            server.chunks_sent += 1
        else:
            stream = Stream(
                self, i, server.k, events, _web_complete(i) if finish is None else finish
            )
            transport.write(_STREAM_HEAD)
        stream.close = close
        self.stream = stream
        if events is not None and not stream.step():  # the first event goes out with the head
            return
        if server.armed:
            server.held.append(stream)
        else:
            server.schedule(stream)


async def serve(k: int, interval: float, port: int, backlog: int) -> None:
    loop = asyncio.get_running_loop()
    server = Server(loop, k, interval)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    listener = await loop.create_server(lambda: Connection(server), sock=sock, backlog=backlog)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    # Serve until the parent closes our stdin (or goes away).
    stdin_closed = loop.create_future()

    def watch() -> None:
        try:
            sys.stdin.buffer.read()
        finally:
            loop.call_soon_threadsafe(stdin_closed.set_result, None)

    loop.run_in_executor(None, watch)
    try:
        await stdin_closed
    finally:
        listener.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_server")
    parser.add_argument("--k", type=int, default=50, help="content events per reply")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between events")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--backlog", type=int, default=65535)
    parser.add_argument("--uvloop", action="store_true", help="serve on uvloop (if installed)")
    args = parser.parse_args(argv)
    raise_fd_limit()
    gc.freeze()  # nothing allocated so far needs scanning again
    runner: Any = asyncio.run
    if args.uvloop:
        try:
            import uvloop  # type: ignore[import-not-found, unused-ignore]

            runner = uvloop.run
        except ImportError:
            pass
    with contextlib.suppress(KeyboardInterrupt):
        runner(serve(args.k, args.interval, args.port, args.backlog))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
