"""One HTTP/1.1 connection of the lean transport: a byte stream, its socket, its origin.

A connection carries one request at a time. Between requests it sits in the pool
(``_pool.py``); before it is taken again, ``readable_while_idle`` asks the kernel whether the
peer sent anything meanwhile. A server sends nothing unasked on an idle HTTP/1.1 connection
except its close (a FIN, a reset, or a TLS close_notify), so anything readable means the
connection is finished: it is closed instead of failing the next request.
"""

from __future__ import annotations

import select
import socket
from typing import Final

import anyio
from anyio.abc import ByteStream, SocketAttribute

__all__ = ["Connection", "socket_of"]

_POLL: Final = getattr(select, "poll", None)
_READABLE: Final = (
    getattr(select, "POLLIN", 1) | getattr(select, "POLLHUP", 16) | getattr(select, "POLLERR", 8)
)


def socket_of(stream: ByteStream) -> socket.socket | None:
    """The socket under ``stream`` (through TLS), or None when it has none."""
    raw: socket.socket | None = stream.extra(SocketAttribute.raw_socket, None)
    return raw


class Connection:
    """A connection to ``origin`` (``"https://host:443"``) over ``stream``.

    Attributes:
        origin: the pool key.
        stream: the byte stream requests are written to and responses read from.
        idle_since: ``anyio.current_time()`` when it last went back to the pool.
        requests: how many requests it has carried (more than one: it was reused).
    """

    __slots__ = ("_fileno", "idle_since", "origin", "requests", "stream")

    def __init__(self, origin: str, stream: ByteStream) -> None:
        self.origin = origin
        self.stream = stream
        sock = socket_of(stream)
        self._fileno = -1 if sock is None else sock.fileno()
        self.idle_since = 0.0
        self.requests = 0

    def __repr__(self) -> str:
        return f"<Connection {self.origin} requests={self.requests}>"

    def readable_while_idle(self) -> bool:
        """Did the peer send anything (its close, usually) since the last response ended?

        A non-blocking poll of the socket: no byte is consumed. On asyncio the loop stops
        reading a stream between receives, so an idle connection's close waits in the kernel
        for this check on both backends.
        """
        fileno = self._fileno
        if fileno < 0:
            return False
        try:
            if _POLL is not None:
                poller = _POLL()
                poller.register(fileno, _READABLE)
                return bool(poller.poll(0))
            readable, _, _ = select.select([fileno], [], [], 0)
            return bool(readable)
        except (OSError, ValueError):
            return True

    async def aclose(self) -> None:
        """Close at once, without a TLS goodbye: the peer may be gone, and nobody waits on it."""
        await anyio.aclose_forcefully(self.stream)
