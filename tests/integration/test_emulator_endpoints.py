"""The emulator's ``/v1/messages``, AI-credit billing, quota windows and the early ``/responses``
failure, read by the pure layer's accumulators and parsers and by the openai and anthropic SDKs,
unmodified. Over real sockets, on both backends."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import openai
import pytest
from openai.types.responses import (
    FunctionToolParam,
    ResponseFunctionCallArgumentsDeltaEvent,
    ResponseTextDeltaEvent,
)

from copilot_anyio._errors import (
    RateLimitError,
    StreamFailedBeforeOutputError,
    StreamServerError,
)
from copilot_anyio._lenient import SingleNewlineFraming
from copilot_anyio._sse import SSEDecoder
from copilot_anyio._status import error_from_response
from copilot_anyio.emulator import Emulator, EmulatorConfig, Fault, reply_for, serve_emulator
from copilot_anyio.ide._accumulate import ChatCompletionAccumulator
from copilot_anyio.ide._messages import MessageAccumulator
from copilot_anyio.ide._repair import repair_tool_history
from copilot_anyio.ide._responses import ResponseAccumulator
from copilot_anyio.ide._usage import parse_copilot_user, quotas_from_headers, usage_record
from copilot_anyio.ide._wire import messages_request, parse_message, responses_request

pytestmark = pytest.mark.anyio

FAKE_USER_TOKEN = "ghu_" + "y" * 36
IDE = {"Editor-Version": "vscode/1.137.0", "Copilot-Integration-Id": "vscode-chat"}
CLAUDE = "claude-sonnet-4.5"
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


async def copilot_token(client: httpx.AsyncClient) -> str:
    reply = await client.get(
        "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}", **IDE}
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["token"])


@asynccontextmanager
async def capi(
    config: EmulatorConfig | None = None,
) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient, dict[str, str]]]:
    """The emulator, an HTTP client on it and CAPI headers; Claude's policy is accepted."""
    async with serve_emulator(config) as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
        headers = {**IDE, "Authorization": f"Bearer {await copilot_token(client)}"}
        enabled = await client.post(
            f"/models/{CLAUDE}/policy", headers=headers, json={"state": "enabled"}
        )
        assert enabled.status_code == 200
        yield emu, client, headers


def fold(raw: bytes, accumulator: Any) -> list[Any]:
    """Decode ``raw`` with the library's own framing and SSE decoder into ``accumulator``."""
    decoder = SSEDecoder()
    events = decoder.feed(SingleNewlineFraming().feed(raw)) + decoder.feed(b"\n\n")
    events += decoder.feed_eof()
    out = []
    for event in events:
        out.append(accumulator.feed(event.data))
        if accumulator.completed:
            break
    return out


def sent(request: Any) -> dict[str, Any]:
    """A pure-layer ``Request``'s headers and body as httpx keyword arguments."""
    return {"headers": dict(request.headers), "json": request.json}


# -- /v1/messages --------------------------------------------------------------------------------
async def test_messages_stream_text_thinking_and_bill() -> None:
    with anyio.fail_after(15):
        async with capi(EmulatorConfig(copilot_usage=True)) as (_, client, auth):
            request = messages_request(
                model=CLAUDE,
                messages=[{"role": "user", "content": "hello claude"}],
                max_tokens=2048,
                request_id="rid-1",
                thinking={"type": "enabled", "budget_tokens": 1024},
            )
            reply = await client.post(
                "/v1/messages", headers={**request.headers, **auth}, json=request.json
            )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert b"event: message_start" in reply.content
    accumulator = MessageAccumulator()
    fold(reply.content, accumulator)
    message = accumulator.finish()
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].signature
    assert message.text == reply_for("hello claude")
    assert message.stop_reason == "end_turn"
    record = usage_record(message)
    assert record.completion_tokens > 0
    assert record.credits is not None
    assert record.credits > 0
    assert {"chat", "premium_interactions"} <= set(quotas_from_headers(reply.headers))


