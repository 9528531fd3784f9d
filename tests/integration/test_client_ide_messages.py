"""``client.messages`` over real sockets: text, tool use, thinking, usage, the path's headers,
history repair, and parity with the anthropic SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import anyio
import pytest

from copilot_anyio import BadRequestError, CopilotClient, UsageError
from copilot_anyio.emulator import (
    Emulator,
    EmulatorConfig,
    reply_deltas,
    reply_for,
    serve_emulator,
)
from copilot_anyio.ide import repair_tool_history
from copilot_anyio.ide._repair import INTERRUPTED_RESULT

from ._ide_support import ide_client
from ._sdk_support import CLAUDE, VERSIONS, anthropic_and_ours, sdk_params

pytestmark = [
    pytest.mark.anyio,
    # The SDKs' streams leave async generators unclosed at the end; trio reports them when
    # they are collected. That is the SDKs' doing, so only it is silenced.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <async_generator object"
        r":pytest.PytestUnraisableExceptionWarning"
    ),
]

WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TIME = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
THINKING = {"type": "enabled", "budget_tokens": 2048}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@asynccontextmanager
async def claude_client(
    config: EmulatorConfig | None = None, **options: Any
) -> AsyncIterator[tuple[Emulator, CopilotClient]]:
    """``ide_client`` with the Claude model's policy accepted for its account."""
    async with ide_client(config, **options) as (emu, client):
        emu.state.set_policy("octo", CLAUDE, enabled=True)
        yield emu, client


async def test_text_streams_and_assembles_with_usage() -> None:
    prompt = "Explain Anthropic's stream."
    with anyio.fail_after(15):
        async with claude_client() as (emu, client):
            async with client.messages.stream(
                model=CLAUDE, messages=user(prompt), max_tokens=256, system="Be brief."
            ) as stream:
                deltas = [text async for text in stream.text_deltas()]
                streamed = await stream.final()
            created = await client.messages.create(
                model=CLAUDE, messages=user(prompt), max_tokens=256, system="Be brief."
            )
            sent = emu.stats.requests_to("messages")[0].json()
    assert deltas == reply_deltas(prompt)
    assert streamed.text == created.text == reply_for(prompt)
    assert streamed.stop_reason == created.stop_reason == "end_turn"
    assert streamed.id.startswith("msg_")
    assert streamed.usage is not None
    assert streamed.usage == created.usage
    assert streamed.usage.output_tokens >= len(deltas)  # message_delta's count, merged
    assert streamed.usage.input_tokens > 0
    assert sent["system"] == "Be brief."
    assert sent["max_tokens"] == 256
    assert sent["stream"] is True


async def test_tool_use_input_is_assembled_from_json_deltas() -> None:
    prompt = "call get_weather and get_time"
    with anyio.fail_after(15):
        async with claude_client() as (_, client):
            async with client.messages.stream(
                model=CLAUDE, messages=user(prompt), max_tokens=256, tools=[WEATHER, TIME]
            ) as stream:
                pieces = [
                    event.delta.partial_json
                    async for event in stream
                    if event.delta is not None and event.delta.type == "input_json_delta"
                ]
                streamed = await stream.final()
            created = await client.messages.create(
                model=CLAUDE, messages=user(prompt), max_tokens=256, tools=[WEATHER, TIME]
            )
    uses = [(b.id, b.name, b.input) for b in streamed.tool_uses]
    assert uses == [(b.id, b.name, b.input) for b in created.tool_uses]
    assert [name for _, name, _ in uses] == ["get_weather", "get_time"]
    assert uses[0][2] == {"city": "city-value", "days": 1}
    assert uses[1][2] == {}
    assert len(pieces) > 2  # the input came in pieces
    assert streamed.stop_reason == "tool_use"
    assert all(tool_id and tool_id.startswith("toolu_") for tool_id, _, _ in uses)


async def test_a_tool_result_turn_is_answered_and_marked_as_the_agents() -> None:
    with anyio.fail_after(15):
        async with claude_client() as (emu, client):
            first = await client.messages.create(
                model=CLAUDE, messages=user("call get_weather"), max_tokens=256, tools=[WEATHER]
            )
            (use,) = first.tool_uses
            follow_up: list[dict[str, Any]] = [
                *user("call get_weather"),
                {"role": "assistant", "content": [use.to_dict()]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}],
                },
            ]
            second = await client.messages.create(
                model=CLAUDE, messages=follow_up, max_tokens=256, tools=[WEATHER]
            )
            initiators = [r.headers.get("x-initiator") for r in emu.stats.requests_to("messages")]
    assert second.text == reply_for("tool result: sunny")
    assert initiators == ["user", "agent"]


