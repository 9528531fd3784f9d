"""Device-flow decisions (protocol.md §3.1): each poll reply is one outcome type."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot_anyio._errors import AuthorizationDeniedError, DeviceCodeExpiredError, DeviceFlowError
from copilot_anyio.ide._device_flow import (
    MAX_POLL_INTERVAL,
    MIN_POLL_INTERVAL,
    Authorized,
    Denied,
    DeviceCode,
    Expired,
    Failed,
    Pending,
    SlowDown,
    classify_poll,
    parse_device_code,
    parse_oauth_body,
)

DEVICE_CODE = "3584d83530557fdd1f46af8289938c8ef79f9dc5"
USER_TOKEN = "ghu_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"
CODE_REPLY = {
    "device_code": DEVICE_CODE,
    "user_code": "WDJB-MJHT",
    "verification_uri": "https://github.com/login/device",
    "expires_in": 900,
    "interval": 5,
}


def err(code: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": code,
        "error_description": "d",
        "error_uri": "https://docs.github.com",
        **extra,
    }


class TestDeviceCode:
    def test_parsed(self) -> None:
        code = parse_device_code(CODE_REPLY)
        assert code == DeviceCode(
            device_code=DEVICE_CODE,
            user_code="WDJB-MJHT",
            verification_uri="https://github.com/login/device",
            expires_in=900.0,
            interval=5.0,
        )

    def test_repr_hides_the_device_code(self) -> None:
        code = parse_device_code(CODE_REPLY)
        assert DEVICE_CODE not in repr(code)
        assert "WDJB-MJHT" in repr(code)

    def test_form_encoded_numbers(self) -> None:
        body = parse_oauth_body(
            f"device_code={DEVICE_CODE}&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice&expires_in=900&interval=5"
        )
        code = parse_device_code(body)
        assert (code.interval, code.expires_in, code.verification_uri) == (
            5.0,
            900.0,
            "https://github.com/login/device",
        )

    @pytest.mark.parametrize(
        ("interval", "expected"),
        [
            (0, MIN_POLL_INTERVAL),
            (-5, MIN_POLL_INTERVAL),
            (math.nan, 5.0),
            (None, 5.0),
            (1e9, MAX_POLL_INTERVAL),
            ("x", 5.0),
        ],
    )
    def test_interval_bounded(self, interval: Any, expected: float) -> None:
        assert parse_device_code({**CODE_REPLY, "interval": interval}).interval == expected

    @pytest.mark.parametrize("expires_in", [0, -1, None, math.inf, 10**400])
    def test_lifetime_bounded(self, expires_in: Any) -> None:
        lifetime = parse_device_code({**CODE_REPLY, "expires_in": expires_in}).expires_in
        assert 0 < lifetime <= 3600

    def test_error_reply(self) -> None:
        with pytest.raises(DeviceFlowError) as caught:
            parse_device_code(err("device_flow_disabled"))
        assert caught.value.error_code == "device_flow_disabled"

    @pytest.mark.parametrize("missing", ["device_code", "user_code", "verification_uri"])
    def test_missing_field(self, missing: str) -> None:
        reply = {k: v for k, v in CODE_REPLY.items() if k != missing}
        with pytest.raises(DeviceFlowError) as caught:
            parse_device_code(reply)
        assert DEVICE_CODE not in str(caught.value)


class TestClassify:
    def test_success(self) -> None:
        outcome = classify_poll(
            200, {"access_token": USER_TOKEN, "token_type": "bearer", "scope": ""}, interval=5
        )
        assert outcome == Authorized(token=USER_TOKEN)
        assert USER_TOKEN not in repr(outcome)

    @pytest.mark.parametrize("status", [200, 400])
    def test_pending(self, status: int) -> None:
        assert classify_poll(status, err("authorization_pending"), interval=5) == Pending(5.0)

    def test_slow_down_adds_five(self) -> None:
        assert classify_poll(200, err("slow_down"), interval=5) == SlowDown(10.0)

    def test_slow_down_adopts_a_longer_server_interval(self) -> None:
        assert classify_poll(200, err("slow_down", interval=15), interval=5) == SlowDown(15.0)

    def test_slow_down_never_shrinks_below_plus_five(self) -> None:
        assert classify_poll(200, err("slow_down", interval=2), interval=5) == SlowDown(10.0)

    def test_slow_down_form_encoded_interval(self) -> None:
        reply = parse_oauth_body("error=slow_down&error_description=x&interval=20")
        assert classify_poll(200, reply, interval=5) == SlowDown(20.0)

    @pytest.mark.parametrize("code", ["expired_token", "token_expired", "incorrect_device_code"])
    def test_expired(self, code: str) -> None:
        outcome = classify_poll(200, err(code), interval=5)
        assert outcome == Expired(code)
        assert isinstance(outcome, Expired)
        error = outcome.error()
        assert isinstance(error, DeviceCodeExpiredError)
        assert error.error_code == code

    def test_denied(self) -> None:
        outcome = classify_poll(200, err("access_denied"), interval=5)
        assert outcome == Denied()
        assert isinstance(outcome, Denied)
        assert isinstance(outcome.error(), AuthorizationDeniedError)

    @pytest.mark.parametrize(
        "code",
        [
            "unsupported_grant_type",
            "incorrect_client_credentials",
            "device_flow_disabled",
            "new_code",
        ],
    )
    def test_configuration_errors_fail(self, code: str) -> None:
        outcome = classify_poll(400, err(code), interval=5)
        assert isinstance(outcome, Failed)
        assert outcome.error.error_code == code
        assert code in str(outcome.error)

    def test_server_error_keeps_polling(self) -> None:
        assert classify_poll(502, {}, interval=7) == Pending(7.0)

    def test_429_slows_down(self) -> None:
        assert classify_poll(429, {}, interval=5) == SlowDown(10.0)

    def test_unreadable_success_fails(self) -> None:
        outcome = classify_poll(200, {"token_type": "bearer"}, interval=5)
        assert isinstance(outcome, Failed)

    def test_outcome_types_are_distinct(self) -> None:
        kinds = {
            type(classify_poll(200, reply, interval=5))
            for reply in (
                {"access_token": USER_TOKEN},
                err("authorization_pending"),
                err("slow_down"),
                err("expired_token"),
                err("access_denied"),
                err("device_flow_disabled"),
            )
        }
        assert len(kinds) == 6

    def test_parse_oauth_body_json_and_junk(self) -> None:
        assert parse_oauth_body('{"error": "slow_down"}') == {"error": "slow_down"}
        assert parse_oauth_body("[1]") == {}
        assert parse_oauth_body("") == {}


_intervals = st.one_of(st.floats(), st.integers(-(10**30), 10**30), st.none(), st.text(max_size=4))


@given(
    interval=st.floats(allow_nan=True),
    server=_intervals,
    status=st.sampled_from([200, 400, 429, 502]),
)
def test_next_interval_always_bounded(interval: float, server: Any, status: int) -> None:
    for reply in (err("slow_down", interval=server), err("authorization_pending"), {}):
        outcome = classify_poll(status, reply, interval=interval)
        if isinstance(outcome, Pending | SlowDown):
            assert MIN_POLL_INTERVAL <= outcome.interval <= MAX_POLL_INTERVAL