async def test_messages_tool_use_then_result_non_streaming() -> None:
    with anyio.fail_after(15):
        async with capi() as (_, client, auth):
            first = messages_request(
                model=CLAUDE,
                messages=[{"role": "user", "content": "call get_weather"}],
                max_tokens=100,
                request_id="r",
                tools=[WEATHER],
                stream=False,
            )
            called = parse_message(
                (
                    await client.post(
                        "/v1/messages", headers={**first.headers, **auth}, json=first.json
                    )
                ).content
            )
            (use,) = called.tool_uses
            history: list[dict[str, Any]] = [
                {"role": "user", "content": "call get_weather"},
                {"role": "assistant", "content": [b.to_dict() for b in called.content]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
                },
            ]
            second = messages_request(
                model=CLAUDE,
                messages=history,
                max_tokens=100,
                request_id="r",
                tools=[WEATHER],
                stream=False,
            )
            answered = await client.post(
                "/v1/messages", headers={**second.headers, **auth}, json=second.json
            )
    assert called.stop_reason == "tool_use"
    assert (use.name, use.input) == ("get_weather", {"city": "city-value"})
    assert second.headers["X-Initiator"] == "agent"
    assert parse_message(answered.content).text == reply_for("tool result: sunny")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"max_tokens": None}, "max_tokens"),
        ({"max_tokens": 200_000}, "maximum allowed number of output tokens"),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "web search tool is not supported",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
                        ],
                    }
                ]
            },
            "external image URLs are not supported",
        ),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "first message"),
    ],
)
async def test_messages_refusals(change: dict[str, Any], says: str) -> None:
    body: dict[str, Any] = {
        "model": CLAUDE,
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 10,
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    with anyio.fail_after(15):
        async with capi() as (_, client, auth):
            refused = await client.post("/v1/messages", headers=auth, json=body)
            wrong_model = await client.post(
                "/v1/messages", headers=auth, json={**body, "model": "gpt-5-codex"}
            )
    assert refused.status_code == 400
    error = json.loads(refused.text)
    assert error["type"] == "error"
    assert says in error["error"]["message"]
    assert wrong_model.status_code == 400
    assert wrong_model.json()["error"]["code"] == "unsupported_api_for_model"


async def test_an_interrupted_tool_call_is_refused_until_repaired() -> None:
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "call get_weather"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
        },
        {"role": "user", "content": "never mind, go on"},
    ]
    repaired = repair_tool_history(history)
    with anyio.fail_after(15):
        async with capi() as (_, client, auth):
            body = {"model": CLAUDE, "max_tokens": 50, "tools": [WEATHER]}
            broken = await client.post(
                "/v1/messages", headers=auth, json={**body, "messages": history}
            )
            fixed = await client.post(
                "/v1/messages", headers=auth, json={**body, "messages": repaired.messages}
            )
    assert broken.status_code == 400
    assert "toolu_1" in broken.text
    assert fixed.status_code == 200, fixed.text


# -- billing and quotas --------------------------------------------------------------------------
async def test_chat_and_responses_carry_copilot_usage() -> None:
    with anyio.fail_after(15):
        async with capi(EmulatorConfig(copilot_usage=True)) as (_, client, auth):
            chat_body = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "bill me"}]}
            plain = await client.post("/chat/completions", headers=auth, json=chat_body)
            streamed = await client.post(
                "/chat/completions", headers=auth, json={**chat_body, "stream": True}
            )
            request = responses_request(model="gpt-5-codex", input="bill me", request_id="r")
            responses = await client.post(
                "/responses", headers={**request.headers, **auth}, json=request.json
            )
        async with capi() as (_, client, auth):
            free = await client.post("/chat/completions", headers=auth, json=chat_body)
    bill = plain.json()["copilot_usage"]
    assert bill["total_nano_aiu"] > 0
    assert {d["token_type"] for d in bill["token_details"]} == {"input", "output"}
    chat = ChatCompletionAccumulator()
    fold(streamed.content, chat)
    assert chat.finish().copilot_usage is not None
    response = ResponseAccumulator()
    fold(responses.content, response)
    record = usage_record(response.finish())
    assert record.metered
    assert record.credits == pytest.approx(record.nano_aiu / 1e9)  # type: ignore[operator]
    assert "copilot_usage" not in free.json()


async def test_user_endpoint_and_headers_report_the_short_windows() -> None:
    config = EmulatorConfig(usage_windows={"session": 42.5, "weekly": 90.0}, copilot_usage=True)
    with anyio.fail_after(15):
        async with capi(config) as (emu, client, auth):
            user = parse_copilot_user(
                (
                    await client.get(
                        "/copilot_internal/user",
                        headers={"Authorization": f"token {FAKE_USER_TOKEN}"},
                    )
                ).json()
            )
            reply = await client.post(
                "/chat/completions",
                headers=auth,
                json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}]},
            )
            emu.script("chat.completions", Fault.session_rate_limited(2733))
            limited = await client.post(
                "/chat/completions",
                headers=auth,
                json={"model": "gpt-4.1", "messages": [{"role": "user", "content": "x"}]},
            )
    assert user.token_based_billing is True
    assert user.session is not None
    assert user.session.percent_remaining == 42.5
    assert user.session.resets_at is not None
    assert user.session.resets_at > time.time()
    assert user.weekly is not None
    assert user.weekly.percent_remaining == 90.0
    windows = quotas_from_headers(reply.headers)
    assert windows["session"].percent_remaining == 42.5
    assert windows["weekly"].percent_remaining == 90.0
    error = error_from_response(429, dict(limited.headers), limited.text, now=time.time())
    assert isinstance(error, RateLimitError)
    assert (error.window, error.retry_after) == ("session", 2733.0)
    assert quotas_from_headers(limited.headers)["session"].percent_remaining == 0.0


