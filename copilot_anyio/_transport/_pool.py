"""The lean transport's connection pool: idle connections per origin, O(1) to take and give back.

Theory of operation
-------------------
Each origin has a deque of idle connections. ``acquire`` pops the most recently used one (so a
conversation's next request finds the connection its last one used, still warm), checks that
the peer has not closed it meanwhile, and hands it out; ``release`` appends it again. Neither
looks at any other connection: the cost of a request does not grow with the pool.

``limit`` caps the connections open at once (idle, busy or being opened). When every one is
busy, ``acquire`` waits in a FIFO queue; a released or closed connection wakes the first
waiter. When the cap is reached only because other origins hold idle connections, the oldest
of them is closed to make room. A connection idle longer than ``keepalive_expiry`` is closed
rather than reused (servers drop idle connections after a while, and a connection they dropped
while the request was on its way would fail it).

Only the wait is timed (``PoolTimeout``); a free or idle connection costs no cancel scope.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import anyio

from .._errors import PoolTimeout
from ._connection import Connection

__all__ = ["KEEPALIVE_EXPIRY", "Pool"]

#: How long an idle connection is kept (httpx's default; servers keep theirs longer).
KEEPALIVE_EXPIRY: Final = 5.0


class Pool:
    """Connections by origin, at most ``limit`` open. See the module docstring."""

    __slots__ = ("_closed", "_idle", "_idle_count", "_open", "_waiters", "expiry", "limit")

    def __init__(self, limit: int, *, keepalive_expiry: float = KEEPALIVE_EXPIRY) -> None:
        self.limit = limit
        self.expiry = keepalive_expiry
        self._idle: dict[str, deque[Connection]] = {}
        self._idle_count = 0
        #: every connection open or being opened, busy or idle
        self._open: set[Connection | object] = set()
        self._waiters: deque[anyio.Event] = deque()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Pool open={len(self._open)} idle={self._idle_count} limit={self.limit}>"

    @property
    def open_connections(self) -> int:
        return len(self._open)

    @property
    def idle_connections(self) -> int:
        return self._idle_count

    async def acquire(self, origin: str, *, within: float) -> Connection | object:
        """An idle connection to ``origin``, or a slot token for opening a new one.

        The caller either uses the connection and calls ``release`` or ``discard``, or opens a
        connection in the slot and calls ``opened(token, connection)`` (``discard(token)`` if
        opening failed). Raises PoolTimeout after waiting ``within`` seconds for room.
        """
        deadline = math.inf
        while True:
            if self._closed:
                raise PoolTimeout("the transport is closed")
            found = await self._take_idle(origin)
            if found is not None:
                return found
            if len(self._open) >= self.limit and self._idle_count:
                await self._evict_one()
            if len(self._open) < self.limit:
                token = object()
                self._open.add(token)
                return token
            if deadline == math.inf and within != math.inf:
                deadline = anyio.current_time() + within
            await self._wait(deadline, within)

    def opened(self, token: object, connection: Connection) -> None:
        """The connection opened in ``token``'s slot now holds it."""
        self._open.discard(token)
        self._open.add(connection)

    def release(self, connection: Connection) -> bool:
        """Give a connection whose last response was read to its end back for reuse.

        False when the pool will not take it (it is closed): then the caller closes it.
        """
        if self._closed or connection not in self._open:
            return False
        connection.idle_since = anyio.current_time()
        idle = self._idle.get(connection.origin)
        if idle is None:
            idle = self._idle[connection.origin] = deque()
        idle.append(connection)
        self._idle_count += 1
        self._wake()
        return True

    def discard(self, connection: Connection | object) -> None:
        """Forget a connection (closed by the caller) or a slot that was not used."""
        if connection in self._open:
            self._open.discard(connection)
            self._wake()

    async def aclose(self) -> list[Connection]:
        """Close the idle connections; returns the busy ones for the caller to close."""
        self._closed = True
        busy = [c for c in self._open if isinstance(c, Connection)]
        self._open.clear()
        self._idle.clear()
        self._idle_count = 0
        for waiter in self._waiters:
            waiter.set()
        self._waiters.clear()
        return busy

    # --- inside ----------------------------------------------------------------------------

    async def _take_idle(self, origin: str) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        oldest_kept = anyio.current_time() - self.expiry
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.idle_since >= oldest_kept and not connection.readable_while_idle():
                return connection
            self._open.discard(connection)
            await connection.aclose()
            # Everything older than an expired connection has expired too.
            if connection.idle_since < oldest_kept:
                while idle:
                    old = idle.popleft()
                    self._idle_count -= 1
                    self._open.discard(old)
                    await old.aclose()
        return None

    async def _evict_one(self) -> None:
        for idle in self._idle.values():
            if idle:
                connection = idle.popleft()
                self._idle_count -= 1
                self._open.discard(connection)
                await connection.aclose()
                return

    def _wake(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()

    async def _wait(self, deadline: float, within: float) -> None:
        event = anyio.Event()
        self._waiters.append(event)
        woken = False
        try:
            with anyio.move_on_after(deadline - anyio.current_time()):
                await event.wait()
                woken = True
        finally:
            if not woken:
                if event.is_set():
                    self._wake()  # woken and cancelled at once: pass the turn on
                else:
                    self._waiters.remove(event)
        if not woken:
            raise PoolTimeout(f"no connection became free within {within} s")
