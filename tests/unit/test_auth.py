"""Token timing decisions (protocol.md §6): leases on a clock the test passes in, and backoff."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from copilot_anyio._auth import (
    DEFAULT_WEB_TOKEN_TTL,
    REFRESH_LEAD,
    TokenLease,
    copilot_token_lease,
    web_token_lease,
)

# Obviously fake tokens: a web token and a Copilot token shaped like the real ones.
WEB_TOKEN = "FAKEwebTOKEN" + "x" * 95 + "="
COPILOT_TOKEN = "tid=fake;exp=0;sku=free;proxy-ep=proxy.individual.githubcopilot.com;ip=1.2.3.4:0"
NOW = 10_000.0  # a monotonic reading: any number, not Unix time


def lease(refresh_at: float = 100.0, expires: float = 200.0) -> TokenLease:
    return TokenLease(value=WEB_TOKEN, obtained=0.0, refresh_at=refresh_at, expires=expires)


class TestTokenLease:
    @pytest.mark.parametrize(
        ("now", "usable"),
        [(0.0, True), (199.999, True), (200.0, False), (200.001, False), (1e9, False)],
    )
    def test_usable_until_expiry(self, now: float, usable: bool) -> None:
        assert lease(expires=200.0).usable(now) is usable

    @pytest.mark.parametrize(
        ("now", "refresh"),
        [(0.0, False), (99.999, False), (100.0, True), (150.0, True), (250.0, True)],
    )
    def test_should_refresh_from_refresh_at(self, now: float, refresh: bool) -> None:
        assert lease(refresh_at=100.0).should_refresh(now) is refresh

    def test_repr_hides_the_value(self) -> None:
        held = TokenLease(value=COPILOT_TOKEN, obtained=1.0, refresh_at=2.0, expires=3.0)
        assert COPILOT_TOKEN not in repr(held)
        assert COPILOT_TOKEN not in str(held)
        assert "ip=" not in repr(held)

    def test_repr_shows_the_times(self) -> None:
        text = repr(TokenLease(value=WEB_TOKEN, obtained=1.0, refresh_at=1260.0, expires=1560.0))
        assert "1260.0" in text
        assert "1560.0" in text

    def test_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            lease().expires = 1e9  # type: ignore[misc]


class TestWebTokenLease:
    def test_defaults_constants(self) -> None:
        assert (DEFAULT_WEB_TOKEN_TTL, REFRESH_LEAD) == (1500.0, 300.0)

    def test_default_lifetime_is_25_minutes(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW)
        assert held.expires == NOW + 25 * 60

    def test_default_refresh_five_minutes_early(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW)
        assert held.refresh_at == NOW + 25 * 60 - 300

    def test_keeps_value_and_receipt_time(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW)
        assert (held.value, held.obtained) == (WEB_TOKEN, NOW)

    def test_fresh_lease_is_usable_and_not_due(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW)
        assert held.usable(NOW)
        assert not held.should_refresh(NOW)

    def test_due_but_still_usable_in_the_lead(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW)
        now = NOW + 25 * 60 - 1
        assert held.should_refresh(now)
        assert held.usable(now)

    def test_explicit_ttl(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, ttl=1800.0)
        assert (held.refresh_at, held.expires) == (NOW + 1500.0, NOW + 1800.0)

    def test_expires_in_shortens(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, payload={"token": WEB_TOKEN, "expires_in": 1200})
        assert (held.refresh_at, held.expires) == (NOW + 900.0, NOW + 1200.0)

    def test_fractional_expires_in(self) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, payload={"expires_in": 1000.5})
        assert held.expires == NOW + 1000.5

    @pytest.mark.parametrize("hint", [1500, 1800, 3600, 10**9, math.inf])
    def test_expires_in_never_lengthens(self, hint: float) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, payload={"expires_in": hint})
        assert held.expires == NOW + DEFAULT_WEB_TOKEN_TTL

    @pytest.mark.parametrize(
        "hint",
        [True, False, 0, -1, -1200, math.nan, "1200", None, [1200], {"s": 1}],
    )
    def test_unusable_expires_in_ignored(self, hint: Any) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, payload={"expires_in": hint})
        assert (held.refresh_at, held.expires) == (
            NOW + DEFAULT_WEB_TOKEN_TTL - REFRESH_LEAD,
            NOW + DEFAULT_WEB_TOKEN_TTL,
        )

    @pytest.mark.parametrize("payload", [None, [], "token", {"token": WEB_TOKEN}])
    def test_payload_without_hint(self, payload: Any) -> None:
        assert web_token_lease(WEB_TOKEN, NOW, payload=payload).expires == NOW + 1500.0

    @pytest.mark.parametrize(
        ("ttl", "refresh_after"),
        [(10.0, 5.0), (60.0, 30.0), (1.0, 0.5), (300.0, 150.0), (600.0, 300.0), (601.0, 301.0)],
    )
    def test_short_ttl_refreshes_halfway(self, ttl: float, refresh_after: float) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, ttl=ttl)
        assert held.refresh_at == pytest.approx(NOW + refresh_after)
        assert held.expires == NOW + ttl

    def test_short_expires_in_is_honoured_without_a_refresh_loop(self) -> None:
        # A server's hint cannot make the background refresh come sooner than
        # MIN_REFRESH_INTERVAL (see test_auth_bounds.py); the token is not used past it.
        held = web_token_lease(WEB_TOKEN, NOW, payload={"expires_in": 5})
        assert held.refresh_at == pytest.approx(NOW + 30.0)
        assert held.expires == NOW + 5.0

    @pytest.mark.parametrize("ttl", [1.0, 10.0, 300.0, 600.0, 601.0, 1500.0, 86400.0])
    def test_refresh_comes_before_expiry(self, ttl: float) -> None:
        held = web_token_lease(WEB_TOKEN, NOW, ttl=ttl)
        assert NOW < held.refresh_at < held.expires


class TestCopilotTokenLease:
    @pytest.mark.parametrize("refresh_in", [1500.0, 1200.0, 900.0, 600.0, 541.0, 540.0])
    def test_deadline(self, refresh_in: float) -> None:
        # protocol.md §6: the deadline is t0 + refresh_in + 60.
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=refresh_in)
        assert held.expires == NOW + refresh_in + 60

    @pytest.mark.parametrize("refresh_in", [1500.0, 1200.0, 900.0, 600.0, 541.0, 540.0])
    def test_refresh_once_under_300_seconds_remain(self, refresh_in: float) -> None:
        # protocol.md §6: refresh from t0 + refresh_in - 240. Every value here leaves a whole
        # 300 s lead inside the lifetime, so the rule applies as written.
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=refresh_in)
        assert held.refresh_at == NOW + refresh_in - 240

    def test_typical_token(self) -> None:
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=1500)
        assert (held.obtained, held.refresh_at, held.expires) == (NOW, NOW + 1260, NOW + 1560)

    def test_keeps_value(self) -> None:
        assert copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=1500).value == COPILOT_TOKEN

    @pytest.mark.parametrize(
        ("now", "usable", "refresh"),
        [
            (NOW, True, False),
            (NOW + 1259.9, True, False),
            (NOW + 1260.0, True, True),
            (NOW + 1559.9, True, True),
            (NOW + 1560.0, False, True),
        ],
    )
    def test_timeline(self, now: float, usable: bool, refresh: bool) -> None:
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=1500)
        assert (held.usable(now), held.should_refresh(now)) == (usable, refresh)

    @pytest.mark.parametrize("refresh_in", [0.0, 1.0, 5.0, 30.0])
    def test_short_refresh_in_still_usable_at_once(self, refresh_in: float) -> None:
        # The emulator hands out tokens with a refresh_in of seconds: a fresh one must be usable
        # and not due, or every request would exchange again.
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=refresh_in)
        assert held.usable(NOW)
        assert not held.should_refresh(NOW)
        assert held.refresh_at < held.expires

    def test_negative_refresh_in_counts_as_zero(self) -> None:
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=-100.0)
        assert held.expires == NOW + 60.0

    def test_repr_hides_the_value(self) -> None:
        held = copilot_token_lease(COPILOT_TOKEN, NOW, refresh_in=1500)
        assert COPILOT_TOKEN not in repr(held)
