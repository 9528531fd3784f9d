"""Opening connections (``_transport/_dial.py``): the name cache, direct dialling and Happy
Eyeballs, on asyncio and trio. Real sockets on loopback; the races use a fake ``connect``."""

from __future__ import annotations

import socket
from typing import Any, cast

import anyio
import anyio.abc
import pytest

from copilot_anyio._transport._dial import (
    Address,
    Resolver,
    connect_address,
    connect_any,
    happy_order,
    literal,
)

pytestmark = pytest.mark.anyio

V4 = socket.AF_INET
V6 = socket.AF_INET6


def _info(family: int, address: str, scope: int = 0) -> tuple[Any, ...]:
    sockaddr = (address, 443, 0, scope) if family == V6 else (address, 443)
    return (family, socket.SOCK_STREAM, 6, "", sockaddr)


class TestAddresses:
    def test_ip_literals_are_recognised_and_names_are_not(self) -> None:
        assert literal("127.0.0.1", 80) == (V4, ("127.0.0.1", 80))
        assert literal("0:0::1", 443) == (V6, ("::1", 443, 0, 0))
        assert literal("api.githubcopilot.com", 443) is None
        assert literal("localhost", 80) is None

    def test_ipv6_first_then_ipv4_then_the_rest_without_repeats(self) -> None:
        infos = [
            _info(V4, "192.0.2.1"),
            _info(V4, "192.0.2.2"),
            _info(V6, "2001:db8::1"),
            _info(V4, "192.0.2.1"),  # the same address for another protocol
            _info(V6, "2001:db8::2"),
        ]
        assert happy_order(infos) == [
            (V6, ("2001:db8::1", 443, 0, 0)),
            (V4, ("192.0.2.1", 443)),
            (V4, ("192.0.2.2", 443)),
            (V6, ("2001:db8::2", 443, 0, 0)),
        ]

    def test_an_ipv6_scope_id_is_kept(self) -> None:
        # A link-local address is unreachable without its interface.
        assert happy_order([_info(V6, "fe80::1", scope=3)]) == [(V6, ("fe80::1", 443, 0, 3))]


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
        assert await resolver.resolve("127.0.0.1", 80) == [(V4, ("127.0.0.1", 80))]
        assert lookups.calls == 0

    async def test_a_name_is_looked_up_once_while_its_answer_is_fresh(self) -> None:
        lookups = _Lookups()
        resolver = Resolver(ttl=0.2, lookup=lookups)
        for _ in range(3):
            assert await resolver.resolve("example.test", 443) == [(V4, ("192.0.2.7", 443))]
        assert lookups.calls == 1
        await anyio.sleep(0.25)
        await resolver.resolve("example.test", 443)
        assert lookups.calls == 2  # stale: asked again

    async def test_concurrent_connections_to_one_name_share_one_lookup(self) -> None:
        lookups = _Lookups(delay=0.05)
        resolver = Resolver(lookup=lookups)
        answers: list[list[Address]] = []

        async def resolve() -> None:
            answers.append(await resolver.resolve("example.test", 443))

        async with anyio.create_task_group() as tg:
            for _ in range(100):
                tg.start_soon(resolve)
        assert lookups.calls == 1
        assert answers == [[(V4, ("192.0.2.7", 443))]] * 100

    async def test_a_failed_lookup_raises_and_is_not_remembered(self) -> None:
        lookups = _Lookups(fail=True)
        resolver = Resolver(lookup=lookups)
        for _ in range(2):
            with pytest.raises(OSError, match="not known"):
                await resolver.resolve("nowhere.test", 443)
        assert lookups.calls == 2

    async def test_a_failed_lookup_is_shared_by_everyone_waiting_for_it(self) -> None:
        # A burst of connections to a name that does not resolve: one lookup, and every one of
        # them gets its error at once, not one lookup after another.
        lookups = _Lookups(delay=0.1, fail=True)
        resolver = Resolver(lookup=lookups)
        errors: list[OSError] = []

        async def resolve() -> None:
            try:
                await resolver.resolve("nowhere.test", 443)
            except OSError as exc:
                errors.append(exc)

        started = anyio.current_time()
        async with anyio.create_task_group() as tg:
            for _ in range(30):
                tg.start_soon(resolve)
        assert lookups.calls == 1
        assert len(errors) == 30
        assert all(isinstance(e, socket.gaierror) and "not known" in str(e) for e in errors)
        assert len({id(e) for e in errors}) == 30  # each its own exception
        assert anyio.current_time() - started < 1.0

    async def test_waiters_of_a_cancelled_lookup_look_again(self) -> None:
        lookups = _Lookups(delay=0.2)
        resolver = Resolver(lookup=lookups)
        answers: list[list[Address]] = []

        async def wait_then_resolve() -> None:
            await anyio.sleep(0.05)  # the first lookup is in flight by now
            answers.append(await resolver.resolve("example.test", 443))

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_then_resolve)
            with anyio.move_on_after(0.1):
                await resolver.resolve("example.test", 443)
        assert answers == [[(V4, ("192.0.2.7", 443))]]
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
            stream = await connect_address(V4, ("127.0.0.1", port))
            async with stream:
                raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
                assert raw.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert stream.extra(anyio.abc.SocketAttribute.remote_port) == port

    async def test_a_refused_connection_is_an_oserror_naming_the_address(self) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()
        with pytest.raises(OSError, match=f"127.0.0.1 port {port}"):
            await connect_address(V4, ("127.0.0.1", port))


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

    async def __call__(self, family: int, sockaddr: tuple[Any, ...]) -> anyio.abc.SocketStream:
        address = str(sockaddr[0])
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


