"""``/v1/messages``: Claude's Messages API as Copilot serves it (protocol.md §3.8, §4.5, §10.6).

Replies are deterministic like the other routes: :func:`reply_for` of the last user text, its
turn the number of user messages that carry text; ``"tool result: <content>"`` after a turn of
``tool_result`` blocks. A tool whose name appears in the prompt is called instead (``tool_use``
blocks, input filled from ``input_schema``). With ``thinking`` enabled a ``thinking`` block with
a signature comes first. Refusals are Anthropic-shaped error bodies with the texts of §10.6.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from starlette.responses import Response

from ._capi import capi_headers, capi_json_request, copilot_usage, resolve_model
from ._chat import text_of, tool_calls_for
from ._framing import Event, EventKind, StreamSpec
from ._http import Ctx, dumps, text_error
from ._replies import reply_for, split_text

#: Copilot's hard cap on ``max_tokens`` here (protocol.md §10.6).
MAX_OUTPUT_TOKENS = 128_000


def _error(
    ctx: Ctx, message: str, status: int = 400, kind: str = "invalid_request_error"
) -> Response:
    return text_error(
        ctx.request, status, {"type": "error", "error": {"type": kind, "message": message}}
    )


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _check(body: dict[str, Any]) -> str | None:
    """The refusal text for a body Copilot's ``/v1/messages`` would refuse, else None."""
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    if max_tokens > MAX_OUTPUT_TOKENS:
        return (
            f"max_tokens: {max_tokens} > {MAX_OUTPUT_TOKENS}, which is the maximum allowed "
            "number of output tokens"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for tool in body.get("tools") or []:
        kind = tool.get("type") if isinstance(tool, dict) else None
        if isinstance(kind, str) and kind.startswith(("web_search", "web_fetch")):
            return "use of the web search tool is not supported"
    pending: list[str] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if i == 0 and message["role"] != "user":
            return "messages: the first message must use the user role"
        blocks = _blocks(message.get("content"))
        for block in blocks:
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "url":
                return "external image URLs are not supported"
        if message["role"] == "user":
            results = [str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"]
            missing = [cid for cid in pending if cid not in results]
            if missing:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                    "corresponding `tool_result` block in the next message."
                )
            orphans = [cid for cid in results if cid not in pending]
            if orphans:
                return (
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {', '.join(orphans)}. Each `tool_result` block must have a "
                    "corresponding `tool_use` block in the previous message."
                )
            pending = []
        else:
            if pending:
                return (
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                    f"immediately after: {', '.join(pending)}"
                )
            pending = [str(b.get("id")) for b in blocks if b.get("type") == "tool_use"]
    if pending:
        return "the last message is the assistant's tool use: send its tool results first"
    return None


def _prompt(messages: list[dict[str, Any]]) -> tuple[str, int, bool]:
    """(prompt, turn, answering tool results?) of a valid message list."""
    turn = 0
    prompt = ""
    for message in messages:
        if message["role"] != "user":
            continue
        text = text_of(message.get("content"))
        if text:
            turn += 1
            prompt = text
    last = messages[-1]
    results = [b for b in _blocks(last.get("content")) if b.get("type") == "tool_result"]
    if last["role"] == "user" and results:
        content = results[0].get("content")
        shown = content if isinstance(content, str) else text_of(content)
        return f"tool result: {shown}", max(turn, 1), True
    return prompt, max(turn, 1), False


async def messages(ctx: Ctx) -> Response:
    """``POST /v1/messages`` (protocol.md §3.8, §4.5, §10.6), streamed with ``event:`` lines."""
    authed = capi_json_request(ctx)
    if isinstance(authed, Response):
        return authed
    token, body = authed
    entry = resolve_model(ctx, body.get("model"), "/v1/messages", token.account)
    if isinstance(entry, Response):
        return entry
    refusal = _check(body)
    if refusal is not None:
        return _error(ctx, refusal)
    prompt, turn, answering = _prompt(body["messages"])
    tools = [
        {"type": "function", "name": t.get("name"), "parameters": t.get("input_schema")}
        for t in body.get("tools") or []
        if isinstance(t, dict)
    ]
    calls = [] if answering else tool_calls_for(prompt, tools)
    text = reply_for(prompt, turn=turn)
    thinking = body.get("thinking")
    think = isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    blocks: list[dict[str, Any]] = []
    if think:
        blocks.append(
            {
                "type": "thinking",
                "thinking": f"Considering “{prompt[:40]}” step by step.",
                "signature": "sig_" + digest[:32],
            }
        )
    if calls:
        blocks += [
            {
                "type": "tool_use",
                "id": "toolu_" + c["id"][5:],
                "name": c["name"],
                "input": json.loads(c["arguments"]),
            }
            for c in calls
        ]
    else:
        blocks.append({"type": "text", "text": text})
    pieces = split_text(text) if not calls else []
    input_tokens = max(1, len(json.dumps(body["messages"])) // 4)
    output_tokens = len(pieces) + sum(
        len(split_text(json.dumps(b.get("input")), (8,))) for b in blocks
    )
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    bill = copilot_usage(input_tokens, output_tokens) if ctx.config.copilot_usage else None
    stop_reason = "tool_use" if calls else "end_turn"
    message_id = "msg_emu_" + secrets.token_hex(10)
    ctx.state.stats.usage[token.account] += 1
    headers = capi_headers(ctx, token.account)
    shell = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": entry["id"],
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    if body.get("stream") is not True:
        whole: dict[str, Any] = {
            **shell,
            "content": blocks,
            "stop_reason": stop_reason,
            "usage": usage,
        }
        if bill is not None:
            whole["copilot_usage"] = bill
        return ctx.json(whole, headers=headers)

    def ev(kind: str, payload: dict[str, Any], role: EventKind = "preamble") -> Event:
        return Event(dumps({"type": kind, **payload}), kind=role, event=kind)

    events = [ev("message_start", {"message": shell}), ev("ping", {})]
    for index, block in enumerate(blocks):
        kind = block["type"]
        start: dict[str, Any]
        if kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": piece}
                for piece in split_text(block["thinking"])
            ] + [{"type": "signature_delta", "signature": block["signature"]}]
        elif kind == "tool_use":
            start = {**block, "input": {}}
            deltas = [
                {"type": "input_json_delta", "partial_json": piece}
                for piece in split_text(json.dumps(block["input"]), (8,))
            ]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
        events.append(ev("content_block_start", {"index": index, "content_block": start}))
        events += [
            ev("content_block_delta", {"index": index, "delta": d}, "content") for d in deltas
        ]
        events.append(ev("content_block_stop", {"index": index}))
    delta: dict[str, Any] = {
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }
    if bill is not None:
        delta["copilot_usage"] = bill
    events.append(ev("message_delta", delta, "finish"))
    events.append(ev("message_stop", {}, "done"))

    def error_event(message: str) -> Event:
        return ev("error", {"error": {"type": "api_error", "message": message}})

    spec = StreamSpec(
        events=events,
        error_event=error_event,
        finish_error=lambda: [
            ev("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}, "done")
        ],
        oversized_event=lambda size: ev("padding", {"padding": "x" * size}),
        announced=2,
    )
    return ctx.stream(spec, headers=headers)
