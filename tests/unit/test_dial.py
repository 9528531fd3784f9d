"""Opening connections (``_transport/_dial.py``): the name cache, direct dialling and Happy
Eyeballs, on asyncio and trio. Real sockets on loopback; the races use a fake ``connect``."""

from __future__ import annotations

import socket
from typing import Any, cast

import anyio
import anyio.abc
import pytest

from copilot_anyio._transport._dial import (
    Resolver,
    connect_address,
    connect_any,
    happy_order,
    literal,
)

pytestmark = pytest.mark.anyio

V4 = socket.AF_INET
V6 = socket.AF_INET6


def _info(family: int, address: str) -> tuple[Any, ...]:
    return (family, socket.SOCK_STREAM, 6, "", (address, 443))


class TestAddresses:
    def test_ip_literals_are_recognised_and_names_are_not(self) -> None:
        assert literal("127.0.0.1") == (V4, "127.0.0.1")
        assert literal("0:0::1") == (V6, "::1")
        assert literal("api.githubcopilot.com") is None
        assert literal("localhost") is None

    def test_ipv6_first_then_ipv4_then_the_rest_without_repeats(self) -> None:
        infos = [
            _info(V4, "192.0.2.1"),
            _info(V4, "192.0.2.2"),
            _info(V6, "2001:db8::1"),
            _info(V4, "192.0.2.1"),  # the same address for another protocol
            _info(V6, "2001:db8::2"),
        ]
        assert happy_order(infos) == [
            (V6, "2001:db8::1"),
            (V4, "192.0.2.1"),
            (V4, "192.0.2.2"),
            (V6, "2001:db8::2"),
        ]


class _Lookups:
    """A resolver's lookup that counts its calls and can be made slow or failing."""

    def __init__(self, *, delay: float = 0.0, fail: bool = False) -> None:
        self.calls = 0
        self.delay = delay
        self.fail = fail

    async def __call__(self, host: str, port: int) -> list[tuple[Any, ...]]:
        self.calls += 1
        await anyio.sleep(self.delay)
        if self.fail:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [_info(V4, "192.0.2.7")]


class TestResolver:
    async def test_an_ip_address_is_never_looked_up(self) -> None:
        lookups = _Lookups()
        resolver = Resolver(lookup=lookups)
        assert await resolver.resolve("127.0.0.1", 80) == [(V4, "127.0.0.1")]
        assert lookups.calls == 0

    async def test_a_name_is_looked_up_once_while_its_answer_is_fresh(self) -> None:
        lookups = _Lookups()
        resolver = Resolver(ttl=0.2, lookup=lookups)
        for _ in range(3):
            assert await resolver.resolve("example.test", 443) == [(V4, "192.0.2.7")]
        assert lookups.calls == 1
        await anyio.sleep(0.25)
        await resolver.resolve("example.test", 443)
        assert lookups.calls == 2  # stale: asked again

    async def test_concurrent_connections_to_one_name_share_one_lookup(self) -> None:
        lookups = _Lookups(delay=0.05)
        resolver = Resolver(lookup=lookups)
        answers: list[list[tuple[int, str]]] = []

        async def resolve() -> None:
            answers.append(await resolver.resolve("example.test", 443))

        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(resolve)
        assert lookups.calls == 1
        assert answers == [[(V4, "192.0.2.7")]] * 100

    async def test_a_failed_lookup_raises_and_is_not_remembered(self) -> None:
        lookups = _Lookups(fail=True)
        resolver = Resolver(lookup=lookups)
        for _ in range(2):
            with pytest.raises(OSError, match="not known"):
                await resolver.resolve("nowhere.test", 443)
        assert lookups.calls == 2

    async def test_a_name_without_addresses_is_an_oserror(self) -> None:
        async def nothing(host: str, port: int) -> list[tuple[Any, ...]]:
            return []

        with pytest.raises(OSError, match="no address"):
            await Resolver(lookup=nothing).resolve("empty.test", 443)

    async def test_localhost_resolves_through_the_system(self) -> None:
        addresses = await Resolver().resolve("localhost", 80)
        assert addresses
        assert {family for family, _ in addresses} <= {V4, V6}


