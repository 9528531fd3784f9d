"""The OAuth device flow's decisions, as pure functions of GitHub's replies.

Theory of operation
-------------------
Sign-in without a browser redirect (protocol.md §3.1, RFC 8628): ``POST /login/device/code``
returns a ``device_code`` (secret), a ``user_code`` the user types at ``verification_uri``, a
lifetime and a polling ``interval``. The client then polls ``POST /login/oauth/access_token``
until GitHub answers with a token or a final error.

``classify_poll`` turns one poll reply into exactly one outcome, each its own type, so the
polling loop (written with the I/O) is a ``match`` with no parsing in it:

=========================  ======================================================================
``Authorized``             the GitHub token; stop.
``Pending``                ``authorization_pending``: wait ``interval`` and poll again.
``SlowDown``               ``slow_down``: the interval grows by 5 s (RFC 8628 §3.5), or to the
                           server's ``interval`` if that is longer; keep it for every later poll.
``Expired``                ``expired_token`` / ``token_expired`` / ``incorrect_device_code``:
                           the code is dead; start a new flow (``DeviceCodeExpiredError``).
``Denied``                 ``access_denied``: the user said no (``AuthorizationDeniedError``).
``Failed``                 anything else (``unsupported_grant_type``, ``device_flow_disabled``,
                           ``incorrect_client_credentials``, a reply we cannot read): a
                           configuration problem, not worth another poll.
=========================  ======================================================================

GitHub answers errors with HTTP 200 (sometimes 400): the decision is made on the ``error`` field,
never on the status. A 5xx reply without one counts as ``Pending`` (retry timed-out polls); a 429
as ``SlowDown``.

Intervals are bounded to ``[MIN_POLL_INTERVAL, MAX_POLL_INTERVAL]`` whatever the server says, so a
zero, negative or NaN interval cannot make a tight loop and a huge one cannot stall sign-in.
No outcome's repr shows the device code or the token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final
from urllib.parse import parse_qsl

from .._errors import (
    AuthorizationDeniedError,
    DeviceCodeExpiredError,
    DeviceFlowError,
)

__all__ = [
    "DEFAULT_POLL_INTERVAL",
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "SLOW_DOWN_STEP",
    "Authorized",
    "Denied",
    "DeviceCode",
    "Expired",
    "Failed",
    "Pending",
    "PollOutcome",
    "SlowDown",
    "classify_poll",
    "parse_device_code",
    "parse_oauth_body",
]

DEFAULT_POLL_INTERVAL: Final = 5.0
MIN_POLL_INTERVAL: Final = 1.0
MAX_POLL_INTERVAL: Final = 120.0
SLOW_DOWN_STEP: Final = 5.0
#: The device code's lifetime when GitHub does not say (its documented 15 minutes).
DEFAULT_DEVICE_CODE_LIFETIME: Final = 900.0
_MAX_DEVICE_CODE_LIFETIME: Final = 3600.0

_EXPIRED: Final = frozenset({"expired_token", "token_expired", "incorrect_device_code"})


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            return math.inf
        return None if math.isnan(number) else number
    if isinstance(value, str):  # form-encoded replies carry numbers as text
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None


def _bounded_interval(value: Any, fallback: float) -> float:
    seconds = _seconds(value)
    if seconds is None:
        seconds = fallback
    return min(max(seconds, MIN_POLL_INTERVAL), MAX_POLL_INTERVAL)


def parse_oauth_body(text: str) -> dict[str, Any]:
    """A github.com OAuth reply: JSON, or form-encoded when ``Accept`` was not honoured."""
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return dict(parse_qsl(text.strip(), keep_blank_values=True))
    return obj if isinstance(obj, dict) else {}


@final
@dataclass(frozen=True, slots=True)
class DeviceCode:
    """What to show the user, and the secret code to poll with."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    expires_in: float
    interval: float
    verification_uri_complete: str | None = None


