"""Error responses to typed errors, and the retry policy (protocol.md §5).

Bodies are quoted verbatim from protocol.md §5.2 and served the way CAPI serves them: as
``text/plain; charset=utf-8`` with a trailing newline, even when they are JSON (§5.1).
"""

from __future__ import annotations

import calendar
import dataclasses
import math
from typing import Any

import pytest

from copilot_anyio import UsageError
from copilot_anyio._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    CopilotError,
    IncompleteStreamError,
    NotFoundError,
    PermissionDeniedError,
    PoolTimeout,
    QuotaExceededError,
    RateLimitError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ServerError,
    StreamInterruptedError,
    StreamServerError,
    StreamStalledError,
    TokenExchangeError,
    TransportError,
    WriteError,
)
from copilot_anyio._retry import RetryPolicy, backoff_delay
from copilot_anyio._status import error_from_response, parse_retry_after

#: Unix time of "Sun, 06 Nov 1994 08:49:37 GMT" (the RFC 9110 example date).
NOW = float(calendar.timegm((1994, 11, 6, 8, 49, 37)))
TEXT_PLAIN = {"Content-Type": "text/plain; charset=utf-8"}

MODEL_NOT_SUPPORTED = (
    '{"error":{"message":"The requested model is not supported.","code":"model_not_supported",'
    '"param":"model","type":"invalid_request_error"}}'
)
UNSUPPORTED_API = (
    '{"error":{"message":"model \\"gpt-5-codex\\" is not accessible via the /chat/completions '
    'endpoint","code":"unsupported_api_for_model"}}'
)
NO_QUOTA = '{"error":{"message":"You have no quota","code":"quota_exceeded"}}'
RATE_LIMITED_NESTED = '{"error":{"message":"Please wait 3 minutes","code":"rate_limited"}}'
RATE_LIMITED_FLAT = '{"message":"rate limit exceeded","code":"rate_limited"}'
SIGNUP_ENVELOPE = (
    '{"error_details": {"url": "https://github.com/github-copilot/signup?editor={EDITOR}", '
    '"message": "No access to GitHub Copilot found. You are currently logged in as octocat.", '
    '"title": "Signup for GitHub Copilot", "notification_id": "no_copilot_access"}, '
    '"message": "Resource not accessible by integration", "can_signup_for_limited": true}'
)
HTML_PAGE = (
    "<!DOCTYPE html>\n<html lang='en'><head><title>Unicorn! · GitHub</title></head>"
    "<body><h1>We had issues producing the response to your request.</h1></body></html>\n"
)


def err(
    status: int, body: str = "", headers: dict[str, str] | None = None, *, now: float = NOW
) -> APIStatusError:
    return error_from_response(status, {**TEXT_PLAIN, **(headers or {})}, body, now=now)


# --- retry-after ---------------------------------------------------------------------------------


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("120", 120.0),
            ("0", 0.0),
            ("1.5", 1.5),
            (" 30 ", 30.0),
            ("30\r\n", 30.0),
            ("208800", 208800.0),  # 58 hours, reported in the wild (§5.4)
        ],
    )
    def test_delta_seconds(self, value: str, seconds: float) -> None:
        assert parse_retry_after(value, now=NOW) == seconds

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("Sun, 06 Nov 1994 08:51:37 GMT", id="imf-fixdate"),
            pytest.param("Sunday, 06-Nov-94 08:51:37 GMT", id="rfc850"),
            pytest.param("Sun Nov  6 08:51:37 1994", id="asctime"),
        ],
    )
    def test_http_date_relative_to_now(self, value: str) -> None:
        # RFC 9110 §5.6.7: recipients MUST accept all three HTTP-date forms, all in GMT.
        assert parse_retry_after(value, now=NOW) == pytest.approx(120.0)

    def test_date_uses_the_given_now(self) -> None:
        value = "Sun, 06 Nov 1994 08:51:37 GMT"
        assert parse_retry_after(value, now=NOW + 100) == pytest.approx(20.0)

    @pytest.mark.parametrize(
        "value", ["Sun, 06 Nov 1994 08:49:37 GMT", "Sat, 05 Nov 1994 08:49:37 GMT"]
    )
    def test_past_or_present_date_is_zero(self, value: str) -> None:
        assert parse_retry_after(value, now=NOW) == 0.0

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "   ",
            "soon",
            "-5",
            "-0.5",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "Infinity",
            "1e400",
            "0x10",
            "Sun, 06 Nov 1994 25:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Wed, 21 Oct 99999999999 07:28:00 GMT",
            "Thu, 01 Jan 1970",
        ],
    )
    def test_unreadable_is_none(self, value: str | None) -> None:
        assert parse_retry_after(value, now=NOW) is None


