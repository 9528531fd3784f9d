"""Deciding whether to retry, and how long to wait: pure functions, no clock or RNG of their own.

``RetryPolicy.delay_for`` is the whole retry policy of protocol.md §5.4 as one function: it
returns how long to wait before the next attempt, or None for "raise now". It never retries
once a byte of the reply reached the caller (the caller guarantees that by asking only before).
``backoff_delay`` is the exponential backoff it (and the background token refresh) uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, final

from ._checks import number, whole_number
from ._errors import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    RateLimitError,
    ServerError,
    TransportError,
    UsageError,
)

__all__ = ["RetryPolicy", "backoff_delay"]


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff with "full jitter" for retry ``attempt`` (1 for the first retry).

    ``jitter`` is a number in [0, 1) the caller draws (this module reads no RNG); the delay is
    uniformly spread over ``[d/2, d]`` where ``d = min(cap, base * 2**(attempt-1))``, so it never
    collapses to zero and never exceeds ``cap``.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(cap, base * (2.0 ** min(attempt - 1, 62)))
    return ceiling / 2 + (ceiling / 2) * min(max(jitter, 0.0), 1.0)


@final
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a request again (protocol.md §5.4).

    Attributes:
        max_retries: retries after the first attempt for 500/502/504 and network failures that
            happened before any byte of the reply reached the caller.
        backoff_base: the first retry's delay ceiling, doubled per retry.
        backoff_cap: the largest delay between retries.
        max_retry_after: a 429 (or 503 with ``retry-after``) is retried, once per attempt, only
            when the server's ``retry-after`` is at most this many seconds. The default, None,
            never retries: the error is raised at once with ``retry_after`` set, so a
            rate-limited account is never hammered and the caller decides.
    """

    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    max_retry_after: float | None = None

    def __post_init__(self) -> None:
        whole_number(self.max_retries, "RetryPolicy.max_retries", minimum=0)
        number(self.backoff_base, "RetryPolicy.backoff_base")
        number(self.backoff_cap, "RetryPolicy.backoff_cap", minimum=0.0)
        if self.backoff_cap < self.backoff_base:
            raise UsageError("RetryPolicy.backoff_cap must be at least backoff_base")
        if self.max_retry_after is not None:
            number(self.max_retry_after, "RetryPolicy.max_retry_after", allow_zero=True)

    def delay_for(
        self, error: Exception, attempt: int, *, jitter: float, idempotent: bool = True
    ) -> float | None:
        """Seconds to wait before retry number ``attempt`` (from 1) after ``error``, or None.

        A request that is not ``idempotent`` (a POST) is re-sent after a network failure only
        when it cannot have reached the server (no connection, or none free in the pool): a
        message sent twice would be answered twice.
        """
        if attempt > self.max_retries:
            return None
        if isinstance(error, RateLimitError):
            after = error.retry_after
            limit = self.max_retry_after
            if limit is not None and after is not None and after <= limit:
                return after
            return None
        if isinstance(error, ServerError):
            if error.status_code in (500, 502, 504):
                return backoff_delay(
                    attempt, base=self.backoff_base, cap=self.backoff_cap, jitter=jitter
                )
            return None
        if isinstance(error, TransportError):
            if not idempotent and not isinstance(error, _NOT_SENT):
                return None
            return backoff_delay(
                attempt, base=self.backoff_base, cap=self.backoff_cap, jitter=jitter
            )
        return None


#: Transport failures that happen before a request leaves the client.
_NOT_SENT: Final = (ConnectError, ConnectTimeout, PoolTimeout)
