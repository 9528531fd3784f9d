"""Opening TCP connections for the lean transport: names resolved once, sockets dialled directly.

Theory of operation
-------------------
``anyio.connect_tcp`` resolves the host name in a worker thread for every connection and runs
each connection attempt in a task group of its own (Happy Eyeballs, RFC 8305), even for a
single address. Thousands of connections to one host pay that thousands of times: on asyncio
it cost a quarter of the CPU of opening a conversation, and its cancelled attempts left garbage
that held 7 KiB of memory per open stream (``benchmarks/gc_census.py``, N = 2,000).

Here a ``Resolver`` keeps each name's addresses for ``DNS_TTL`` seconds (aiohttp's default
too) and lets concurrent lookups of one name share one; an IP address is never looked up. A
single address is dialled directly: a non-blocking socket, ``anyio.wait_writable`` until the
kernel has connected it, then ``SocketStream.from_socket``. Several addresses race as Happy
Eyeballs says: the next attempt starts when the previous one failed or after
``HAPPY_EYEBALLS_DELAY``, the first to connect wins and the others are closed.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import anyio
from anyio.abc import SocketStream

__all__ = [
    "DNS_TTL",
    "HAPPY_EYEBALLS_DELAY",
    "Resolver",
    "connect_address",
    "connect_any",
    "happy_order",
    "literal",
]

#: How long a name's addresses are reused before it is looked up again (seconds).
DNS_TTL: Final = 10.0
#: How long an attempt has before the next address is tried beside it (RFC 8305: 250 ms).
HAPPY_EYEBALLS_DELAY: Final = 0.25

#: ``connect_ex`` results that mean "in progress" (``WSAEWOULDBLOCK`` on Windows).
_IN_PROGRESS: Final = frozenset(
    {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, getattr(errno, "WSAEWOULDBLOCK", 10035)}
)

#: (address family, socket address) pairs, in the order they are to be tried; the socket address
#: is what ``connect`` takes (an IPv6 one keeps its flow info and scope id).
Address = tuple[int, tuple[Any, ...]]
Addresses = Sequence[Address]
Lookup = Callable[[str, int], Awaitable[list[tuple[Any, ...]]]]


async def _getaddrinfo(host: str, port: int) -> list[tuple[Any, ...]]:
    return list(await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM))


def literal(host: str, port: int) -> Address | None:
    """``host``:``port`` as an address to connect to if ``host`` is an IP address, else None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.version == 6:
        return socket.AF_INET6, (str(address), port, 0, 0)
    return socket.AF_INET, (str(address), port)


def happy_order(infos: Sequence[tuple[Any, ...]]) -> list[Address]:
    """``getaddrinfo`` results as addresses to try: the first IPv6 one, then the first IPv4 one,
    then the rest in their order (RFC 8305 §4, as ``anyio.connect_tcp`` orders them)."""
    addresses: list[Address] = []
    for family, *_, sockaddr in infos:
        pair = (int(family), tuple(sockaddr))
        if pair not in addresses:
            addresses.append(pair)
    first6 = next((a for a in addresses if a[0] == socket.AF_INET6), None)
    first4 = next((a for a in addresses if a[0] == socket.AF_INET), None)
    lead = [a for a in (first6, first4) if a is not None]
    return lead + [a for a in addresses if a not in lead]


class _Lookup:
    """One lookup in flight: its waiters wait on ``done`` and share its answer or its error."""

    __slots__ = ("addresses", "done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.addresses: list[Address] | None = None
        self.error: OSError | None = None


class Resolver:
    """Host names to addresses, each kept for ``ttl`` seconds; one lookup per name at a time,
    whose answer or error every connection waiting for it shares.

    A failed lookup is not remembered: the next connection asks again.
    """

    def __init__(self, ttl: float = DNS_TTL, lookup: Lookup = _getaddrinfo) -> None:
        self.ttl = ttl
        self._lookup = lookup
        self._cache: dict[tuple[str, int], tuple[float, list[Address]]] = {}
        self._pending: dict[tuple[str, int], _Lookup] = {}
        #: lookups made (not answered from the cache): for tests and statistics
        self.lookups = 0

    def __repr__(self) -> str:
        return f"<Resolver {len(self._cache)} names, ttl={self.ttl}>"

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses of ``host`` in the order to try them. Raises OSError (a failed
        lookup, ``socket.gaierror``, or a name with no address)."""
        pair = literal(host, port)
        if pair is not None:
            return [pair]
        key = (host, port)
        while True:
            cached = self._cache.get(key)
            if cached is not None and cached[0] > anyio.current_time():
                return cached[1]
            flight = self._pending.get(key)
            if flight is None:
                break
            await flight.done.wait()  # someone else is looking it up: share the outcome
            if flight.addresses is not None:
                return flight.addresses
            if flight.error is not None:
                raise type(flight.error)(*flight.error.args)  # each waiter its own exception
            # that lookup was cancelled: look again
        flight = self._pending[key] = _Lookup()
        try:
            self.lookups += 1
            addresses = happy_order(await self._lookup(host, port))
            if not addresses:
                raise OSError(f"{host} has no address")
            self._cache[key] = (anyio.current_time() + self.ttl, addresses)
            flight.addresses = addresses
            return addresses
        except OSError as exc:
            flight.error = exc
            raise
        finally:
            del self._pending[key]
            flight.done.set()


async def connect_address(family: int, sockaddr: tuple[Any, ...]) -> SocketStream:
    """A TCP stream to one address: a non-blocking socket connected without a worker thread or
    a task. Raises OSError when the connection is refused or fails."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(sockaddr)
        if code in _IN_PROGRESS:
            await anyio.wait_writable(sock)
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            where = f"{sockaddr[0]} port {sockaddr[1]}"
            raise OSError(code, f"connecting to {where}: {os.strerror(code)}")
        return await SocketStream.from_socket(sock)
    except BaseException:
        sock.close()
        raise


Connect = Callable[[int, tuple[Any, ...]], Awaitable[SocketStream]]


async def connect_any(
    addresses: Addresses,
    *,
    connect: Connect = connect_address,
    delay: float = HAPPY_EYEBALLS_DELAY,
) -> SocketStream:
    """A TCP stream to the first of ``addresses`` that connects (Happy Eyeballs when there are
    several). Raises OSError naming every failure when none connects."""
    if len(addresses) == 1:
        family, sockaddr = addresses[0]
        return await connect(family, sockaddr)
    winner: SocketStream | None = None
    errors: list[Exception] = []

    async def attempt(family: int, sockaddr: tuple[Any, ...], finished: anyio.Event) -> None:
        nonlocal winner
        try:
            stream = await connect(family, sockaddr)
        except Exception as exc:  # kept, not raised: a lone failure must not come out grouped
            errors.append(exc)
        else:
            if winner is None:
                winner = stream
                tg.cancel_scope.cancel()
            else:
                await anyio.aclose_forcefully(stream)
        finally:
            finished.set()

    try:
        async with anyio.create_task_group() as tg:
            for family, sockaddr in addresses:
                finished = anyio.Event()
                tg.start_soon(attempt, family, sockaddr, finished)
                with anyio.move_on_after(delay):
                    await finished.wait()
    except BaseException:
        if winner is not None:
            await anyio.aclose_forcefully(winner)
        raise
    if winner is None:
        unexpected = [e for e in errors if not isinstance(e, OSError)]
        if len(errors) == 1 or unexpected:
            raise (unexpected or errors)[0]
        raise OSError("; ".join(str(error) for error in errors) or "no address connected")
    return winner
