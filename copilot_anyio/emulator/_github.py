"""github.com and api.github.com: the OAuth device flow, the Copilot token exchange and the
user/quota endpoint (protocol.md §3.1–§3.3, §5.3)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import Response

from ._faults import window_reset
from ._http import Ctx, dumps
from ._state import DeviceGrant, make_copilot_token

_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_DEVICE_TERMINAL = frozenset(
    {"expired_token", "token_expired", "access_denied", "incorrect_device_code"}
)
_DEVICE_DESCRIPTIONS = {
    "authorization_pending": "The authorization request is still pending.",
    "slow_down": "Too many requests have been made in the same timeframe.",
    "expired_token": "The device code has expired.",
    "token_expired": "The device code has expired.",
    "access_denied": "The authorization request was denied.",
    "incorrect_device_code": "The device_code provided is not valid.",
    "unsupported_grant_type": "The grant type is not supported.",
    "incorrect_client_credentials": "The client_id is not valid.",
    "device_flow_disabled": "Device flow has not been enabled for this app.",
}
_DOCS = "https://docs.github.com/rest"


# ---------------------------------------------------------------------------------------------
# github.com: OAuth device flow
# ---------------------------------------------------------------------------------------------
def _form_or_json(ctx: Ctx) -> dict[str, str]:
    """Parameters from a JSON or form-encoded body (or the query string)."""
    params: dict[str, str] = dict(parse_qsl(ctx.request.url.query))
    body = ctx.json_body()
    if isinstance(body, dict):
        params.update({str(k): str(v) for k, v in body.items() if v is not None})
    elif ctx.body.strip():
        params.update(parse_qsl(ctx.body.decode("utf-8", "replace")))
    return params


def _oauth_reply(ctx: Ctx, payload: dict[str, Any], status: int = 200) -> Response:
    """JSON with ``Accept: application/json``, else form-encoded, as github.com does."""
    if "application/json" in (ctx.header("accept") or ""):
        return ctx.json(payload, status=status)
    return Response(
        urlencode({k: "" if v is None else v for k, v in payload.items()}).encode(),
        status_code=status,
        media_type="application/x-www-form-urlencoded; charset=utf-8",
    )


def _oauth_error(ctx: Ctx, code: str, **extra: Any) -> Response:
    payload = {
        "error": code,
        "error_description": _DEVICE_DESCRIPTIONS.get(code, code),
        "error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow",
        **extra,
    }
    return _oauth_reply(ctx, payload, status=ctx.config.device_error_status)


async def device_code(ctx: Ctx) -> Response:
    """``POST /login/device/code`` with ``client_id`` and ``scope``."""
    params = _form_or_json(ctx)
    if not params.get("client_id"):
        return _oauth_error(ctx, "incorrect_client_credentials")
    config = ctx.config
    letters = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(4))
    digits = "".join(secrets.choice("0123456789") for _ in range(4))
    grant = DeviceGrant(
        device_code=secrets.token_hex(20),
        user_code=f"{letters}-{digits}",
        client_id=params["client_id"],
        expires_at=time.time() + config.device_expires_in,
        interval=config.device_interval,
    )
    ctx.state.devices[grant.device_code] = grant
    return _oauth_reply(
        ctx,
        {
            "device_code": grant.device_code,
            "user_code": grant.user_code,
            "verification_uri": f"{ctx.state.base_url}/login/device",
            "expires_in": config.device_expires_in,
            "interval": grant.interval,
        },
    )


async def device_token(ctx: Ctx) -> Response:
    """``POST /login/oauth/access_token``: replies follow ``config.device_poll_script``."""
    params = _form_or_json(ctx)
    if params.get("grant_type") != _DEVICE_GRANT:
        return _oauth_error(ctx, "unsupported_grant_type")
    grant = ctx.state.devices.get(params.get("device_code", ""))
    if grant is None or grant.access_token is not None:
        return _oauth_error(ctx, "incorrect_device_code")
    if grant.client_id != params.get("client_id"):
        return _oauth_error(ctx, "incorrect_client_credentials")
    if grant.terminal is not None:
        return _oauth_error(ctx, grant.terminal)
    if time.time() >= grant.expires_at:
        grant.terminal = "expired_token"
        return _oauth_error(ctx, "expired_token")
    script = ctx.config.device_poll_script
    if grant.polls < len(script):
        code = script[grant.polls]
        grant.polls += 1
        if code in _DEVICE_TERMINAL:
            grant.terminal = code
        if code == "slow_down":
            grant.interval += ctx.config.device_slow_down_increment
            return _oauth_error(ctx, code, interval=grant.interval)
        return _oauth_error(ctx, code)
    grant.access_token = ctx.state.issue_user_token()
    ctx.record.account = ctx.state.tokens[grant.access_token].account
    return _oauth_reply(
        ctx, {"access_token": grant.access_token, "token_type": "bearer", "scope": ""}
    )


# ---------------------------------------------------------------------------------------------
# api.github.com: token exchange and user info
# ---------------------------------------------------------------------------------------------
def _github_error(status: int, message: str) -> Response:
    body = dumps({"message": message, "documentation_url": _DOCS, "status": str(status)})
    return Response(body.encode(), status_code=status, media_type="application/json; charset=utf-8")


def _user_token_account(ctx: Ctx) -> str | Response:
    """``Authorization: token|Token|Bearer <user token>`` → login."""
    scheme, _, value = (ctx.header("authorization") or "").partition(" ")
    value = value.strip()
    if scheme.lower() not in ("token", "bearer") or not value:
        return _github_error(401, "Requires authentication")
    if ctx.state.is_pat(value):
        return _github_error(403, "Resource not accessible by personal access token")
    account = ctx.state.account_for_user_token(value)
    if account is None:
        return _github_error(401, "Bad credentials")
    ctx.record.account = account
    return account


async def copilot_token(ctx: Ctx) -> Response:
    """``GET /copilot_internal/v2/token``: the envelope of protocol.md §3.2.2."""
    account = _user_token_account(ctx)
    if isinstance(account, Response):
        return account
    state, config = ctx.state, ctx.config
    api = config.endpoints_api or state.base_url
    now = time.time()
    expires_at = int(now) + config.copilot_token_ttl
    proxy_host = urlsplit(api).netloc or "127.0.0.1"
    value = make_copilot_token(expires_at=expires_at, sku=config.copilot_sku, proxy_host=proxy_host)
    valid_for = config.copilot_token_valid_for
    token = state.issue(
        "copilot",
        value,
        account,
        expires_at - now if valid_for is None else valid_for,
        ctx.header("copilot-integration-id"),
        proxy_host,
    )
    state.stats.copilot_tokens_issued += 1
    reset = int(now) + 30 * 86400
    envelope: dict[str, Any] = {
        "token": token.value,
        "expires_at": expires_at,
        "refresh_in": config.copilot_refresh_in,
        "sku": config.copilot_sku,
        "individual": True,
        "chat_enabled": True,
        "code_quote_enabled": True,
        "copilotignore_enabled": False,
        "public_suggestions": "disabled",
        "telemetry": "disabled",
        "annotations_enabled": True,
        "prompt_8k": True,
        "enterprise_list": None,
        "organization_list": [],
        "can_signup_for_limited": False,
        "endpoints": {
            "api": api,
            "origin-tracker": api,
            "proxy": api,
            "telemetry": api,
        },
        "limited_user_quotas": {
            "chat": config.quotas.get("chat", 50),
            "completions": config.quotas.get("completions", 2000),
        },
        "limited_user_reset_date": reset,
        "tracking_id": secrets.token_hex(16),
    }
    fault = ctx.fault
    if fault is not None and fault.kind == "token_envelope":
        envelope.update(json.loads(fault.payload))
        for name in fault.omit:
            envelope.pop(name, None)
    return ctx.json(envelope)


def reset_date() -> str:
    now = datetime.now(tz=UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{year:04d}-{month:02d}-01"


def snapshot(ctx: Ctx, quota_id: str, account: str) -> dict[str, Any]:
    entitlement = ctx.config.quotas.get(quota_id, -1)
    used = ctx.state.stats.usage[account] if quota_id in ("chat", "premium_interactions") else 0
    unlimited = entitlement < 0
    remaining = 0 if unlimited else entitlement - used
    percent = (
        100.0 if unlimited else round(100.0 * remaining / entitlement, 2) if entitlement else 0.0
    )
    return {
        "entitlement": entitlement,
        "remaining": remaining,
        "quota_remaining": float(remaining),
        "percent_remaining": percent,
        "unlimited": unlimited,
        "overage_count": 0,
        "overage_permitted": False,
        "quota_id": quota_id,
        "timestamp_utc": datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }


async def copilot_user(ctx: Ctx) -> Response:
    """``GET /copilot_internal/user``: plan and quota snapshots (remaining falls with usage);
    the short windows of ``EmulatorConfig.usage_windows`` given as percentages appear as
    ``5Hour-Session-RateLimits`` and ``Weekly-Session-RateLimits`` (protocol.md §10.3)."""
    account = _user_token_account(ctx)
    if isinstance(account, Response):
        return account
    quotas = ctx.config.quotas
    snapshots = {q: snapshot(ctx, q, account) for q in quotas}
    now = time.time()
    for window, key in (
        ("session", "5Hour-Session-RateLimits"),
        ("weekly", "Weekly-Session-RateLimits"),
    ):
        percent = ctx.config.usage_windows.get(window)
        if isinstance(percent, int | float):
            reset = datetime.fromtimestamp(window_reset(window, now), tz=UTC)
            snapshots[key] = {
                "entitlement": 0,
                "remaining": 0,
                "quota_remaining": 0.0,
                "percent_remaining": float(percent),
                "unlimited": False,
                "overage_count": 0,
                "overage_permitted": False,
                "quota_id": key,
                "reset_date": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
    return ctx.json(
        {
            "login": account,
            "access_type_sku": ctx.config.copilot_sku,
            "analytics_tracking_id": hashlib.sha256(account.encode()).hexdigest()[:32],
            "assigned_date": None,
            "can_signup_for_limited": False,
            "chat_enabled": True,
            "copilot_plan": "free" if "free" in ctx.config.copilot_sku else "individual",
            "organization_login_list": [],
            "organization_list": [],
            "quota_reset_date": reset_date(),
            "quota_reset_date_utc": reset_date() + "T00:00:00.000Z",
            "token_based_billing": ctx.config.copilot_usage,
            "quota_snapshots": snapshots,
        }
    )