def parse_device_code(payload: Mapping[str, Any]) -> DeviceCode:
    """The device-code reply; raises ``DeviceFlowError`` for an error reply or a bad shape."""
    error = payload.get("error")
    if error:
        raise _error_for(str(error), payload)
    device_code = payload.get("device_code")
    user_code = payload.get("user_code")
    uri = payload.get("verification_uri")
    if not (isinstance(device_code, str) and device_code):
        raise DeviceFlowError("the device-code reply carried no device_code")
    if not (isinstance(user_code, str) and user_code and isinstance(uri, str) and uri):
        raise DeviceFlowError("the device-code reply carried no user_code or verification_uri")
    lifetime = _seconds(payload.get("expires_in"))
    if lifetime is None or lifetime <= 0:
        lifetime = DEFAULT_DEVICE_CODE_LIFETIME
    complete = payload.get("verification_uri_complete")
    return DeviceCode(
        device_code=device_code,
        user_code=user_code,
        verification_uri=uri,
        expires_in=min(lifetime, _MAX_DEVICE_CODE_LIFETIME),
        interval=_bounded_interval(payload.get("interval"), DEFAULT_POLL_INTERVAL),
        verification_uri_complete=complete if isinstance(complete, str) and complete else None,
    )


# --- poll outcomes ---------------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class Authorized:
    """Sign-in finished: ``token`` is the GitHub token (``ghu_…``), never shown in reprs."""

    token: str = field(repr=False)
    token_type: str = "bearer"
    scope: str = ""


@final
@dataclass(frozen=True, slots=True)
class Pending:
    """Not yet: poll again after ``interval`` seconds."""

    interval: float


@final
@dataclass(frozen=True, slots=True)
class SlowDown:
    """Polling too fast: wait ``interval`` seconds, now and for every later poll."""

    interval: float


@final
@dataclass(frozen=True, slots=True)
class Expired:
    """The device code expired or is unknown: start a new flow."""

    error_code: str

    def error(self) -> DeviceCodeExpiredError:
        return DeviceCodeExpiredError(
            "the sign-in code expired before it was entered; start the sign-in again",
            error_code=self.error_code,
        )


@final
@dataclass(frozen=True, slots=True)
class Denied:
    """The user declined the sign-in."""

    def error(self) -> AuthorizationDeniedError:
        return AuthorizationDeniedError(
            "the sign-in was declined on GitHub", error_code="access_denied"
        )


@final
@dataclass(frozen=True, slots=True)
class Failed:
    """The flow cannot go on: ``error`` says why (a configuration problem, usually)."""

    error: DeviceFlowError


PollOutcome = Authorized | Pending | SlowDown | Expired | Denied | Failed


def _error_for(code: str, payload: Mapping[str, Any]) -> DeviceFlowError:
    description = payload.get("error_description")
    detail = f": {description}" if isinstance(description, str) and description else ""
    return DeviceFlowError(f"GitHub refused the device sign-in ({code}){detail}", error_code=code)


def classify_poll(status: int, payload: Mapping[str, Any], *, interval: float) -> PollOutcome:
    """Decide what one poll reply means.

    Args:
        status: the HTTP status (errors come as 200 or 400; only 429 and 5xx without an
            ``error`` field are judged by it).
        payload: the reply, decoded (``parse_oauth_body`` reads either encoding).
        interval: the interval in force, in seconds.
    """
    current = _bounded_interval(interval, DEFAULT_POLL_INTERVAL)
    error = payload.get("error")
    if not error:
        token = payload.get("access_token")
        if isinstance(token, str) and token:
            token_type = payload.get("token_type")
            scope = payload.get("scope")
            return Authorized(
                token=token,
                token_type=token_type if isinstance(token_type, str) else "bearer",
                scope=scope if isinstance(scope, str) else "",
            )
        if status == 429:
            return SlowDown(_bounded_interval(current + SLOW_DOWN_STEP, current))
        if status >= 500:
            return Pending(current)
        return Failed(
            DeviceFlowError(f"GitHub's reply to a sign-in poll made no sense (HTTP {status})")
        )
    code = str(error)
    if code == "authorization_pending":
        return Pending(current)
    if code == "slow_down":
        proposed = _seconds(payload.get("interval"))
        wanted = current + SLOW_DOWN_STEP
        if proposed is not None:
            wanted = max(wanted, proposed)
        return SlowDown(_bounded_interval(wanted, current))
    if code in _EXPIRED:
        return Expired(code)
    if code == "access_denied":
        return Denied()
    return Failed(_error_for(code, payload))