# --- status to error -------------------------------------------------------------------------------


class TestErrorClasses:
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (402, QuotaExceededError),
            (403, PermissionDeniedError),
            (404, NotFoundError),
            (429, RateLimitError),
            (500, ServerError),
            (502, ServerError),
            (503, ServerError),
            (504, ServerError),
            (599, ServerError),
        ],
    )
    def test_status_class(self, status: int, cls: type[APIStatusError]) -> None:
        assert type(err(status)) is cls

    @pytest.mark.parametrize("status", [405, 409, 413, 422, 424, 499])
    def test_other_statuses_are_plain_api_status_errors(self, status: int) -> None:
        assert type(err(status)) is APIStatusError

    @pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 429, 500, 502, 503])
    def test_status_code_kept(self, status: int) -> None:
        assert err(status).status_code == status

    def test_503_with_retry_after_is_rate_limited(self) -> None:
        error = err(503, "", {"Retry-After": "7"})
        assert isinstance(error, RateLimitError)
        assert (error.status_code, error.retry_after) == (503, 7.0)

    def test_503_with_unreadable_retry_after_is_server_error(self) -> None:
        assert type(err(503, "", {"Retry-After": "later"})) is ServerError

    def test_returned_not_raised(self) -> None:
        assert isinstance(err(500, "boom"), CopilotError)


class TestRetryAfterOnErrors:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("30", 30.0), ("208800", 208800.0), ("Sun, 06 Nov 1994 08:59:37 GMT", 600.0)],
    )
    def test_429(self, value: str, seconds: float) -> None:
        error = err(429, RATE_LIMITED_NESTED + "\n", {"retry-after": value})
        assert isinstance(error, RateLimitError)
        assert error.retry_after == pytest.approx(seconds)

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [("3600", 3600.0), ("Mon, 07 Nov 1994 08:49:37 GMT", 86400.0)],
    )
    def test_402(self, value: str, seconds: float) -> None:
        # §5.2: 402 with retry-after as HTTP date or seconds.
        error = err(402, NO_QUOTA + "\n", {"Retry-After": value})
        assert isinstance(error, QuotaExceededError)
        assert error.retry_after == pytest.approx(seconds)

    @pytest.mark.parametrize("status", [402, 429])
    def test_absent(self, status: int) -> None:
        error = err(status)
        assert isinstance(error, RateLimitError | QuotaExceededError)
        assert error.retry_after is None

    def test_unreadable_date_is_none(self) -> None:
        error = err(429, "", {"Retry-After": "Wed, 21 Oct 99999999999 07:28:00 GMT"})
        assert isinstance(error, RateLimitError)
        assert error.retry_after is None

    def test_header_name_case_insensitive(self) -> None:
        error = err(429, "", {"RETRY-AFTER": "12"})
        assert isinstance(error, RateLimitError)
        assert error.retry_after == 12.0


