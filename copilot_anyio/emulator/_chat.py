"""``/chat/completions`` and ``/responses``: replies, tool calls and the stream quirks of
protocol.md §4.3 and §4.4."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

from starlette.responses import Response

from ._capi import bad_request, capi_headers, capi_json_request, copilot_usage, resolve_model
from ._framing import Event, EventKind, StreamSpec
from ._http import Ctx, dumps, text_error
from ._replies import reply_for, split_text
from ._state import StoredResponse


def text_of(content: Any) -> str:
    """Text of a message ``content``: a string, or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text")
        )
    return ""


def _has_image(messages: list[Any]) -> bool:
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(p, dict) and p.get("type") in ("image_url", "input_image") for p in content
        ):
            return True
    return False


def _tool_arguments(parameters: Any) -> dict[str, Any]:
    """Deterministic arguments that fit a JSON schema's top-level properties."""
    args: dict[str, Any] = {}
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return args
    for name, schema in properties.items():
        kind = schema.get("type") if isinstance(schema, dict) else None
        if kind == "integer":
            args[name] = 1
        elif kind == "number":
            args[name] = 1.5
        elif kind == "boolean":
            args[name] = True
        elif kind == "array":
            args[name] = []
        elif kind == "object":
            args[name] = {}
        elif isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
            args[name] = schema["enum"][0]
        else:
            args[name] = f"{name}-value"
    return args


def tool_calls_for(prompt: str, tools: Any) -> list[dict[str, Any]]:
    """Tools whose function name appears in the prompt are called, in the order listed."""
    calls: list[dict[str, Any]] = []
    if not isinstance(tools, list):
        return calls
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function") if tool.get("type") == "function" else None
        if not isinstance(function, dict):
            # The flat Responses-API shape: {"type": "function", "name": …, "parameters": …}.
            function = tool if tool.get("type") == "function" and "name" in tool else None
        if function is None or not isinstance(function.get("name"), str):
            continue
        name = function["name"]
        if name and name in prompt:
            digest = hashlib.sha256(f"{prompt}\x00{name}".encode()).hexdigest()
            calls.append(
                {
                    "id": f"call_{digest[:24]}",
                    "name": name,
                    "arguments": dumps(_tool_arguments(function.get("parameters"))),
                }
            )
    return calls


def _usage(prompt_chars: int, completion_pieces: int) -> dict[str, Any]:
    prompt_tokens = max(1, prompt_chars // 4)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_pieces,
        "total_tokens": prompt_tokens + completion_pieces,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


_FILTER_RESULTS = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}


