"""The github.com web "threads" flavour (protocol.md §2)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from starlette.responses import HTMLResponse, Response

from ._framing import Event, StreamSpec
from ._http import Ctx, dumps, text_error
from ._replies import reply_deltas, reply_for
from ._state import IssuedToken, StoredMessage, StoredThread, make_web_token, new_id, utc_iso

#: Request content types the thread API accepts (the browser uses the last two to avoid CORS
#: pre-flights, protocol.md §2.3).
_ACCEPTED_TYPES = ("application/json", "text/plain", "text/event-stream")
#: Model reported for ``model: "auto"``.
_AUTO_MODEL = "gpt-4.1"
_CORS = {
    "access-control-allow-origin": "https://github.com",
    "access-control-allow-credentials": "true",
}
_STRICT_HEADERS = {
    "github-verified-fetch": "true",
    "x-requested-with": "XMLHttpRequest",
    "origin": "https://github.com",
}


async def chat_token(ctx: Ctx) -> Response:
    """``POST /github-copilot/chat/token``: cookies in, ``{"token"}`` out."""
    state, config, request = ctx.state, ctx.config, ctx.request
    if config.strict_web_headers:
        missing = [
            name
            for name, value in _STRICT_HEADERS.items()
            if (request.headers.get(name) or "").lower() != value.lower()
        ]
        if missing or "cookie" not in request.headers:
            return Response(
                dumps({"error": "forbidden", "missing": missing or ["cookie"]}).encode(),
                status_code=403,
                media_type="application/json",
            )
    account = state.account_for_cookie(request.cookies.get("user_session", ""))
    if account is None:
        status = config.web_session_failure_status
        if status in (301, 302, 303, 307):
            return HTMLResponse(
                '<html><body>You are being <a href="/login">redirected</a>.</body></html>',
                status_code=status,
                headers={"location": "/login?return_to=%2Fcopilot"},
            )
        return Response(
            dumps({"error": "Not authenticated"}).encode(),
            status_code=status,
            media_type="application/json",
        )
    token = state.issue("web", make_web_token(), account, config.web_token_ttl, None)
    state.stats.web_tokens_issued += 1
    ctx.record.account = account
    payload: dict[str, Any] = {"token": token.value}
    if config.web_token_expiry_field:
        payload[config.web_token_expiry_field] = datetime.fromtimestamp(
            token.expires_at, tz=UTC
        ).isoformat()
    return ctx.json(payload)


def authenticate(ctx: Ctx) -> IssuedToken | Response:
    """``Authorization: GitHub-Bearer <web token>`` (or ``Bearer <Copilot token>``)."""
    state = ctx.state
    auth = ctx.header("authorization") or ""
    scheme, _, value = auth.partition(" ")
    value = value.strip()
    token: IssuedToken | None = None
    if scheme.lower() == "github-bearer":
        token = state.lookup(value, "web")
    elif scheme.lower() == "bearer" and state.config.threads_accept_copilot_token:
        token = state.lookup(value, "copilot")
    if token is None:
        return text_error(ctx.request, 401, "unauthorized: invalid or missing token")
    if token.expires_at <= time.time():
        return text_error(ctx.request, 401, "unauthorized: token expired")
    ctx.record.account = token.account
    return token


def _check_content_type(ctx: Ctx) -> Response | None:
    content_type = (ctx.header("content-type") or "").split(";")[0].strip().lower()
    if ctx.body.strip() and content_type and content_type not in _ACCEPTED_TYPES:
        return text_error(ctx.request, 415, {"message": f"unsupported content type {content_type}"})
    return None


def _thread(ctx: Ctx, account: str) -> StoredThread | Response:
    thread = ctx.state.threads.get(ctx.request.path_params["thread_id"])
    if thread is None or thread.account != account:
        return text_error(ctx.request, 404, {"message": "Not Found"})
    return thread


async def threads_create(ctx: Ctx) -> Response:
    """``POST /github/chat/threads``; body none, ``{}`` or ``{"custom_copilot_id": null}``."""
    token = authenticate(ctx)
    if isinstance(token, Response):
        return token
    bad_type = _check_content_type(ctx)
    if bad_type is not None:
        return bad_type
    if ctx.body.strip() and ctx.json_body() is None and ctx.body.strip() != b"null":
        return text_error(ctx.request, 400, {"message": "Problems parsing JSON"})
    now = utc_iso(time.time())
    thread = StoredThread(id=new_id(), account=token.account, created_at=now, updated_at=now)
    ctx.state.threads[thread.id] = thread
    return ctx.json(
        {"thread_id": thread.id, "thread": thread.to_json()},
        status=ctx.config.thread_create_status,
    )


async def threads_list(ctx: Ctx) -> Response:
    """``GET /github/chat/threads`` → ``{"threads": [...]}``, newest first."""
    token = authenticate(ctx)
    if isinstance(token, Response):
        return token
    owned = [t for t in ctx.state.threads.values() if t.account == token.account]
    threads = [t.to_json() for t in reversed(owned)]
    return ctx.json({"threads": threads})


async def threads_delete(ctx: Ctx) -> Response:
    """``DELETE /github/chat/threads/{id}`` → 204."""
    token = authenticate(ctx)
    if isinstance(token, Response):
        return token
    thread = _thread(ctx, token.account)
    if isinstance(thread, Response):
        return thread
    del ctx.state.threads[thread.id]
    return Response(status_code=204)


async def messages_list(ctx: Ctx) -> Response:
    """``GET /github/chat/threads/{id}/messages`` → ``{"thread", "messages"}``."""
    token = authenticate(ctx)
    if isinstance(token, Response):
        return token
    thread = _thread(ctx, token.account)
    if isinstance(thread, Response):
        return thread
    return ctx.json(
        {"thread": thread.to_json(), "messages": [m.to_json() for m in thread.messages]}
    )


def _complete_event(ctx: Ctx, reply: StoredMessage) -> dict[str, Any]:
    empty = ctx.config.web_empty_complete_model
    return {
        "type": "complete",
        "id": reply.id,
        "parentMessageID": reply.parent_id,
        "model": "" if empty else reply.model,
        "turnId": "" if empty else new_id(),
        "createdAt": reply.created_at,
        "references": [],
        "role": "assistant",
        "intent": reply.intent,
        "copilotAnnotations": {"CodeVulnerability": [], "PublicCodeReference": []},
    }


async def messages_create(ctx: Ctx) -> Response:
    """``POST /github/chat/threads/{id}/messages``: stream or JSON, threaded by
    ``parentMessageID``.

    ``parentMessageID`` ``"root"``, ``""``, ``null`` or absent starts a chain (turn 1); otherwise it
    must name an assistant message of this thread, else **400** ``{"message": "parent message not
    found"}``. The reply's turn is the parent's turn + 1.
    """
    token = authenticate(ctx)
    if isinstance(token, Response):
        return token
    bad_type = _check_content_type(ctx)
    if bad_type is not None:
        return bad_type
    thread = _thread(ctx, token.account)
    if isinstance(thread, Response):
        return thread
    body = ctx.json_body()
    if isinstance(body, dict):
        parent = body.get("parentMessageID")
        ctx.state.stats.parent_message_ids.append(None if parent is None else str(parent))
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        return text_error(ctx.request, 400, {"message": "content is required"})
    content: str = body["content"]
    parent_ref = body.get("parentMessageID")
    turn = 1
    parent_id = "root"
    if parent_ref not in (None, "", "root"):
        parent = thread.message(str(parent_ref))
        if parent is None or parent.role != "assistant":
            return text_error(ctx.request, 400, {"message": "parent message not found"})
        turn = parent.turn + 1
        parent_id = parent.id
    requested = body.get("model")
    model = _AUTO_MODEL if requested in (None, "", "auto") else str(requested)
    intent = str(body.get("intent") or "conversation")
    now = time.time()
    user_message = StoredMessage(
        id=new_id(),
        thread_id=thread.id,
        role="user",
        content=content,
        parent_id=parent_id,
        created_at=utc_iso(now),
        intent=intent,
        model=model,
        turn=turn,
    )
    reply = StoredMessage(
        id=new_id(),
        thread_id=thread.id,
        role="assistant",
        content=reply_for(content, turn=turn),
        parent_id=user_message.id,
        created_at=utc_iso(now, nanos=True),
        intent=intent,
        model=model,
        turn=turn,
    )
    thread.messages += [user_message, reply]
    if not thread.name:
        thread.name = content[:40]
    thread.updated_at = utc_iso(now)
    ctx.state.stats.usage[token.account] += 1

    if body.get("streaming") is True or ctx.config.web_sse_when_not_streaming:
        events: list[Event] = []
        if requested == "auto":
            events.append(Event(dumps({"type": "threadAutoPickedModel", "model": model})))
            events.append(Event(dumps({"type": "routedModel", "model": model})))
        events += [Event(dumps(extra)) for extra in ctx.config.web_extra_events]
        events += [
            Event(dumps({"type": "content", "body": piece}), kind="content")
            for piece in reply_deltas(content, turn=turn)
        ]
        events.append(Event(dumps(_complete_event(ctx, reply)), kind="done"))

        def error_event(message: str) -> Event:
            return Event(dumps({"type": "error", "error": {"code": 500, "message": message}}))

        spec = StreamSpec(
            events=events,
            error_event=error_event,
            finish_error=lambda: [error_event("generation failed")],
            oversized_event=lambda size: Event(
                dumps({"type": "annotations", "padding": "x" * size}), kind="preamble"
            ),
        )
        return ctx.stream(spec, headers=_CORS)
    return ctx.json({"message": reply.to_json()}, headers=_CORS)


WEB_HANDLERS = {
    "web.token": chat_token,
    "web.threads.create": threads_create,
    "web.threads.list": threads_list,
    "web.threads.delete": threads_delete,
    "web.messages.create": messages_create,
    "web.messages.list": messages_list,
}