class TestErrorBodies:
    @pytest.mark.parametrize(
        ("status", "body", "code", "message"),
        [
            pytest.param(
                400,
                MODEL_NOT_SUPPORTED,
                "model_not_supported",
                "The requested model is not supported.",
                id="400-model_not_supported",
            ),
            pytest.param(
                400,
                UNSUPPORTED_API,
                "unsupported_api_for_model",
                'model "gpt-5-codex" is not accessible via the /chat/completions endpoint',
                id="400-unsupported_api_for_model",
            ),
            pytest.param(402, NO_QUOTA, "quota_exceeded", "You have no quota", id="402"),
            pytest.param(
                429, RATE_LIMITED_NESTED, "rate_limited", "Please wait 3 minutes", id="429-nested"
            ),
            pytest.param(
                429, RATE_LIMITED_FLAT, "rate_limited", "rate limit exceeded", id="429-flat"
            ),
            pytest.param(
                403,
                SIGNUP_ENVELOPE,
                None,
                "Resource not accessible by integration",
                id="403-signup-envelope",
            ),
        ],
    )
    def test_json_served_as_text_with_newline(
        self, status: int, body: str, code: str | None, message: str
    ) -> None:
        error = err(status, body + "\n")
        assert (error.code, error.message) == (code, message)

    def test_raw_body_kept(self) -> None:
        assert err(402, NO_QUOTA + "\n").body == NO_QUOTA + "\n"

    def test_json_with_surrounding_whitespace(self) -> None:
        error = err(429, "\r\n  " + RATE_LIMITED_FLAT + " \r\n")
        assert (error.code, error.message) == ("rate_limited", "rate limit exceeded")

    def test_numeric_code_is_text(self) -> None:
        assert err(400, '{"error":{"message":"m","code":42}}').code == "42"

    def test_error_string(self) -> None:
        error = err(400, '{"error":"bad things"}\n')
        assert (error.code, error.message) == (None, "bad things")

    @pytest.mark.parametrize(
        ("status", "text"),
        [
            (401, "unauthorized: token expired"),
            (401, "unauthorized: unable to validate HMAC for the given Copilot-Integration-ID"),
            (401, "Invalid auto-mode selector"),
            (400, "bad request: missing Editor-Version header for IDE auth"),
            (400, "bad request: unknown Editor-Version header for IDE auth"),
            (400, "bad request: missing required Copilot-Integration-Id header"),
            (400, "bad request: unknown Copilot-Integration-Id"),
            (422, "Unprocessable Entity"),
            (429, "429 too many requests"),
        ],
    )
    def test_plain_text_is_the_message(self, status: int, text: str) -> None:
        error = err(status, text + "\n")
        assert (error.message, error.code) == (text, None)

    def test_plain_text_in_str(self) -> None:
        assert "unauthorized: token expired" in str(err(401, "unauthorized: token expired\n"))

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(HTML_PAGE, id="doctype"),
            pytest.param("\n\n" + HTML_PAGE.lower(), id="leading-newlines-lowercase"),
            pytest.param("<html><body>Service Unavailable</body></html>", id="html"),
            pytest.param(
                "<head><title>502 Bad Gateway</title></head><body>nginx</body>", id="fragment"
            ),
        ],
    )
    def test_html_is_not_the_message(self, body: str) -> None:
        error = err(502, body)
        assert "<" not in error.message
        assert "502" in str(error)
        assert error.body == body  # still kept for whoever wants it

    @pytest.mark.parametrize("body", ["", "\n", "   "])
    def test_empty_body_still_has_a_message(self, body: str) -> None:
        error = err(500, body)
        assert error.message.strip()
        assert "500" in str(error)

    def test_long_text_body_is_shortened_in_the_message(self) -> None:
        body = "x" * 5000 + "\n"
        error = err(500, body)
        assert len(error.message) <= 301
        assert error.body == body

    @pytest.mark.parametrize("body", ['"just a string"', "[1, 2]", "42", "null"])
    def test_json_that_is_not_an_object(self, body: str) -> None:
        error = err(400, body)
        assert isinstance(error, BadRequestError)
        assert error.code is None

    def test_empty_json_message_falls_back(self) -> None:
        error = err(500, '{"error":{"message":"","code":"x"}}')
        assert error.message.strip()
        assert error.code == "x"

    @pytest.mark.parametrize(
        "body",
        [pytest.param("[" * 5000, id="arrays"), pytest.param('{"a":' * 5000, id="objects")],
    )
    def test_deeply_nested_json_does_not_crash(self, body: str) -> None:
        error = err(500, body)
        assert type(error) is ServerError
        assert error.body == body