ADDRESSES: list[Address] = [(V6, ("a", 443, 0, 0)), (V4, ("b", 443)), (V4, ("c", 443))]


class TestHappyEyeballs:
    async def test_a_single_address_is_dialled_without_a_race(self) -> None:
        dialler = _Dialler({"a": (0.0, False)})
        stream = await connect_any([(V6, ("a", 443, 0, 0))], connect=dialler)
        assert cast(_Stream, stream).address == "a"

    async def test_a_hanging_first_address_is_overtaken_after_the_delay(self) -> None:
        dialler = _Dialler({"a": (60.0, False), "b": (0.0, False), "c": (0.0, False)})
        with anyio.fail_after(5):
            started = anyio.current_time()
            stream = await connect_any(ADDRESSES, connect=dialler, delay=0.1)
        assert cast(_Stream, stream).address == "b"
        assert [address for address, _ in dialler.started] == ["a", "b"]
        assert dialler.started[1][1] - started >= 0.1
        assert dialler.cancelled == ["a"]  # the loser is not left running

    async def test_a_failure_starts_the_next_address_at_once(self) -> None:
        dialler = _Dialler({"a": (0.0, True), "b": (0.0, False), "c": (0.0, False)})
        with anyio.fail_after(5):
            started = anyio.current_time()
            stream = await connect_any(ADDRESSES, connect=dialler, delay=10)
        assert cast(_Stream, stream).address == "b"
        assert anyio.current_time() - started < 5  # did not wait out the delay

    async def test_an_attempt_that_connects_after_the_winner_is_closed(self) -> None:
        # "b" connects first; "a" was already connecting and finishes anyway: it is closed.
        dialler = _Dialler({"a": (0.3, False), "b": (0.0, False), "c": (0.0, False)}, shielded="a")
        with anyio.fail_after(5):
            winner = cast(_Stream, await connect_any(ADDRESSES, connect=dialler, delay=0.1))
        assert winner.address == "b"
        assert not winner.closed
        assert [(s.address, s.closed) for s in dialler.made] == [("b", False), ("a", True)]

    async def test_when_every_address_fails_the_error_names_each(self) -> None:
        dialler = _Dialler({"a": (0.0, True), "b": (0.0, True), "c": (0.0, True)})
        with pytest.raises(OSError, match="a refused; b refused; c refused"):
            await connect_any(ADDRESSES, connect=dialler)

    async def test_an_unexpected_error_comes_out_bare_not_in_a_group(self) -> None:
        async def broken(family: int, sockaddr: tuple[Any, ...]) -> anyio.abc.SocketStream:
            raise RuntimeError(f"bug while dialling {sockaddr[0]}")

        with pytest.raises(RuntimeError, match="bug while dialling a"):
            await connect_any(ADDRESSES, connect=broken)

    async def test_cancelling_the_race_leaves_no_attempt_running(self) -> None:
        dialler = _Dialler({"a": (60.0, False), "b": (60.0, False), "c": (60.0, False)})
        with anyio.move_on_after(0.3) as scope:
            await connect_any(ADDRESSES, connect=dialler, delay=0.1)
        assert scope.cancelled_caught
        assert sorted(dialler.cancelled) == ["a", "b", "c"]
