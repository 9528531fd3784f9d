"""CAPI basics: bearer-token and IDE-header checks, model routing, ``/models``, ``/models/{id}/policy``,
``/embeddings`` and ``/_ping`` (protocol.md §3.4, §3.6, §3.9, §5.2)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
import time
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from ._faults import SUNSET_BODY, usage_window_header, window_reset
from ._github import reset_date, snapshot
from ._http import Ctx, request_ids, text_error
from ._state import IssuedToken
from ._web import authenticate as web_authenticate

_EDITOR_VERSION = re.compile(r"^[A-Za-z][A-Za-z0-9._-]*/[0-9A-Za-z][0-9A-Za-z.+_-]*$")


def capi_auth(ctx: Ctx) -> IssuedToken | Response:
    """Bearer Copilot token plus the IDE headers (protocol.md §3.4, §5.2)."""
    state, request = ctx.state, ctx.request
    config = state.config
    if (ctx.header("x-github-api-version") or "") in config.sunset_api_versions or any(
        (ctx.header(name) or "") in config.sunset_editor_versions
        for name in ("editor-version", "editor-plugin-version")
    ):
        # The version check comes first: CAPI refused every call of a sunset client.
        return text_error(request, 466, SUNSET_BODY)
    scheme, _, value = (ctx.header("authorization") or "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return text_error(request, 401, "unauthorized: authorization header is missing")
    token = state.lookup(value, "copilot")
    if token is None and state.config.accept_user_token_on_capi:
        account = state.account_for_user_token(value)
        if account is not None:
            token = IssuedToken(value, "user", account, math.inf)
    if token is None:
        return text_error(request, 401, "unauthorized: invalid token")
    if token.expires_at <= time.time():
        return text_error(request, 401, "unauthorized: token expired")
    if (
        config.enforce_api_host
        and token.api_host is not None
        and (ctx.header("host") or "").lower() != token.api_host.lower()
    ):
        return text_error(request, 421, "Misdirected Request")
    integration = ctx.header("copilot-integration-id")
    if not integration:
        return text_error(
            request, 400, "bad request: missing required Copilot-Integration-Id header"
        )
    if integration not in state.config.integration_ids:
        return text_error(request, 400, "bad request: unknown Copilot-Integration-Id")
    editor = ctx.header("editor-version")
    if not editor:
        return text_error(request, 400, "bad request: missing Editor-Version header for IDE auth")
    names = state.config.editor_names
    if not _EDITOR_VERSION.match(editor) or (
        names is not None and editor.split("/")[0] not in names
    ):
        return text_error(request, 400, "bad request: unknown Editor-Version header for IDE auth")
    if (
        state.config.check_integration_id_pairing
        and token.integration_id is not None
        and token.integration_id != integration
    ):
        return text_error(
            request,
            401,
            "unauthorized: unable to validate HMAC for the given Copilot-Integration-ID",
        )
    ctx.record.account = token.account
    return token


def capi_json_request(ctx: Ctx) -> tuple[IssuedToken, dict[str, Any]] | Response:
    """The caller's Copilot token and JSON object body, or the error response CAPI sends."""
    token = capi_auth(ctx)
    if isinstance(token, Response):
        return token
    body = ctx.json_body()
    if not isinstance(body, dict):
        return bad_request(ctx, "request body is not valid JSON")
    return token, body


def bad_request(ctx: Ctx, message: str, code: str = "invalid_request_body") -> Response:
    return text_error(
        ctx.request,
        400,
        {"error": {"message": message, "code": code, "type": "invalid_request_error"}},
    )


def _model_not_supported(ctx: Ctx) -> Response:
    return text_error(
        ctx.request,
        400,
        {
            "error": {
                "message": "The requested model is not supported.",
                "code": "model_not_supported",
                "param": "model",
                "type": "invalid_request_error",
            }
        },
    )


def resolve_model(
    ctx: Ctx, model_id: Any, endpoint: str, account: str
) -> dict[str, Any] | Response:
    """The catalogue entry for ``model_id`` usable on ``endpoint``, or the 400 CAPI sends."""
    entry = ctx.state.model(model_id)
    if entry is None or not isinstance(entry.get("capabilities"), dict):
        return _model_not_supported(ctx)
    policy = entry.get("policy")
    if (
        isinstance(policy, dict)
        and policy.get("state") != "enabled"
        and not ctx.state.policy_enabled(account, model_id)
    ):
        return _model_not_supported(ctx)
    kind = entry["capabilities"].get("type")
    if endpoint == "/embeddings":
        return entry if kind == "embeddings" else _model_not_supported(ctx)
    if kind != "chat":
        return _model_not_supported(ctx)
    supported = entry.get("supported_endpoints")
    if isinstance(supported, list) and endpoint not in supported:
        if endpoint == "/responses":
            message = f"model {model_id} is not supported via Responses API."
        else:
            message = f'model "{model_id}" is not accessible via the {endpoint} endpoint'
        return text_error(
            ctx.request,
            400,
            {"error": {"message": message, "code": "unsupported_api_for_model", "param": "model"}},
        )
    return entry