class TestErrorHeaders:
    def test_headers_lower_cased(self) -> None:
        error = err(429, "", {"X-RateLimit-Exceeded": "model", "Retry-After": "5"})
        assert error.headers["x-ratelimit-exceeded"] == "model"
        assert error.headers["retry-after"] == "5"
        assert all(name == name.lower() for name in error.headers)

    @pytest.mark.parametrize(
        "name", ["x-request-id", "X-Request-Id", "x-github-request-id", "X-GitHub-Request-Id"]
    )
    def test_request_id(self, name: str) -> None:
        error = err(500, "", {name: "ABCD:1234:5678"})
        assert error.request_id == "ABCD:1234:5678"
        assert "ABCD:1234:5678" in str(error)

    def test_no_request_id(self) -> None:
        assert err(500).request_id is None

    def test_both_request_ids_stay_readable(self) -> None:
        error = err(500, "", {"x-request-id": "r1", "x-github-request-id": "g1"})
        assert error.request_id in ("r1", "g1")
        assert (error.headers["x-request-id"], error.headers["x-github-request-id"]) == (
            "r1",
            "g1",
        )


# --- the retry policy ------------------------------------------------------------------------------

POLICY = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_cap=8.0, max_retry_after=30.0)


def rate_limited(retry_after: float | None, status: int = 429) -> RateLimitError:
    return RateLimitError("slow down", status_code=status, retry_after=retry_after)


