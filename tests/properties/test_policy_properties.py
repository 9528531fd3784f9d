"""Hypothesis properties of the token and retry decisions: backoff stays in bounds, and reading a
server's error response never fails, whatever the server sent."""

from __future__ import annotations

import json
import math

from hypothesis import example, given
from hypothesis import strategies as st

from copilot_anyio._errors import APIStatusError, QuotaExceededError, RateLimitError
from copilot_anyio._retry import RetryPolicy, backoff_delay
from copilot_anyio._status import error_from_response, parse_retry_after

# Unix times from 1970 to 2100; the upper end keeps dates inside datetime's range.
_now = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)
_positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)

# Header values as servers (and broken proxies) send them: numbers, dates, anything.
_retry_after_values = st.one_of(
    st.text(),
    st.integers(-(10**20), 10**20).map(str),
    st.floats().map(str),
    st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")),
    st.sampled_from(["Sun Nov  6 08:49:37 1994", "Sunday, 06-Nov-94 08:49:37 GMT", "-0"]),
)
_header_names = st.one_of(
    st.sampled_from(
        ["Retry-After", "retry-after", "X-Request-Id", "x-github-request-id", "Content-Type"]
    ),
    st.text(min_size=1, max_size=20),
)
_headers = st.dictionaries(_header_names, _retry_after_values, max_size=6)
# Bodies: arbitrary text, and JSON-ish text in every shape Copilot uses.
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
_json = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["error", "message", "code", "type", "param", "x"]), inner, max_size=4
        ),
    ),
    max_leaves=12,
)
_bodies = st.one_of(
    st.text(),
    _json.map(lambda v: json.dumps(v) + "\n"),
    st.sampled_from(["<!DOCTYPE html><html></html>", "unauthorized: token expired\n", ""]),
)


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base=_positive,
    cap=_positive,
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_within_half_ceiling_and_ceiling(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 1000))
    delay = backoff_delay(attempt, base=base, cap=cap, jitter=jitter)
    assert ceiling / 2 <= delay <= ceiling
    assert delay <= cap


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base=_positive,
    cap=_positive,
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_is_positive_and_finite(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    delay = backoff_delay(attempt, base=base, cap=cap, jitter=jitter)
    assert delay > 0
    assert math.isfinite(delay)


@given(
    attempt=st.integers(min_value=1, max_value=60),
    base=_positive,
    cap=_positive,
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_never_shrinks_with_attempts(
    attempt: int, base: float, cap: float, jitter: float
) -> None:
    now = backoff_delay(attempt, base=base, cap=cap, jitter=jitter)
    later = backoff_delay(attempt + 1, base=base, cap=cap, jitter=jitter)
    assert later >= now


@given(value=st.one_of(st.none(), _retry_after_values), now=_now)
@example(value="Wed, 21 Oct 99999999999 07:28:00 GMT", now=0.0)
def test_parse_retry_after_never_raises(value: str | None, now: float) -> None:
    seconds = parse_retry_after(value, now=now)
    assert seconds is None or (seconds >= 0 and math.isfinite(seconds))


@given(seconds=st.integers(min_value=0, max_value=10**9), now=_now)
def test_parse_retry_after_reads_any_delta_seconds(seconds: int, now: float) -> None:
    assert parse_retry_after(str(seconds), now=now) == seconds


@given(
    status=st.integers(min_value=400, max_value=599),
    headers=_headers,
    body=_bodies,
    now=_now,
)
@example(status=500, headers={}, body="[" * 5000, now=0.0)
@example(
    status=429, headers={"Retry-After": "Wed, 21 Oct 99999999999 07:28:00 GMT"}, body="", now=0.0
)
def test_error_from_response_never_raises(
    status: int, headers: dict[str, str], body: str, now: float
) -> None:
    error = error_from_response(status, headers, body, now=now)
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert error.body == body
    assert error.message
    assert all(name == name.lower() for name in error.headers)
    if isinstance(error, RateLimitError | QuotaExceededError) and error.retry_after is not None:
        assert error.retry_after >= 0


@given(
    status=st.integers(min_value=400, max_value=599),
    headers=_headers,
    body=_bodies,
    now=_now,
    attempt=st.integers(min_value=1, max_value=10),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_policy_delay_is_bounded(
    status: int, headers: dict[str, str], body: str, now: float, attempt: int, jitter: float
) -> None:
    policy = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_cap=8.0, max_retry_after=60.0)
    longest = 60.0  # the larger of backoff_cap and max_retry_after
    error = error_from_response(status, headers, body, now=now)
    delay = policy.delay_for(error, attempt, jitter=jitter)
    if attempt > policy.max_retries or status in (400, 401, 402, 403, 404):
        assert delay is None
    if delay is not None:
        assert 0 <= delay <= longest
