"""Token lifetimes from a server are bounded: no value makes a hot refresh loop or overflows."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot_anyio._auth import (
    DEFAULT_COPILOT_REFRESH_IN,
    DEFAULT_WEB_TOKEN_TTL,
    MAX_TOKEN_LIFETIME,
    MIN_REFRESH_INTERVAL,
    MIN_TOKEN_LIFETIME,
    TokenLease,
    copilot_token_lease,
    lifetime_seconds,
    web_token_lease,
)

NOW = 5_000.0
WALL = 1_750_000_000.0
TOKEN = "tid=fake;exp=0;proxy-ep=proxy.individual.githubcopilot.com:mac"

#: Every kind of bad lifetime a server could send.
BAD_VALUES: list[Any] = [
    0,
    0.0,
    -0.0,
    -1,
    -1e308,
    1e-9,
    0.5,
    1,
    29,
    10**400,
    -(10**400),
    1e308,
    math.inf,
    -math.inf,
    math.nan,
    "1500",
    "soon",
    "",
    None,
    True,
    False,
    [1500],
    {"s": 1},
]


def assert_bounded(lease: TokenLease) -> None:
    assert math.isfinite(lease.refresh_at)
    assert math.isfinite(lease.expires)
    # The background refresh never loops; the token is tried for at least a second.
    assert lease.refresh_at - NOW >= MIN_REFRESH_INTERVAL
    assert lease.expires - NOW >= MIN_TOKEN_LIFETIME
    assert lease.expires - NOW <= MAX_TOKEN_LIFETIME + 60.0
    assert lease.usable(NOW)
    assert not lease.should_refresh(NOW)


def test_constants() -> None:
    assert MIN_REFRESH_INTERVAL == 30.0
    assert MAX_TOKEN_LIFETIME == 86_400.0
    assert DEFAULT_COPILOT_REFRESH_IN == 1500.0


class TestLifetimeSeconds:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (1500, 1500.0),
            (12.5, 12.5),
            (-3, -3.0),
            (0, 0.0),
            (math.inf, math.inf),
            (10**400, math.inf),
            (-(10**400), -math.inf),
        ],
    )
    def test_numbers(self, value: Any, expected: float) -> None:
        assert lifetime_seconds(value) == expected

    @pytest.mark.parametrize("value", [math.nan, True, False, None, "1500", [1], {}, object()])
    def test_not_numbers(self, value: Any) -> None:
        assert lifetime_seconds(value) is None


class TestWebLeaseBounds:
    @pytest.mark.parametrize("hint", BAD_VALUES)
    def test_any_expires_in(self, hint: Any) -> None:
        assert_bounded(web_token_lease(TOKEN, NOW, payload={"expires_in": hint}))

    @pytest.mark.parametrize("hint", [1, 0.5, 29, 59])
    def test_a_short_hint_is_honoured_but_never_loops(self, hint: float) -> None:
        # Usable for as long as the server says (a second at least); refreshed in the
        # background no sooner than MIN_REFRESH_INTERVAL, on demand once it expired.
        held = web_token_lease(TOKEN, NOW, payload={"expires_in": hint})
        assert held.refresh_at == NOW + MIN_REFRESH_INTERVAL
        assert held.expires == NOW + max(hint, MIN_TOKEN_LIFETIME)

    @pytest.mark.parametrize("ttl", [0.0, -1.0, math.nan, -math.inf])
    def test_caller_ttl_must_be_positive(self, ttl: float) -> None:
        with pytest.raises(ValueError, match="ttl"):
            web_token_lease(TOKEN, NOW, ttl=ttl)

    @pytest.mark.parametrize("ttl", [math.inf, 1e308, 10.0 * MAX_TOKEN_LIFETIME])
    def test_caller_ttl_capped(self, ttl: float) -> None:
        held = web_token_lease(TOKEN, NOW, ttl=ttl)
        assert held.expires == NOW + MAX_TOKEN_LIFETIME

    def test_caller_ttl_may_be_short(self) -> None:
        # Emulators and tests ask for second-long tokens on purpose.
        held = web_token_lease(TOKEN, NOW, ttl=0.4)
        assert held.refresh_at == pytest.approx(NOW + 0.2)
        assert held.expires == NOW + 0.4

    def test_default_unchanged(self) -> None:
        assert web_token_lease(TOKEN, NOW).expires == NOW + DEFAULT_WEB_TOKEN_TTL


class TestCopilotLeaseBounds:
    @pytest.mark.parametrize("refresh_in", BAD_VALUES)
    def test_any_refresh_in(self, refresh_in: Any) -> None:
        assert_bounded(copilot_token_lease(TOKEN, NOW, refresh_in=refresh_in))

    @pytest.mark.parametrize("expires_at", [*BAD_VALUES, WALL - 1e6, WALL, WALL + 1, WALL + 1e9])
    def test_any_expires_at(self, expires_at: Any) -> None:
        lease = copilot_token_lease(
            TOKEN, NOW, refresh_in=1500, expires_at=expires_at, wall_now=WALL
        )
        assert_bounded(lease)

    @pytest.mark.parametrize("refresh_in", ["1500", None, math.nan, "x", [1]])
    def test_not_a_number_uses_the_default(self, refresh_in: Any) -> None:
        held = copilot_token_lease(TOKEN, NOW, refresh_in=refresh_in)
        assert held.expires == NOW + DEFAULT_COPILOT_REFRESH_IN + 60.0

    @pytest.mark.parametrize("refresh_in", [math.inf, 10**400, 1e308])
    def test_huge_refresh_in_capped(self, refresh_in: Any) -> None:
        held = copilot_token_lease(TOKEN, NOW, refresh_in=refresh_in)
        assert held.expires == NOW + MAX_TOKEN_LIFETIME + 60.0

    def test_expires_at_shortens(self) -> None:
        held = copilot_token_lease(
            TOKEN, NOW, refresh_in=1500, expires_at=WALL + 600, wall_now=WALL
        )
        assert held.expires == NOW + 600.0

    def test_expires_at_in_the_past_is_floored(self) -> None:
        # A token the server calls expired is tried for a second, then replaced on demand;
        # the background refresh still waits MIN_REFRESH_INTERVAL.
        held = copilot_token_lease(
            TOKEN, NOW, refresh_in=1500, expires_at=WALL - 3600, wall_now=WALL
        )
        assert (held.refresh_at, held.expires) == (NOW + 30.0, NOW + MIN_TOKEN_LIFETIME)

    def test_a_two_second_token_is_not_used_after_two_seconds(self) -> None:
        # Using it longer gets a 401, and a request's one retry may meet another such token.
        held = copilot_token_lease(TOKEN, NOW, refresh_in=1500, expires_at=WALL + 2, wall_now=WALL)
        assert held.expires == NOW + 2.0
        assert held.usable(NOW + 1.9)
        assert not held.usable(NOW + 2.0)

    def test_expires_at_ignored_without_wall_clock(self) -> None:
        held = copilot_token_lease(TOKEN, NOW, refresh_in=1500, expires_at=WALL - 3600)
        assert held.expires == NOW + 1560.0

    @pytest.mark.parametrize("wall_now", [math.nan, math.inf, -math.inf])
    def test_bad_wall_clock_ignored(self, wall_now: float) -> None:
        held = copilot_token_lease(TOKEN, NOW, refresh_in=1500, expires_at=WALL, wall_now=wall_now)
        assert held.expires == NOW + 1560.0


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(),
    st.text(max_size=5),
)


@given(refresh_in=_anything, expires_at=_anything, wall_now=st.floats())
def test_copilot_lease_is_bounded_for_any_reply(
    refresh_in: Any, expires_at: Any, wall_now: float
) -> None:
    assert_bounded(
        copilot_token_lease(
            TOKEN, NOW, refresh_in=refresh_in, expires_at=expires_at, wall_now=wall_now
        )
    )


@given(expires_in=_anything)
def test_web_lease_is_bounded_for_any_reply(expires_in: Any) -> None:
    assert_bounded(web_token_lease(TOKEN, NOW, payload={"expires_in": expires_in}))