class TestRetryPolicy:
    @pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 466])
    def test_never_for_client_errors(self, status: int) -> None:
        error = err(status, "", {"Retry-After": "1"})
        assert POLICY.delay_for(error, 1, jitter=0.5) is None

    @pytest.mark.parametrize(("retry_after", "delay"), [(0.0, 0.0), (5.0, 5.0), (30.0, 30.0)])
    def test_429_within_the_maximum(self, retry_after: float, delay: float) -> None:
        assert POLICY.delay_for(rate_limited(retry_after), 1, jitter=0.5) == delay

    @pytest.mark.parametrize("retry_after", [30.001, 3600.0, 208800.0])
    def test_429_beyond_the_maximum(self, retry_after: float) -> None:
        assert POLICY.delay_for(rate_limited(retry_after), 1, jitter=0.5) is None

    def test_429_without_retry_after(self) -> None:
        assert POLICY.delay_for(rate_limited(None), 1, jitter=0.5) is None

    @pytest.mark.parametrize("retry_after", [0.0, 5.0])
    def test_default_never_waits_on_a_rate_limit(self, retry_after: float) -> None:
        assert RetryPolicy().delay_for(rate_limited(retry_after), 1, jitter=0.5) is None

    def test_no_maximum_never_waits_on_a_rate_limit(self) -> None:
        policy = RetryPolicy(max_retries=5, max_retry_after=None)
        assert policy.delay_for(rate_limited(0.0), 1, jitter=0.5) is None

    def test_503_with_retry_after_follows_the_429_rule(self) -> None:
        near = err(503, "", {"Retry-After": "10"})
        far = err(503, "", {"Retry-After": "100"})
        assert POLICY.delay_for(near, 1, jitter=0.5) == 10.0
        assert POLICY.delay_for(far, 1, jitter=0.5) is None

    def test_503_without_retry_after(self) -> None:
        assert POLICY.delay_for(err(503), 1, jitter=0.5) is None

    def test_rate_limit_error_from_the_wire(self) -> None:
        error = err(429, RATE_LIMITED_FLAT + "\n", {"retry-after": "2"})
        assert POLICY.delay_for(error, 1, jitter=0.5) == 2.0

    @pytest.mark.parametrize("status", [500, 502, 504])
    @pytest.mark.parametrize("attempt", [1, 2, 3])
    @pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
    def test_server_errors_back_off(self, status: int, attempt: int, jitter: float) -> None:
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        delay = POLICY.delay_for(err(status), attempt, jitter=jitter)
        assert delay is not None
        assert ceiling / 2 <= delay <= ceiling

    @pytest.mark.parametrize(
        "cls", [ConnectError, ConnectTimeout, ReadError, ReadTimeout, WriteError, PoolTimeout]
    )
    @pytest.mark.parametrize("attempt", [1, 2, 3])
    def test_transport_errors_back_off(self, cls: type[TransportError], attempt: int) -> None:
        ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
        delay = POLICY.delay_for(cls("connection reset"), attempt, jitter=0.3)
        assert delay is not None
        assert ceiling / 2 <= delay <= ceiling

    def test_delays_grow(self) -> None:
        delays = [POLICY.delay_for(err(502), a, jitter=1.0) for a in (1, 2, 3)]
        assert delays == [0.5, 1.0, 2.0]

    def test_delay_capped(self) -> None:
        policy = RetryPolicy(max_retries=10, backoff_base=1.0, backoff_cap=3.0)
        assert policy.delay_for(err(500), 10, jitter=1.0) == 3.0

    @pytest.mark.parametrize(
        "error",
        [
            pytest.param(err(500), id="500"),
            pytest.param(err(502), id="502"),
            pytest.param(ReadError("reset"), id="transport"),
            pytest.param(rate_limited(1.0), id="429"),
        ],
    )
    @pytest.mark.parametrize("attempt", [4, 5, 100])
    def test_not_beyond_max_retries(self, error: Exception, attempt: int) -> None:
        assert POLICY.delay_for(error, attempt, jitter=0.5) is None

    def test_zero_retries(self) -> None:
        policy = RetryPolicy(max_retries=0, max_retry_after=60.0)
        assert policy.delay_for(err(500), 1, jitter=0.5) is None
        assert policy.delay_for(ConnectError("refused"), 1, jitter=0.5) is None
        assert policy.delay_for(rate_limited(1.0), 1, jitter=0.5) is None

    @pytest.mark.parametrize(
        "error",
        [
            pytest.param(StreamInterruptedError("cut", partial_text="Hel"), id="interrupted"),
            pytest.param(IncompleteStreamError("no complete"), id="incomplete"),
            pytest.param(StreamStalledError("idle"), id="stalled"),
            pytest.param(StreamServerError("boom"), id="in-stream-error"),
            pytest.param(RemoteProtocolError("bad json"), id="remote-protocol"),
            pytest.param(TokenExchangeError("bad login", status_code=401), id="token-exchange"),
            pytest.param(ValueError("not ours"), id="foreign"),
        ],
    )
    def test_never_for_other_errors(self, error: Exception) -> None:
        # Once bytes reached the caller nothing is retried (§5.4), and a bad login is not transient.
        assert POLICY.delay_for(error, 1, jitter=0.5) is None

    def test_frozen(self) -> None:
        with pytest.raises(dataclasses.FrozenInstanceError):
            POLICY.max_retries = 99  # type: ignore[misc]

    def test_delay_is_finite(self) -> None:
        delay = POLICY.delay_for(err(500), 3, jitter=1.0)
        assert delay is not None
        assert math.isfinite(delay)


