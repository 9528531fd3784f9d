"""Keeping a short-lived token fresh: single-flight fetches and a background refresh loop.

The decisions (when is a token usable, when to refresh, how long to back off) are the pure
functions of ``_auth.py``; this module only waits, locks and calls the fetch function.

* **Single flight.** Every fetch happens under one ``anyio.Lock``, so at most one is in flight.
  A task that waited for the lock re-checks before fetching: if the holder got a fresh token it
  is reused; if the holder's fetch *failed*, the waiter gets that same error instead of starting
  a second fetch (protocol.md §6 "a failure wakes all waiters with the error"). If the holder is
  cancelled, the lock passes on and the next waiter fetches: cancelling one request never
  strands the others.
* **Background refresh** (``run``) lives in the client's task group. It sleeps until the lease's
  ``refresh_at``, fetches, and on failure backs off and tries again while requests keep using the
  still-valid token. It never raises: a refresh failure must not cancel the task group and with
  it every conversation; the error surfaces on the next request that needs a token.
* **Reactive refresh.** ``invalidate(value)`` drops the token after a 401, but only if it is
  still the one that was refused, so a burst of 401s from one stale token causes one fetch.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Awaitable, Callable

import anyio

from ._auth import TokenLease
from ._errors import CopilotError
from ._retry import backoff_delay

__all__ = ["TokenManager"]

logger = logging.getLogger("copilot_anyio")


class TokenManager:
    """Hands out a valid token; fetches one (single-flight) when there is none.

    Args:
        fetch: fetches a new token and returns its lease (times on ``clock``).
        clock: the monotonic clock the leases are measured on (``anyio.current_time``).
        retry_base, retry_cap: backoff of the background refresh after failures.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[TokenLease]],
        *,
        clock: Callable[[], float] = anyio.current_time,
        retry_base: float = 1.0,
        retry_cap: float = 60.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._lease: TokenLease | None = None
        self._lock = anyio.Lock()
        self._lease_changed = anyio.Event()
        self._failures = 0
        self._last_error: CopilotError | None = None
        #: fetches started, and the most ever in flight at once (observability for tests)
        self.fetches = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def __repr__(self) -> str:
        return f"TokenManager(lease={self._lease!r}, fetches={self.fetches})"

    @property
    def lease(self) -> TokenLease | None:
        return self._lease

    async def get(self, *, fetch: Callable[[], Awaitable[TokenLease]] | None = None) -> str:
        """A token usable now; fetches one first if needed. Raises the fetch's error.

        ``fetch`` replaces the manager's own fetch for this call (a shared manager whose
        users each bring their own connection).
        """
        lease = self._lease
        if lease is not None and lease.usable(self._clock()):
            return lease.value
        return await self._refresh(None if lease is None else lease.value, fetch or self._fetch)

    def invalidate(self, value: str) -> None:
        """Forget ``value`` after the server refused it (only if it is still the current one)."""
        if self._lease is not None and self._lease.value == value:
            self._set(None)

    def _set(self, lease: TokenLease | None) -> None:
        self._lease = lease
        self._lease_changed.set()
        self._lease_changed = anyio.Event()

    async def _refresh(
        self, stale: str | None, fetch: Callable[[], Awaitable[TokenLease]] | None = None
    ) -> str:
        failures_seen = self._failures
        async with self._lock:
            lease = self._lease
            if lease is not None and lease.value != stale and lease.usable(self._clock()):
                return lease.value  # another task refreshed while we waited
            if self._failures != failures_seen and self._last_error is not None:
                # The fetch we waited on failed: every waiter gets that error, as its own copy
                # (one shared object would collect every waiter's traceback and notes).
                raise copy.copy(self._last_error).with_traceback(None)
            self.fetches += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                lease = await (fetch or self._fetch)()
            except CopilotError as exc:
                self._failures += 1
                self._last_error = exc
                raise
            finally:
                self.in_flight -= 1
            self._last_error = None
            self._set(lease)
            return lease.value

    async def run(self) -> None:
        """Refresh ahead of expiry forever (until cancelled). Never raises a CopilotError."""
        attempt = 0
        while True:
            lease = self._lease
            if lease is None:
                await self._lease_changed.wait()
                continue
            delay = lease.refresh_at - self._clock()
            if delay > 0:
                with anyio.move_on_after(delay):
                    await self._lease_changed.wait()
                    continue  # replaced or dropped early: look again
            if self._lease is not lease:
                continue
            try:
                await self._refresh(lease.value)
            except CopilotError as exc:
                attempt += 1
                wait = backoff_delay(
                    attempt, base=self._retry_base, cap=self._retry_cap, jitter=random.random()
                )
                logger.warning(
                    "background token refresh failed (%s); retrying in %.1f s",
                    type(exc).__name__,
                    wait,
                )
                await anyio.sleep(wait)
            else:
                attempt = 0