async def test_thinking_blocks_stream_and_assemble() -> None:
    prompt = "Think about it."
    with anyio.fail_after(15):
        async with claude_client() as (emu, client):
            async with client.messages.stream(
                model=CLAUDE, messages=user(prompt), max_tokens=4096, thinking=THINKING
            ) as stream:
                thoughts = [
                    event.delta.thinking or ""
                    async for event in stream
                    if event.delta is not None and event.delta.type == "thinking_delta"
                ]
                streamed = await stream.final()
            created = await client.messages.create(
                model=CLAUDE, messages=user(prompt), max_tokens=4096, thinking=THINKING
            )
            sent = emu.stats.requests_to("messages")[0].json()
    assert [b.type for b in streamed.content] == ["thinking", "text"]
    thinking = streamed.content[0]
    assert len(thoughts) > 1
    assert thinking.thinking == "".join(thoughts)
    assert thinking.signature
    assert thinking.signature.startswith("sig_")
    assert streamed.content == created.content
    assert streamed.text == reply_for(prompt)
    assert sent["thinking"] == THINKING


async def test_the_paths_headers_and_checks_before_sending() -> None:
    with anyio.fail_after(15):
        async with claude_client() as (emu, client):
            async with client.messages.stream(
                model=CLAUDE,
                messages=user("hi"),
                max_tokens=1_000_000,  # over the model's 16384 and Copilot's 128K
                betas=["interleaved-thinking-2025-05-14"],
            ) as stream:
                await stream.final()
            await client.messages.create(model=CLAUDE, messages=user("hi"), max_tokens=10)
            with pytest.raises(UsageError, match="output-300k"):
                await client.messages.create(
                    model=CLAUDE, messages=user("hi"), max_tokens=10, betas=["output-300k"]
                )
            with pytest.raises(UsageError, match="web_search"):
                await client.messages.create(
                    model=CLAUDE,
                    messages=user("hi"),
                    max_tokens=10,
                    tools=[{"type": "web_search_20250305", "name": "web_search"}],
                )
            url_image = {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}
            with pytest.raises(UsageError, match="base64"):
                await client.messages.create(
                    model=CLAUDE,
                    messages=[{"role": "user", "content": [url_image]}],
                    max_tokens=10,
                )
            recorded = emu.stats.requests_to("messages")
    assert len(recorded) == 2  # the refused three never left
    streamed, created = recorded
    for record in recorded:
        headers = record.headers
        assert record.path == "/v1/messages"
        assert headers["anthropic-version"] == "2023-06-01"
        assert headers["x-interaction-type"] == "messages-proxy"
        assert headers["openai-intent"] == "messages-proxy"
        assert headers["x-github-api-version"] == VERSIONS.api_version
        assert headers["copilot-integration-id"] == VERSIONS.integration_id
        assert headers["editor-version"] == VERSIONS.editor_version
        assert headers["authorization"].startswith("Bearer ")
        assert headers["x-request-id"]
    assert streamed.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert "anthropic-beta" not in created.headers
    assert streamed.headers["accept"] == "text/event-stream"
    assert created.headers["accept"] == "application/json"
    assert streamed.json()["max_tokens"] == 16384  # clamped to the model's limit
    assert streamed.headers["x-request-id"] != created.headers["x-request-id"]


# -- history repair (protocol.md §10.7) -----------------------------------------------------------
INTERRUPTED: list[dict[str, Any]] = [
    *user("call get_weather"),
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Looking it up."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
    },
    # the tool run was interrupted: the next turn is the user's, without the result
    *user("Never mind. What is SSE?"),
]
ORPHAN: list[dict[str, Any]] = [
    *user("hello"),
    {"role": "assistant", "content": "Hi."},
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "stale"},
            {"type": "text", "text": "What is SSE?"},
        ],
    },
]


@pytest.mark.parametrize("history", [INTERRUPTED, ORPHAN], ids=["unpaired-call", "orphan-result"])
async def test_history_repair_fixes_what_the_server_refuses(history: list[dict[str, Any]]) -> None:
    with anyio.fail_after(15):
        async with claude_client() as (emu, client):
            with pytest.raises(BadRequestError) as refused:
                await client.messages.create(
                    model=CLAUDE, messages=history, max_tokens=256, tools=[WEATHER]
                )
            repaired = repair_tool_history(history)
            reply = await client.messages.create(
                model=CLAUDE, messages=repaired.messages, max_tokens=256, tools=[WEATHER]
            )
            sent = emu.stats.last_request("messages").json()["messages"]
    assert "tool_result" in refused.value.message
    assert repaired.changed
    assert reply.stop_reason == "end_turn"
    assert reply.text
    assert history is not repaired.messages  # the input is left as it was
    if history is INTERRUPTED:
        (repair,) = repaired.repairs
        assert (repair.action, repair.call_id, repair.position) == (
            "placeholder_inserted",
            "toolu_1",
            1,
        )
        assert history[2]["content"] == "Never mind. What is SSE?"  # the input is unchanged
        placeholder = sent[2]["content"][0]
        assert placeholder == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": INTERRUPTED_RESULT,
            "is_error": True,
        }
        assert sent[2]["content"][1] == {"type": "text", "text": "Never mind. What is SSE?"}
    else:
        (repair,) = repaired.repairs
        assert repair.action == "orphan_result_dropped"
        assert repair.call_id == "toolu_gone"
        assert sent[2]["content"] == [{"type": "text", "text": "What is SSE?"}]
        assert reply.text == reply_for("What is SSE?", turn=2)