class TestReviewedEdges:
    @pytest.mark.parametrize(
        "error",
        [ReadError("reset"), ReadTimeout("slow"), WriteError("broken pipe")],
    )
    def test_a_post_is_not_resent_once_it_may_have_arrived(self, error: Exception) -> None:
        policy = RetryPolicy(max_retries=3)
        assert policy.delay_for(error, 1, jitter=0.5, idempotent=False) is None
        assert policy.delay_for(error, 1, jitter=0.5, idempotent=True) is not None

    @pytest.mark.parametrize(
        "error", [ConnectError("refused"), ConnectTimeout("slow"), PoolTimeout("busy")]
    )
    def test_a_post_that_never_left_may_be_retried(self, error: Exception) -> None:
        assert RetryPolicy(max_retries=3).delay_for(error, 1, jitter=0.5, idempotent=False)

    @pytest.mark.parametrize("name", ["Set-Cookie", "cookie", "Authorization"])
    def test_credential_headers_are_not_kept_on_errors(self, name: str) -> None:
        error = error_from_response(429, {name: "secret", "x-request-id": "r1"}, "", now=0.0)
        assert name.lower() not in error.headers
        assert error.request_id == "r1"


class TestBackoffDelay:
    @pytest.mark.parametrize(
        ("attempt", "jitter", "expected"),
        [
            (1, 0.0, 0.25),
            (1, 1.0, 0.5),
            (1, 0.5, 0.375),
            (2, 0.0, 0.5),
            (2, 1.0, 1.0),
            (3, 1.0, 2.0),
            (4, 0.0, 2.0),
            (5, 1.0, 8.0),
            (6, 1.0, 8.0),  # capped
            (6, 0.0, 4.0),
            (100, 1.0, 8.0),
            (10**6, 0.0, 4.0),
        ],
    )
    def test_values(self, attempt: int, jitter: float, expected: float) -> None:
        assert backoff_delay(attempt, base=0.5, cap=8.0, jitter=jitter) == pytest.approx(expected)

    @pytest.mark.parametrize("attempt", [1, 2, 3, 10, 64, 1000])
    @pytest.mark.parametrize("jitter", [0.0, 0.25, 0.999, 1.0])
    def test_within_half_ceiling_and_ceiling(self, attempt: int, jitter: float) -> None:
        ceiling = min(8.0, 0.5 * 2.0 ** (attempt - 1))
        delay = backoff_delay(attempt, base=0.5, cap=8.0, jitter=jitter)
        assert ceiling / 2 <= delay <= ceiling

    @pytest.mark.parametrize(("jitter", "expected"), [(-1.0, 0.25), (2.0, 0.5)])
    def test_jitter_out_of_range_is_clamped(self, jitter: float, expected: float) -> None:
        assert backoff_delay(1, base=0.5, cap=8.0, jitter=jitter) == expected

    def test_grows_with_attempts(self) -> None:
        delays = [backoff_delay(a, base=0.5, cap=100.0, jitter=0.5) for a in range(1, 8)]
        assert delays == sorted(delays)
        assert len(set(delays)) == len(delays)

    def test_never_zero(self) -> None:
        assert backoff_delay(1, base=0.5, cap=8.0, jitter=0.0) > 0

    @pytest.mark.parametrize("attempt", [0, -1])
    def test_attempts_count_from_one(self, attempt: int) -> None:
        with pytest.raises(ValueError, match="attempt"):
            backoff_delay(attempt, base=0.5, cap=8.0, jitter=0.5)


class TestPolicyIsChecked:
    @pytest.mark.parametrize(
        ("options", "place"),
        [
            ({"max_retries": -1}, "max_retries"),
            ({"max_retries": 1.5}, "max_retries"),
            ({"backoff_base": 0}, "backoff_base"),
            ({"backoff_base": math.nan}, "backoff_base"),
            ({"backoff_cap": -1.0}, "backoff_cap"),
            ({"backoff_base": 4.0, "backoff_cap": 1.0}, "backoff_cap"),
            ({"max_retry_after": -5}, "max_retry_after"),
        ],
    )
    def test_nonsense_is_refused_naming_the_field(
        self, options: dict[str, Any], place: str
    ) -> None:
        with pytest.raises(UsageError, match=f"RetryPolicy.{place}"):
            RetryPolicy(**options)
