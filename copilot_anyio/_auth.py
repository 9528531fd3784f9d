"""Token timing decisions, as pure functions of a clock reading the caller passes in.

Theory of operation
-------------------
A short-lived token is held as a ``TokenLease``: its value, when it was received (``obtained``),
when to start replacing it (``refresh_at``) and when it stops being usable (``expires``). All
three are readings of the caller's *monotonic* clock, never wall-clock times: a wall clock jumps,
and the server's ``expires_at`` is measured on a clock we do not share (protocol.md §6 "Clock").

* Web tokens (protocol.md §2.2) come with no lifetime on the wire; they last about 30 minutes, so
  a lease assumes ``web_token_ttl`` (25 min by default) and refreshes five minutes early. A reply
  that does carry a lifetime (``expires_in`` seconds) shortens that.
* Copilot tokens (§3.2.2) carry ``refresh_in``: usable until ``obtained + refresh_in + 60``,
  replaced once under 300 s remain, i.e. from ``obtained + refresh_in - 240``.

The refresh lead is deliberately modest: a lead close to the lifetime makes every request refresh
(one client refreshed per request with a 20-minute lead on a 25-minute token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, final

__all__ = [
    "DEFAULT_WEB_TOKEN_TTL",
    "REFRESH_LEAD",
    "TokenLease",
    "copilot_token_lease",
    "web_token_lease",
]

#: Assumed web-token lifetime when the server does not say (observed ~30 min).
DEFAULT_WEB_TOKEN_TTL: Final = 25 * 60.0
#: Start replacing a token this long before it expires.
REFRESH_LEAD: Final = 300.0


@final
@dataclass(frozen=True, slots=True)
class TokenLease:
    """A short-lived token and the monotonic times that govern it."""

    value: str
    obtained: float
    refresh_at: float
    expires: float

    def __repr__(self) -> str:
        # The token itself is a secret (the Copilot token even embeds the client's IP).
        return (
            f"TokenLease(obtained={self.obtained:.1f}, refresh_at={self.refresh_at:.1f}, "
            f"expires={self.expires:.1f})"
        )

    def usable(self, now: float) -> bool:
        """May a request still be sent with this token at ``now``?"""
        return now < self.expires

    def should_refresh(self, now: float) -> bool:
        """Has the time come to fetch its replacement?"""
        return now >= self.refresh_at


def web_token_lease(
    value: str,
    now: float,
    *,
    ttl: float = DEFAULT_WEB_TOKEN_TTL,
    payload: Any = None,
) -> TokenLease:
    """A lease for a web token received at ``now``.

    ``payload`` is the chat/token reply; if it carries ``expires_in`` (seconds) the shorter of
    that and ``ttl`` wins. The refresh starts ``REFRESH_LEAD`` before expiry, or halfway through
    lifetimes too short for that lead (tests and emulators use a few seconds).
    """
    if isinstance(payload, dict):
        hinted = payload.get("expires_in")
        if isinstance(hinted, int | float) and not isinstance(hinted, bool) and hinted > 0:
            ttl = min(ttl, float(hinted))
    return _lease(value, now, ttl)


def copilot_token_lease(value: str, now: float, *, refresh_in: float) -> TokenLease:
    """A lease for a Copilot token: deadline ``now + refresh_in + 60`` (protocol.md §6)."""
    return _lease(value, now, max(refresh_in, 0.0) + 60.0)


def _lease(value: str, now: float, ttl: float) -> TokenLease:
    # Refresh REFRESH_LEAD before expiry (protocol.md §6), but never before half the lifetime:
    # short-lived tokens (tests, emulators) would otherwise be refreshed on every request. The
    # two rules meet at ttl = 2 * REFRESH_LEAD, so the refresh point grows continuously with ttl.
    refresh_in = max(ttl - REFRESH_LEAD, ttl / 2)
    return TokenLease(value=value, obtained=now, refresh_at=now + refresh_in, expires=now + ttl)