#: Prices of :func:`copilot_usage`, nano-AIU per ``BATCH`` tokens (protocol.md §10.2's fixture).
BATCH = 1_000_000
INPUT_PRICE = 30_000_000_000
CACHED_PRICE = 3_000_000_000
OUTPUT_PRICE = 120_000_000_000


def copilot_usage(input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> dict[str, Any]:
    """The ``copilot_usage`` bill of a reply (protocol.md §10.2), at fixed emulator prices."""
    lines = [
        ("input", max(0, input_tokens - cached_tokens), INPUT_PRICE),
        ("cache_read", cached_tokens, CACHED_PRICE),
        ("output", output_tokens, OUTPUT_PRICE),
    ]
    details = [
        {"token_type": kind, "token_count": count, "batch_size": BATCH, "cost_per_batch": price}
        for kind, count, price in lines
        if count
    ]
    total = sum(count * price // BATCH for _, count, price in lines)
    return {"total_nano_aiu": total, "token_details": details}


def capi_headers(ctx: Ctx, account: str) -> dict[str, str]:
    headers = request_ids(ctx.request)
    if ctx.config.quota_headers:
        for quota_id in ("chat", "premium_interactions"):
            snap = snapshot(ctx, quota_id, account)
            headers[f"x-quota-snapshot-{quota_id}"] = urlencode(
                {
                    "ent": snap["entitlement"],
                    "ov": "0.0",
                    "ovPerm": "false",
                    "rem": snap["percent_remaining"],
                    "rst": reset_date() + "T00:00:00Z",
                }
            )
    now = time.time()
    for window, value in ctx.config.usage_windows.items():
        headers[f"x-usage-ratelimit-{window}"] = (
            value
            if isinstance(value, str)
            else usage_window_header(value, window_reset(window, now))
        )
    return headers


async def ping(ctx: Ctx) -> Response:
    """``GET /_ping``: health check, no authentication."""
    return ctx.json({"now": int(time.time()), "status": "ok", "ns1": "200 OK"})


async def models(ctx: Ctx) -> Response:
    """``GET /models``: the configured catalogue, with this account's policy choices applied.

    Also answers the web flavour (``Authorization: GitHub-Bearer <web token>``, no IDE headers).
    """
    scheme = (ctx.header("authorization") or "").partition(" ")[0].lower()
    token = web_authenticate(ctx) if scheme == "github-bearer" else capi_auth(ctx)
    if isinstance(token, Response):
        return token
    data: list[Any] = []
    for entry in ctx.config.models:
        if isinstance(entry.get("policy"), dict) and ctx.state.policy_enabled(
            token.account, entry.get("id")
        ):
            entry = {**entry, "policy": {**entry["policy"], "state": "enabled"}}
        data.append(entry)
    if ctx.fault is not None and ctx.fault.kind == "extra_model":
        data.append(json.loads(ctx.fault.payload))
    return ctx.json({"data": data, "object": "list"}, headers=request_ids(ctx.request))


async def models_policy(ctx: Ctx) -> Response:
    """``POST /models/{id}/policy`` with ``{"state": "enabled"}``: accept a gated model's terms.

    Unknown model → 404; a model without ``policy`` → 400 ``policy_not_supported``.
    """
    token = capi_auth(ctx)
    if isinstance(token, Response):
        return token
    model_id = ctx.request.path_params["model_id"]
    entry = ctx.state.model(model_id)
    if entry is None:
        return text_error(
            ctx.request, 404, {"error": {"message": "model not found", "code": "model_not_found"}}
        )
    if not isinstance(entry.get("policy"), dict):
        return bad_request(ctx, f"model {model_id} has no policy to set", "policy_not_supported")
    body = ctx.json_body()
    state = body.get("state") if isinstance(body, dict) else None
    if state not in ("enabled", "disabled"):
        return bad_request(ctx, "state must be 'enabled' or 'disabled'")
    ctx.state.set_policy(token.account, model_id, enabled=state == "enabled")
    return ctx.json({"state": state}, headers=request_ids(ctx.request))


def _embedding(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        block = hashlib.sha256(f"{counter}\x00{text}".encode()).digest()
        values += [(v / 2**31) - 1.0 for v in struct.unpack(">8I", block)]
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [round(v / norm, 8) for v in values]


async def embeddings(ctx: Ctx) -> Response:
    """``POST /embeddings``: deterministic unit vectors (``dimensions`` or the configured size)."""
    authed = capi_json_request(ctx)
    if isinstance(authed, Response):
        return authed
    token, body = authed
    entry = resolve_model(ctx, body.get("model"), "/embeddings", token.account)
    if isinstance(entry, Response):
        return entry
    raw = body.get("input")
    inputs = [raw] if isinstance(raw, str) else raw
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
        return bad_request(ctx, "input must be a string or a non-empty array of strings")
    dims = body.get("dimensions")
    dimensions = dims if isinstance(dims, int) and dims > 0 else ctx.config.embedding_dimensions
    tokens = sum(max(1, len(t) // 4) for t in inputs)
    return ctx.json(
        {
            "object": "list",
            "model": entry["id"],
            "data": [
                {"object": "embedding", "index": i, "embedding": _embedding(t, dimensions)}
                for i, t in enumerate(inputs)
            ],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        },
        headers=request_ids(ctx.request),
    )
