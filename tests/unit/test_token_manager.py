"""TokenManager: single-flight fetches, shared failures, cancellation hand-off, background refresh.

These drive the manager with an in-memory fetch function (no sockets), on both backends.
"""

from __future__ import annotations

import anyio
import pytest

from copilot_anyio import ReadTimeout, TokenLease, WebSessionInvalidError
from copilot_anyio._auth import web_token_lease
from copilot_anyio._token_manager import TokenManager

pytestmark = pytest.mark.anyio


class FakeFetch:
    """Issues tok-1, tok-2, …; can be made slow or made to fail; counts concurrency."""

    def __init__(self, *, ttl: float = 60.0, delay: float = 0.0) -> None:
        self.ttl = ttl
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_next = 0
        self.error: Exception = ReadTimeout("token endpoint unreachable")

    async def __call__(self) -> TokenLease:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await anyio.sleep(self.delay)
            if self.fail_next:
                self.fail_next -= 1
                raise self.error
            return web_token_lease(f"tok-{self.calls}", anyio.current_time(), ttl=self.ttl)
        finally:
            self.in_flight -= 1


async def test_concurrent_requests_share_one_fetch() -> None:
    fetch = FakeFetch(delay=0.05)
    manager = TokenManager(fetch)
    tokens: list[str] = []

    async def want() -> None:
        tokens.append(await manager.get())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(want)
    assert tokens == ["tok-1"] * 50
    assert fetch.calls == 1
    assert manager.max_in_flight == fetch.max_in_flight == 1


async def test_a_failed_fetch_fails_every_waiter_without_refetching() -> None:
    fetch = FakeFetch(delay=0.05)
    fetch.fail_next = 1
    fetch.error = WebSessionInvalidError("cookies refused", status_code=401)
    manager = TokenManager(fetch)
    errors: list[BaseException] = []

    async def want() -> None:
        try:
            await manager.get()
        except WebSessionInvalidError as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(want)
    assert len(errors) == 10
    assert fetch.calls == 1
    # the next request tries again
    assert await manager.get() == "tok-2"


async def test_cancelling_the_fetching_task_hands_the_fetch_to_a_waiter() -> None:
    fetch = FakeFetch(delay=0.2)
    manager = TokenManager(fetch)
    got: list[str] = []

    async def want() -> None:
        got.append(await manager.get())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            with anyio.move_on_after(0.05):
                await manager.get()  # this task starts the fetch, then is cancelled
            tg.start_soon(want)
            tg.start_soon(want)
    assert got == ["tok-2", "tok-2"]
    assert fetch.max_in_flight == 1


async def test_invalidate_drops_only_the_refused_token() -> None:
    fetch = FakeFetch()
    manager = TokenManager(fetch)
    with anyio.fail_after(5):
        first = await manager.get()
        manager.invalidate(first)
        second = await manager.get()
        manager.invalidate(first)  # a late 401 for the old token must not drop the new one
        assert await manager.get() == second
    assert (first, second) == ("tok-1", "tok-2")
    assert fetch.calls == 2


async def test_background_refresh_replaces_the_token_before_it_expires() -> None:
    fetch = FakeFetch(ttl=0.4)
    manager = TokenManager(fetch)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(manager.run)
            assert await manager.get() == "tok-1"
            await anyio.sleep(0.5)  # past the first token's refresh point (0.2 s) and expiry
            lease = manager.lease
            assert lease is not None
            assert lease.value != "tok-1"
            assert lease.usable(anyio.current_time())
            tg.cancel_scope.cancel()
    assert fetch.calls >= 2


async def test_a_failing_background_refresh_keeps_serving_the_valid_token_and_recovers() -> None:
    fetch = FakeFetch(ttl=2.0)
    manager = TokenManager(fetch, retry_base=0.05, retry_cap=0.05)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(manager.run)
            assert await manager.get() == "tok-1"
            fetch.fail_next = 2
            # The refresh at 1 s fails twice, then succeeds; meanwhile requests keep getting
            # the still-valid token and never see the failures.
            while fetch.calls < 4 or fetch.in_flight:
                assert await manager.get() == "tok-1"
                await anyio.sleep(0.01)
            # the background task did not die: the fourth fetch replaced the token
            token = await manager.get()
            tg.cancel_scope.cancel()
    assert token == "tok-4"
    assert fetch.calls == 4


async def test_requests_get_the_valid_token_at_once_while_a_refresh_is_slow() -> None:
    calls = 0

    async def fetch() -> TokenLease:
        nonlocal calls
        calls += 1
        if calls > 1:
            await anyio.sleep(2.0)  # the background refresh hangs
        return web_token_lease(f"tok-{calls}", anyio.current_time(), ttl=1.0)

    manager = TokenManager(fetch)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(manager.run)
            assert await manager.get() == "tok-1"
            await anyio.sleep(0.6)  # past refresh_at (0.5 s): the refresh is in flight
            started = anyio.current_time()
            assert await manager.get() == "tok-1"
            assert anyio.current_time() - started < 0.1
            tg.cancel_scope.cancel()


async def test_waiters_of_a_failed_fetch_get_their_own_copies_of_the_error() -> None:
    fetch = FakeFetch(delay=0.05)
    fetch.fail_next = 1
    manager = TokenManager(fetch)
    errors: list[BaseException] = []

    async def want() -> None:
        try:
            await manager.get()
        except ReadTimeout as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(want)
    assert len(errors) == 5
    assert len({id(e) for e in errors}) == 5
    assert {str(e) for e in errors} == {"token endpoint unreachable"}


async def test_collapse_keeps_one_real_error_and_refuses_to_choose_between_several() -> None:
    from copilot_anyio._client import collapse_exception_group

    real = ValueError("real")
    cancelled = anyio.get_cancelled_exc_class()
    echo = cancelled.__new__(cancelled)  # a sibling cancelled by the real error
    nested = BaseExceptionGroup("outer", [BaseExceptionGroup("inner", [real]), echo])
    assert collapse_exception_group(nested) is real
    two = ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert collapse_exception_group(two) is None
