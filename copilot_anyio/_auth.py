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

Bounds on what servers say
--------------------------
Lifetimes on the wire are the server's word, and a bad word must not turn into a refresh loop
or an overflow. Whatever ``expires_in``, ``refresh_in`` or ``expires_at`` holds (zero, negative,
tiny, huge, NaN, infinity, a string, a number too large for a float):

* a lease built from it is refreshed in the background no sooner than ``MIN_REFRESH_INTERVAL``
  after it arrived, so an idle client never loops;
* it is usable for as long as the server says, but at least ``MIN_TOKEN_LIFETIME``: a token the
  server gave two seconds is not sent after two seconds (it would be refused, and a request's
  one retry could land on another such token), and one it called expired at once is still tried
  for a second, then replaced when a request needs it (one exchange at a time);
* no lifetime exceeds ``MAX_TOKEN_LIFETIME``;
* a value that is not a number (strings included) is ignored (web) or replaced by
  ``DEFAULT_COPILOT_REFRESH_IN`` (Copilot).

Only a caller's explicit ``ttl`` may be shorter than that floor: tests and emulators use
lifetimes of a second on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, final

__all__ = [
    "DEFAULT_COPILOT_REFRESH_IN",
    "DEFAULT_WEB_TOKEN_TTL",
    "MAX_TOKEN_LIFETIME",
    "MIN_REFRESH_INTERVAL",
    "MIN_TOKEN_LIFETIME",
    "REFRESH_LEAD",
    "TokenLease",
    "copilot_token_lease",
    "lifetime_seconds",
    "web_token_lease",
]

#: Assumed web-token lifetime when the server does not say (observed ~30 min).
DEFAULT_WEB_TOKEN_TTL: Final = 25 * 60.0
#: Start replacing a token this long before it expires.
REFRESH_LEAD: Final = 300.0
#: No lease whose lifetime came from a server is refreshed sooner than this after receipt.
MIN_REFRESH_INTERVAL: Final = 30.0
#: The longest any token is trusted, whatever the server or caller says (one day).
MAX_TOKEN_LIFETIME: Final = 86_400.0
#: ``refresh_in`` assumed when a Copilot token reply has none that is a number (the usual value).
DEFAULT_COPILOT_REFRESH_IN: Final = 1500.0
#: The shortest usable life a server's hint can give a token.
MIN_TOKEN_LIFETIME: Final = 1.0


def lifetime_seconds(value: Any) -> float | None:
    """A lifetime field from a server as float seconds, or None when it is not a number.

    Accepts ints and floats; rejects bools, NaN, strings and everything else. Integers too
    large for a float become infinity (callers clamp), never an OverflowError.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return None


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

    ``ttl`` is the caller's assumed lifetime (positive seconds; capped at
    ``MAX_TOKEN_LIFETIME``). ``payload`` is the chat/token reply; if it carries a positive
    ``expires_in`` (seconds), the shorter of that and ``ttl`` wins, but a server's hint never
    makes the lifetime shorter than ``MIN_TOKEN_LIFETIME``, nor the background refresh come
    sooner than ``MIN_REFRESH_INTERVAL``. The refresh starts ``REFRESH_LEAD`` before expiry, or
    halfway through lifetimes too short for that lead.

    Raises:
        ValueError: ``ttl`` is not a positive number.
    """
    if not ttl > 0:  # also catches NaN
        raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
    ttl = min(ttl, MAX_TOKEN_LIFETIME)
    if isinstance(payload, dict):
        hinted = lifetime_seconds(payload.get("expires_in"))
        if hinted is not None and hinted > 0 and hinted < ttl:
            return _lease(value, now, max(hinted, MIN_TOKEN_LIFETIME), floor=MIN_REFRESH_INTERVAL)
    return _lease(value, now, ttl)


def copilot_token_lease(
    value: str,
    now: float,
    *,
    refresh_in: Any,
    expires_at: Any = None,
    wall_now: float | None = None,
) -> TokenLease:
    """A lease for a Copilot token: deadline ``now + refresh_in + 60`` (protocol.md §6).

    ``refresh_in`` is the reply's field as sent: not a number → ``DEFAULT_COPILOT_REFRESH_IN``;
    negative → 0; capped at ``MAX_TOKEN_LIFETIME``. ``expires_at`` (Unix seconds) only
    shortens the lease, and only given ``wall_now`` (the current Unix time); a date in the past
    or a skewed clock cannot push the lifetime under ``MIN_TOKEN_LIFETIME``. The background
    refresh never comes sooner than ``MIN_REFRESH_INTERVAL``.
    """
    seconds = lifetime_seconds(refresh_in)
    if seconds is None:
        seconds = DEFAULT_COPILOT_REFRESH_IN
    ttl = min(max(seconds, 0.0), MAX_TOKEN_LIFETIME) + 60.0
    deadline = lifetime_seconds(expires_at)
    if deadline is not None and wall_now is not None and math.isfinite(wall_now):
        remaining = deadline - wall_now
        if not math.isnan(remaining):
            ttl = min(ttl, max(remaining, MIN_TOKEN_LIFETIME))
    return _lease(value, now, ttl, floor=MIN_REFRESH_INTERVAL)


def _lease(value: str, now: float, ttl: float, *, floor: float = 0.0) -> TokenLease:
    # Refresh REFRESH_LEAD before expiry (protocol.md §6), but never before half the lifetime:
    # short-lived tokens (tests, emulators) would otherwise be refreshed on every request. The
    # two rules meet at ttl = 2 * REFRESH_LEAD, so the refresh point grows continuously with ttl.
    # ``floor`` keeps a server's tiny lifetime from driving the background refresh into a loop;
    # past ``expires`` a request that needs the token fetches it (one fetch at a time).
    refresh_in = max(ttl - REFRESH_LEAD, ttl / 2, floor)
    return TokenLease(value=value, obtained=now, refresh_at=now + refresh_in, expires=now + ttl)