# -- early /responses failure ---------------------------------------------------------------------
@pytest.mark.parametrize("as_error_event", [False, True])
async def test_early_responses_failure_then_a_resend_succeeds(as_error_event: bool) -> None:
    request = responses_request(model="gpt-5-codex", input="retry me", request_id="r")
    with anyio.fail_after(15):
        async with capi() as (emu, client, auth):
            emu.script("responses", Fault.early_failure(as_error_event=as_error_event))
            failed = await client.post(
                "/responses", headers={**request.headers, **auth}, json=request.json
            )
            again = await client.post(
                "/responses", headers={**request.headers, **auth}, json=request.json
            )
    first = ResponseAccumulator()
    with pytest.raises(StreamFailedBeforeOutputError) as caught:
        fold(failed.content, first)
    assert "could not be decrypted" in str(caught.value)
    assert not first.output_started
    second = ResponseAccumulator()
    fold(again.content, second)
    assert second.finish().output_text == reply_for("retry me")


async def test_a_failure_after_output_is_not_the_early_kind() -> None:
    request = responses_request(model="gpt-5-codex", input="x", request_id="r")
    with anyio.fail_after(15):
        async with capi() as (emu, client, auth):
            emu.script("responses", Fault.midstream_error(after_chunks=2))
            failed = await client.post(
                "/responses", headers={**request.headers, **auth}, json=request.json
            )
    accumulator = ResponseAccumulator()
    with pytest.raises(StreamServerError) as caught:
        fold(failed.content, accumulator)
    assert not isinstance(caught.value, StreamFailedBeforeOutputError)
    assert caught.value.partial_text


# -- the SDKs, unmodified --------------------------------------------------------------------------
@pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <async_generator object:pytest.PytestUnraisableExceptionWarning"
)
async def test_openai_responses_client_streams_text_and_a_function_call() -> None:
    with anyio.fail_after(20):
        async with capi() as (emu, _, auth):
            sdk = openai.AsyncOpenAI(
                base_url=emu.base_url,
                api_key=auth["Authorization"].split(" ", 1)[1],
                default_headers=IDE,
                max_retries=0,
            )
            async with sdk:
                text = ""
                stream = await sdk.responses.create(
                    model="gpt-5-codex", input="stream it", stream=True
                )
                async with stream:
                    async for event in stream:
                        if isinstance(event, ResponseTextDeltaEvent):
                            text += event.delta
                tool: FunctionToolParam = {
                    "type": "function",
                    "name": "get_weather",
                    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
                    "strict": False,
                }
                calls = await sdk.responses.create(
                    model="gpt-5-codex",
                    input="call get_weather",
                    tools=[tool],
                    stream=True,
                )
                arguments = ""
                async with calls:
                    async for event in calls:
                        if isinstance(event, ResponseFunctionCallArgumentsDeltaEvent):
                            arguments += event.delta
    assert text == reply_for("stream it")
    assert json.loads(arguments) == {"city": "city-value"}


async def test_anthropic_client_streams_text_and_a_tool_use() -> None:
    anthropic = pytest.importorskip("anthropic")
    with anyio.fail_after(20):
        async with capi() as (emu, _, auth):
            sdk = anthropic.AsyncAnthropic(
                base_url=emu.base_url,
                auth_token=auth["Authorization"].split(" ", 1)[1],
                default_headers=IDE,
                max_retries=0,
            )
            async with sdk:
                async with sdk.messages.stream(
                    model=CLAUDE, max_tokens=100, messages=[{"role": "user", "content": "hi sdk"}]
                ) as stream:
                    text = "".join([piece async for piece in stream.text_stream])
                    final = await stream.get_final_message()
                async with sdk.messages.stream(
                    model=CLAUDE,
                    max_tokens=100,
                    tools=[WEATHER],
                    messages=[{"role": "user", "content": "call get_weather"}],
                ) as tools:
                    used = await tools.get_final_message()
    assert text == reply_for("hi sdk")
    assert final.stop_reason == "end_turn"
    (block,) = used.content
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("get_weather", {"city": "city-value"})