class TestConnectAddress:
    async def test_it_connects_with_nodelay(self) -> None:
        async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
            port = listener.extra(anyio.abc.SocketAttribute.local_port)
            stream = await connect_address(V4, "127.0.0.1", port)
            async with stream:
                raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
                assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert stream.extra(anyio.abc.SocketAttribute.remote_port) == port

    async def test_a_refused_connection_is_an_oserror_naming_the_address(self) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()
        with pytest.raises(OSError, match=f"127.0.0.1 port {port}"):
            await connect_address(V4, "127.0.0.1", port)


class _Stream:
    def __init__(self, address: str) -> None:
        self.address = address
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


class _Dialler:
    """A fake ``connect``: per address, how long it takes and whether it fails."""

    def __init__(self, plan: dict[str, tuple[float, bool]], *, shielded: str = "") -> None:
        self.plan = plan
        self.started: list[tuple[str, float]] = []
        self.cancelled: list[str] = []
        self.made: list[_Stream] = []
        #: an address whose attempt finishes even when cancelled (as a connect can)
        self.shielded = shielded

    async def __call__(self, family: int, address: str, port: int) -> anyio.abc.SocketStream:
        self.started.append((address, anyio.current_time()))
        delay, fails = self.plan[address]
        try:
            with anyio.CancelScope(shield=address == self.shielded):
                await anyio.sleep(delay)
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(address)
            raise
        if fails:
            raise OSError(f"{address} refused")
        stream = _Stream(address)
        self.made.append(stream)
        return cast(anyio.abc.SocketStream, stream)


ADDRESSES = [(V6, "a"), (V4, "b"), (V4, "c")]


class TestHappyEyeballs:
    async def test_a_single_address_is_dialled_without_a_race(self) -> None:
        dialler = _Dialler({"a": (0.0, False)})
        stream = await connect_any([(V6, "a")], 443, connect=dialler)
        assert cast(_Stream, stream).address == "a"

    async def test_a_hanging_first_address_is_overtaken_after_the_delay(self) -> None:
        dialler = _Dialler({"a": (60.0, False), "b": (0.0, False), "c": (0.0, False)})
        with anyio.fail_after(5):
            started = anyio.current_time()
            stream = await connect_any(ADDRESSES, 443, connect=dialler, delay=0.1)
        assert cast(_Stream, stream).address == "b"
        assert [address for address, _ in dialler.started] == ["a", "b"]
        assert dialler.started[1][1] - started >= 0.1
        assert dialler.cancelled == ["a"]  # the loser is not left running

    async def test_a_failure_starts_the_next_address_at_once(self) -> None:
        dialler = _Dialler({"a": (0.0, True), "b": (0.0, False), "c": (0.0, False)})
        with anyio.fail_after(5):
            started = anyio.current_time()
            stream = await connect_any(ADDRESSES, 443, connect=dialler, delay=10)
        assert cast(_Stream, stream).address == "b"
        assert anyio.current_time() - started < 5  # did not wait out the delay

    async def test_an_attempt_that_connects_after_the_winner_is_closed(self) -> None:
        # "b" connects first; "a" was already connecting and finishes anyway: it is closed.
        dialler = _Dialler({"a": (0.3, False), "b": (0.0, False), "c": (0.0, False)}, shielded="a")
        with anyio.fail_after(5):
            winner = cast(_Stream, await connect_any(ADDRESSES, 443, connect=dialler, delay=0.1))
        assert winner.address == "b"
        assert not winner.closed
        assert [(s.address, s.closed) for s in dialler.made] == [("b", False), ("a", True)]

    async def test_when_every_address_fails_the_error_names_each(self) -> None:
        dialler = _Dialler({"a": (0.0, True), "b": (0.0, True), "c": (0.0, True)})
        with pytest.raises(OSError, match="a refused; b refused; c refused"):
            await connect_any(ADDRESSES, 443, connect=dialler)

    async def test_cancelling_the_race_leaves_no_attempt_running(self) -> None:
        dialler = _Dialler({"a": (60.0, False), "b": (60.0, False), "c": (60.0, False)})
        with anyio.move_on_after(0.3) as scope:
            await connect_any(ADDRESSES, 443, connect=dialler, delay=0.1)
        assert scope.cancelled_caught
        assert sorted(dialler.cancelled) == ["a", "b", "c"]