# -- parity with the anthropic SDK ----------------------------------------------------------------
async def test_the_anthropic_sdk_and_ours_agree_on_text_and_usage() -> None:
    prompt = "compare the two clients"
    with anyio.fail_after(15):
        async with serve_emulator() as emu, anthropic_and_ours(emu) as (sdk, client):
            theirs = await sdk.messages.create(
                model=CLAUDE, messages=sdk_params(user(prompt)), max_tokens=256
            )
            mine = await client.messages.create(model=CLAUDE, messages=user(prompt), max_tokens=256)
            async with sdk.messages.stream(
                model=CLAUDE, messages=sdk_params(user(prompt)), max_tokens=256
            ) as their_stream:
                their_text = "".join([text async for text in their_stream.text_stream])
                their_final = await their_stream.get_final_message()
            async with client.messages.stream(
                model=CLAUDE, messages=user(prompt), max_tokens=256
            ) as my_stream:
                my_text = "".join([text async for text in my_stream.text_deltas()])
                my_final = await my_stream.final()
    their_blocks = [b.text for b in theirs.content if b.type == "text"]
    assert mine.text == "".join(their_blocks) == reply_for(prompt)
    assert my_text == their_text == mine.text
    assert my_final.text == "".join(b.text for b in their_final.content if b.type == "text")
    assert mine.stop_reason == theirs.stop_reason == "end_turn"
    assert mine.usage is not None
    assert my_final.usage is not None
    for my_usage, their_usage in ((mine.usage, theirs.usage), (my_final.usage, their_final.usage)):
        assert (my_usage.input_tokens, my_usage.output_tokens) == (
            their_usage.input_tokens,
            their_usage.output_tokens,
        )


async def test_the_anthropic_sdk_and_ours_agree_on_tool_use_and_thinking() -> None:
    prompt = "call get_weather and get_time"
    with anyio.fail_after(15):
        async with serve_emulator() as emu, anthropic_and_ours(emu) as (sdk, client):
            options: dict[str, Any] = {
                "model": CLAUDE,
                "messages": user(prompt),
                "max_tokens": 4096,
                "tools": [WEATHER, TIME],
                "thinking": THINKING,
            }
            theirs = await sdk.messages.create(**options)
            async with sdk.messages.stream(**options) as their_stream:
                their_final = await their_stream.get_final_message()
            mine = await client.messages.create(**options)
            async with client.messages.stream(**options) as my_stream:
                my_final = await my_stream.final()
    pairs: list[tuple[Any, Any]] = [(theirs, mine), (their_final, my_final)]
    for their_message, my_message in pairs:
        their_uses = [
            (b.id, b.name, b.input) for b in their_message.content if b.type == "tool_use"
        ]
        assert len(their_uses) == 2
        assert [(b.id, b.name, b.input) for b in my_message.tool_uses] == their_uses
        their_thinking = [
            (b.thinking, b.signature) for b in their_message.content if b.type == "thinking"
        ]
        my_thinking = [
            (b.thinking, b.signature) for b in my_message.content if b.type == "thinking"
        ]
        assert my_thinking == their_thinking
        assert len(my_thinking) == 1
        assert my_message.stop_reason == their_message.stop_reason == "tool_use"


async def test_a_history_the_server_refuses_is_refused_alike_for_the_sdk() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu, anthropic_and_ours(emu) as (sdk, client):
            with pytest.raises(anthropic.BadRequestError) as theirs:
                await sdk.messages.create(
                    model=CLAUDE, messages=sdk_params(INTERRUPTED), max_tokens=256
                )
            with pytest.raises(BadRequestError) as mine:
                await client.messages.create(model=CLAUDE, messages=INTERRUPTED, max_tokens=256)
            fixed = repair_tool_history(INTERRUPTED).messages
            their_reply = await sdk.messages.create(
                model=CLAUDE, messages=sdk_params(fixed), max_tokens=256
            )
            my_reply = await client.messages.create(model=CLAUDE, messages=fixed, max_tokens=256)
    assert theirs.value.status_code == mine.value.status_code == 400
    assert "toolu_1" in mine.value.message
    assert my_reply.text == "".join(b.text for b in their_reply.content if b.type == "text")