async def chat_completions(ctx: Ctx) -> Response:
    """``POST /chat/completions`` (protocol.md §3.5, §4.3).

    The reply to the last user message is :func:`reply_for` with ``turn`` = the number of user
    messages; after a ``tool`` message it answers ``"tool result: <content>"``. When ``tools`` are
    given and the last user message names one or more of them, the reply calls those tools
    instead (arguments filled from each schema). ``n`` choices: choice ``i > 0`` answers
    ``"<prompt> (choice i)"``.
    """
    authed = capi_json_request(ctx)
    if isinstance(authed, Response):
        return authed
    token, body = authed
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        return bad_request(ctx, "messages must be a non-empty array of objects")
    if "max_completion_tokens" in body:
        return bad_request(ctx, "Unrecognized request argument supplied: max_completion_tokens")
    if _has_image(messages) and (ctx.header("copilot-vision-request") or "").lower() != "true":
        return bad_request(
            ctx, "missing required Copilot-Vision-Request header for vision requests"
        )
    entry = resolve_model(ctx, body.get("model"), "/chat/completions", token.account)
    if isinstance(entry, Response):
        return entry
    model_name = str(entry.get("version") or entry["id"])
    requested_n = body.get("n")
    n = max(1, min(requested_n, 8)) if isinstance(requested_n, int) else 1
    turn = sum(1 for m in messages if m.get("role") == "user") or 1
    last = messages[-1]
    user_texts = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    prompt = user_texts[-1] if user_texts else ""
    tool_calls: list[dict[str, Any]] = []
    if last.get("role") == "tool":
        prompt = f"tool result: {text_of(last.get('content'))}"
    elif body.get("tools"):
        tool_calls = tool_calls_for(prompt, body.get("tools"))
    texts = [reply_for(prompt if i == 0 else f"{prompt} (choice {i})", turn=turn) for i in range(n)]
    prompt_chars = sum(len(text_of(m.get("content"))) for m in messages)
    ctx.state.stats.usage[token.account] += 1
    headers = capi_headers(ctx, token.account)
    completion_id = "chatcmpl-" + secrets.token_hex(12)
    created = int(time.time())
    finish = "tool_calls" if tool_calls else ctx.config.chat_finish_reason

    if body.get("stream") is not True:
        choices: list[dict[str, Any]] = []
        pieces = 0
        for i, text in enumerate(texts):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if tool_calls and i == 0:
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": c["id"],
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for c in tool_calls
                    ],
                }
            pieces += len(split_text(text))
            choices.append(
                {
                    "index": i,
                    "message": message,
                    "finish_reason": finish if i == 0 else "stop",
                    "content_filter_results": _FILTER_RESULTS,
                }
            )
        reply: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model_name,
            "choices": choices,
            "usage": _usage(prompt_chars, pieces),
            "prompt_filter_results": [
                {"prompt_index": 0, "content_filter_results": _FILTER_RESULTS}
            ],
        }
        if ctx.config.copilot_usage:
            used = reply["usage"]
            reply["copilot_usage"] = copilot_usage(used["prompt_tokens"], used["completion_tokens"])
        return ctx.json(reply, headers=headers)

    config = ctx.config
    events: list[Event] = []

    def chunk(choices: list[dict[str, Any]], *, with_model: bool = True, **extra: Any) -> str:
        payload: dict[str, Any] = {"choices": choices, "created": created, "id": completion_id}
        if with_model:
            payload["model"] = model_name
        payload.update(extra)
        return dumps(payload)

    if config.leading_empty_chunk:
        events.append(
            Event(
                dumps(
                    {
                        "choices": [],
                        "created": 0,
                        "id": "",
                        "prompt_filter_results": [
                            {"prompt_index": 0, "content_filter_results": _FILTER_RESULTS}
                        ],
                    }
                )
            )
        )
    # Deltas per choice, interleaved round-robin by index.
    per_choice: list[list[dict[str, Any]]] = []
    for i, text in enumerate(texts):
        deltas: list[dict[str, Any]] = []
        if tool_calls and i == 0:
            for k, call in enumerate(tool_calls):
                first: dict[str, Any] = {
                    "tool_calls": [
                        {
                            "index": k,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
                if k == 0:
                    first = {"role": "assistant", "content": None, **first}
                deltas.append(first)
                deltas += [
                    {"tool_calls": [{"index": k, "function": {"arguments": piece}}]}
                    for piece in split_text(call["arguments"], (8,))
                ]
        else:
            pieces_i = split_text(text)
            deltas.append({"role": "assistant", "content": pieces_i[0]})
            deltas += [{"content": piece} for piece in pieces_i[1:]]
        per_choice.append(deltas)
    total_pieces = sum(len(d) for d in per_choice)
    longest = max(len(d) for d in per_choice)
    for step in range(longest):
        for i, deltas in enumerate(per_choice):
            if step < len(deltas):
                choice = {
                    "index": i,
                    "delta": deltas[step],
                    "content_filter_offsets": {
                        "check_offset": 0,
                        "start_offset": 0,
                        "end_offset": 0,
                    },
                    "content_filter_results": _FILTER_RESULTS,
                }
                # The very first content chunk omits ``model``, as captures do.
                events.append(
                    Event(chunk([choice], with_model=bool(events) and step > 0), kind="content")
                )
    usage = _usage(prompt_chars, total_pieces)
    bill: dict[str, Any] = (
        {"copilot_usage": copilot_usage(usage["prompt_tokens"], usage["completion_tokens"])}
        if config.copilot_usage
        else {}
    )

    def finish_events(reason: str | None = None) -> list[Event]:
        out: list[Event] = []
        for i in range(n):
            last_choice = i == n - 1
            extra: dict[str, Any] = {}
            if last_choice and config.usage_placement == "finish":
                extra["usage"] = usage
            if last_choice and config.usage_placement != "trailing":
                extra.update(bill)
            choice = {
                "index": i,
                "delta": {"content": None},
                "finish_reason": reason or (finish if i == 0 else "stop"),
            }
            out.append(Event(chunk([choice], **extra), kind="finish"))
        if config.usage_placement == "trailing":
            out.append(Event(chunk([], usage=usage, **bill), kind="finish"))
        if config.send_done:
            out.append(Event("[DONE]", kind="done"))
        return out

    events += finish_events()
    spec = StreamSpec(
        events=events,
        error_event=lambda message: Event(dumps({"error": {"code": 500, "message": message}})),
        finish_error=lambda: finish_events("error"),
        oversized_event=lambda size: Event(
            dumps({"choices": [], "created": created, "id": completion_id, "padding": "x" * size})
        ),
    )
    return ctx.stream(spec, headers=headers)


def _response_input(body: dict[str, Any]) -> tuple[str, int]:
    """(prompt, number of user messages) of a Responses ``input``."""
    items = body.get("input")
    if isinstance(items, str):
        return items, 1
    prompt, users = "", 0
    if isinstance(items, list):
        for item in items:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "function_call_output":
                prompt = f"tool result: {item.get('output', '')}"
            elif item.get("role") == "user" and item.get("type", "message") == "message":
                users += 1
                prompt = text_of(item.get("content"))
    return prompt, users


async def responses(ctx: Ctx) -> Response:
    """``POST /responses`` (protocol.md §3.7, §4.4), streamed with ``event:`` lines by default.

    ``previous_response_id`` must name an earlier response of this account (else 400
    ``previous_response_not_found``); the turn continues from it. With ``reasoning.summary``
    set, a ``reasoning`` item with a summary (streamed as ``response.reasoning_summary_text``
    deltas, counted as reasoning tokens) comes first.
    """
    authed = capi_json_request(ctx)
    if isinstance(authed, Response):
        return authed
    token, body = authed
    entry = resolve_model(ctx, body.get("model"), "/responses", token.account)
    if isinstance(entry, Response):
        return entry
    prompt, users = _response_input(body)
    turn = max(users, 1)
    previous = body.get("previous_response_id")
    if previous is not None:
        stored = ctx.state.responses.get(str(previous))
        if stored is None or stored.account != token.account:
            return text_error(
                ctx.request,
                400,
                {
                    "error": {
                        "message": f"Previous response with id '{previous}' not found.",
                        "code": "previous_response_not_found",
                        "param": "previous_response_id",
                        "type": "invalid_request_error",
                    }
                },
            )
        turn = stored.turn + max(users, 1)
    model_name = str(entry.get("version") or entry["id"])
    response_id = "resp_" + secrets.token_hex(12)
    item_id = "msg_" + secrets.token_hex(8)
    ctx.state.responses[response_id] = StoredResponse(response_id, token.account, turn)
    ctx.state.stats.usage[token.account] += 1
    calls = tool_calls_for(prompt, body.get("tools"))
    text = reply_for(prompt, turn=turn)
    pieces = split_text(text)
    usage: dict[str, Any] = {
        "input_tokens": max(1, len(prompt) // 4),
        "output_tokens": len(pieces),
        "total_tokens": max(1, len(prompt) // 4) + len(pieces),
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    message_item = {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    call_items = [
        {
            "id": "fc_" + c["id"][5:],
            "type": "function_call",
            "status": "completed",
            "call_id": c["id"],
            "name": c["name"],
            "arguments": c["arguments"],
        }
        for c in calls
    ]
    reasoning_item = _reasoning_item(body, prompt)
    summary_pieces = split_text(reasoning_item["summary"][0]["text"]) if reasoning_item else []
    if summary_pieces:
        usage["output_tokens"] += len(summary_pieces)
        usage["total_tokens"] += len(summary_pieces)
        usage["output_tokens_details"] = {"reasoning_tokens": len(summary_pieces)}
    output = ([reasoning_item] if reasoning_item else []) + (
        call_items if calls else [message_item]
    )
    first = 1 if reasoning_item else 0  # the output index of the first call or message
    bill = (
        copilot_usage(usage["input_tokens"], usage["output_tokens"])
        if ctx.config.copilot_usage
        else None
    )

    def response_obj(status: str, out: list[Any], **extra: Any) -> dict[str, Any]:
        return {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "status": status,
            "model": model_name,
            "output": out,
            "usage": usage if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "previous_response_id": previous,
            **extra,
        }

    headers = capi_headers(ctx, token.account)
    if body.get("stream") is not True:
        whole = response_obj("completed", output)
        if bill is not None:
            whole["copilot_usage"] = bill
        return ctx.json(whole, headers=headers)

    config = ctx.config
    seq = 0

    def ev(kind: str, payload: dict[str, Any], role: EventKind = "preamble") -> Event:
        nonlocal seq
        data = dumps({"type": kind, "sequence_number": seq, **payload})
        seq += 1
        name = kind if config.responses_event_lines else None
        return Event(data, kind=role, event=name)

    events = [
        ev("response.created", {"response": response_obj("in_progress", [])}),
        ev("response.in_progress", {"response": response_obj("in_progress", [])}),
    ]
    if reasoning_item:
        reasoning_id = reasoning_item["id"]
        summary = reasoning_item["summary"][0]["text"]
        at = {"item_id": reasoning_id, "output_index": 0, "summary_index": 0}
        events.append(
            ev(
                "response.output_item.added",
                {"output_index": 0, "item": {**reasoning_item, "summary": []}},
            )
        )
        events.append(
            ev("response.reasoning_summary_part.added", {**at, "part": _summary_part("")})
        )
        events += [
            ev("response.reasoning_summary_text.delta", {**at, "delta": piece}, "content")
            for piece in summary_pieces
        ]
        events.append(ev("response.reasoning_summary_text.done", {**at, "text": summary}))
        events.append(
            ev("response.reasoning_summary_part.done", {**at, "part": _summary_part(summary)})
        )
        events.append(ev("response.output_item.done", {"output_index": 0, "item": reasoning_item}))
    if calls:
        for index, item in enumerate(call_items, start=first):
            events.append(
                ev(
                    "response.output_item.added",
                    {
                        "output_index": index,
                        "item": {**item, "arguments": "", "status": "in_progress"},
                    },
                )
            )
            events += [
                ev(
                    "response.function_call_arguments.delta",
                    {"item_id": item["id"], "output_index": index, "delta": piece},
                    "content",
                )
                for piece in split_text(str(item["arguments"]), (8,))
            ]
            events.append(
                ev(
                    "response.function_call_arguments.done",
                    {"item_id": item["id"], "output_index": index, "arguments": item["arguments"]},
                    "finish",
                )
            )
            events.append(
                ev("response.output_item.done", {"output_index": index, "item": item}, "finish")
            )
    else:
        events.append(
            ev(
                "response.output_item.added",
                {
                    "output_index": first,
                    "item": {**message_item, "status": "in_progress", "content": []},
                },
            )
        )
        events.append(
            ev(
                "response.content_part.added",
                {
                    "item_id": item_id,
                    "output_index": first,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "", "annotations": []},
                },
            )
        )
        events += [
            ev(
                "response.output_text.delta",
                {"item_id": item_id, "output_index": first, "content_index": 0, "delta": piece},
                "content",
            )
            for piece in pieces
        ]
        events.append(
            ev(
                "response.output_text.done",
                {"item_id": item_id, "output_index": first, "content_index": 0, "text": text},
                "finish",
            )
        )
        events.append(
            ev("response.output_item.done", {"output_index": first, "item": message_item}, "finish")
        )
    completed: dict[str, Any] = {"response": response_obj("completed", output)}
    if bill is not None:
        completed["copilot_usage"] = bill
    done = [ev("response.completed", completed, "done")]
    if config.responses_done:
        done.append(Event("[DONE]", kind="done"))
    events += done

    def failed() -> list[Event]:
        err = {"code": "server_error", "message": "The model failed to generate a response."}
        return [ev("response.failed", {"response": response_obj("failed", [], error=err)}, "done")]

    def early(message: str, as_error_event: bool) -> list[Event]:
        if as_error_event:
            return [ev("error", {"code": "server_error", "message": message, "param": None})]
        err = {"code": "server_error", "message": message}
        return [ev("response.failed", {"response": response_obj("failed", [], error=err)}, "done")]

    spec = StreamSpec(
        events=events,
        error_event=lambda message: ev(
            "error", {"code": "server_error", "message": message, "param": None}
        ),
        finish_error=failed,
        oversized_event=lambda size: ev("response.padding", {"padding": "x" * size}),
        announced=2,
        early_failure=early,
    )
    return ctx.stream(spec, headers=headers)


def _summary_part(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}


def _reasoning_item(body: dict[str, Any], prompt: str) -> dict[str, Any] | None:
    """The ``reasoning`` output item when the request asked for a summary
    (``reasoning: {"summary": "auto" | "concise" | "detailed"}``); its ``encrypted_content``
    only with ``include: ["reasoning.encrypted_content"]`` (protocol.md §3.7)."""
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict) or reasoning.get("summary") in (None, "none"):
        return None
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    item: dict[str, Any] = {
        "id": "rs_" + digest[:24],
        "type": "reasoning",
        "summary": [_summary_part(f"Weighing “{prompt[:40]}” before answering.")],
    }
    include = body.get("include")
    if isinstance(include, list) and "reasoning.encrypted_content" in include:
        item["encrypted_content"] = "enc_" + digest
    return item
