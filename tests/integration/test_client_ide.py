"""The IDE flavour through the client (``client.models``, ``client.chat.completions``), against the
emulator over real sockets: replies, tool calls, headers, routing and cancellation."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest

from copilot_anyio import (
    ChatCompletion,
    ChatCompletionChunk,
    Model,
    RateLimitError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
    Timeouts,
    UnknownModelError,
    UnsupportedEndpointError,
)
from copilot_anyio.emulator import EmulatorConfig, Fault, reply_deltas, reply_for

from ._ide_support import (
    TIME_TOOL,
    WEATHER_TOOL,
    ide_client,
    library_tasks,
    user,
    wait_until_idle,
)

pytestmark = pytest.mark.anyio

#: The arguments the emulator fills in from WEATHER_TOOL's schema.
WEATHER_ARGUMENTS = {"city": "city-value", "days": 1}


def _usage_numbers(completion: ChatCompletion) -> tuple[int, int, int]:
    usage = completion.usage
    assert usage is not None
    return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens


# -- 1. replies --------------------------------------------------------------------------------
async def test_create_and_stream_give_the_emulators_reply_and_the_same_result() -> None:
    prompt = "Explain server-sent events"
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            created = await client.chat.completions.create(model="gpt-4.1", messages=user(prompt))
            chunks: list[ChatCompletionChunk] = []
            async with client.chat.completions.stream(
                model="gpt-4.1", messages=user(prompt)
            ) as stream:
                chunks.extend([chunk async for chunk in stream])
                final = await stream.final()
            async with client.chat.completions.stream(
                model="gpt-4.1", messages=user(prompt)
            ) as again:
                deltas = [text async for text in again.text_deltas()]
            streamed_body = emu.stats.requests_to("chat.completions")[1].json()
    expected = reply_for(prompt)
    message = created.choices[0].message
    assert message.content == expected
    assert message.role == "assistant"
    assert created.choices[0].finish_reason == "stop"
    prompt_tokens, completion_tokens, total = _usage_numbers(created)
    assert prompt_tokens > 0
    assert completion_tokens > 0
    assert total == prompt_tokens + completion_tokens
    # The stream: the leading prompt-filter chunk has no choices; the text is in the deltas.
    assert chunks[0].choices == []
    assert "".join(c.text for c in chunks) == expected
    assert deltas == reply_deltas(prompt)
    # What the stream assembles is what the non-streaming call returns.
    assert final.choices[0].message.content == message.content
    assert final.choices[0].finish_reason == created.choices[0].finish_reason
    assert final.usage == created.usage
    assert final.model == created.model == "gpt-4.1-2025-04-14"
    assert [c.index for c in final.choices] == [c.index for c in created.choices]
    assert streamed_body["stream"] is True
    assert streamed_body["stream_options"] == {"include_usage": True}


async def test_a_system_prompt_and_the_history_reach_the_server() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You answer in one line."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": reply_for("first question")},
        {"role": "user", "content": "second question"},
    ]
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            created = await client.chat.completions.create(
                model="gpt-4.1", messages=messages, max_tokens=200, temperature=0.2
            )
            async with client.chat.completions.stream(model="gpt-4.1", messages=messages) as s:
                streamed = await s.final()
            sent = emu.stats.requests_to("chat.completions")[0].json()
    # The reply is the second turn's: the server saw two user messages.
    assert created.choices[0].message.content == reply_for("second question", turn=2)
    assert streamed.choices[0].message.content == reply_for("second question", turn=2)
    assert sent["messages"] == messages
    assert sent["max_tokens"] == 200
    assert sent["temperature"] == 0.2
    assert sent["stream"] is False


# -- 2. tool calls -----------------------------------------------------------------------------
async def test_tool_calls_are_whole_on_create_and_assembled_from_stream_deltas() -> None:
    prompt = "please call get_weather and get_time"
    tools = [WEATHER_TOOL, TIME_TOOL]
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            created = await client.chat.completions.create(
                model="gpt-4.1", messages=user(prompt), tools=tools, tool_choice="auto"
            )
            pieces: list[tuple[int | None, str | None, str | None]] = []
            async with client.chat.completions.stream(
                model="gpt-4.1", messages=user(prompt), tools=tools
            ) as stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        for call in choice.delta.tool_calls or ():
                            fn = call.function
                            pieces.append(
                                (call.index, call.id, None if fn is None else fn.arguments)
                            )
                final = await stream.final()
            sent = emu.stats.requests_to("chat.completions")[0].json()
    calls = created.choices[0].message.tool_calls
    assert calls is not None
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == WEATHER_ARGUMENTS
    assert json.loads(calls[1].function.arguments) == {}
    assert all(c.id.startswith("call_") and c.type == "function" for c in calls)
    assert len({c.id for c in calls}) == 2
    assert created.choices[0].finish_reason == "tool_calls"
    assert sent["tool_choice"] == "auto"
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"]
    # The wire really split them: parallel calls under two indexes, arguments in several pieces,
    # and only the first piece of each call carries its id.
    assert {index for index, _, _ in pieces} == {0, 1}
    weather_pieces = [p for p in pieces if p[0] == 0]
    assert len(weather_pieces) > 2
    assert [call_id is not None for _, call_id, _ in weather_pieces].count(True) == 1
    # ... and the stream assembled the same whole calls the non-streaming reply has.
    streamed_calls = final.choices[0].message.tool_calls
    assert streamed_calls is not None
    assert [c.to_dict() for c in streamed_calls] == [c.to_dict() for c in calls]
    assert final.choices[0].finish_reason == "tool_calls"


async def test_a_tool_result_turn_is_answered_and_marked_as_the_agents() -> None:
    prompt = "call get_weather"
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            first = await client.chat.completions.create(
                model="gpt-4.1", messages=user(prompt), tools=[WEATHER_TOOL]
            )
            calls = first.choices[0].message.tool_calls
            assert calls is not None
            history: list[dict[str, Any]] = [
                *user(prompt),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [c.to_dict() for c in calls],
                },
                {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny, 21 C"},
            ]
            second = await client.chat.completions.create(
                model="gpt-4.1", messages=history, tools=[WEATHER_TOOL]
            )
            initiators = [
                r.headers.get("x-initiator") for r in emu.stats.requests_to("chat.completions")
            ]
    assert second.choices[0].message.content == reply_for("tool result: sunny, 21 C")
    assert initiators == ["user", "agent"]


async def test_a_stream_broken_mid_tool_call_keeps_the_calls_that_arrived() -> None:
    prompt = "call get_weather and get_time"
    arguments = json.dumps(WEATHER_ARGUMENTS, separators=(",", ":"))
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            # Content events: the call's first piece (id and name), then 8-character arguments.
            emu.script("chat.completions", Fault.drop(after_chunks=3))
            with pytest.raises(StreamError) as info:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user(prompt), tools=[WEATHER_TOOL, TIME_TOOL]
                ) as stream:
                    async for _ in stream:
                        pass
            await wait_until_idle(emu)
    error = info.value
    assert isinstance(error, StreamInterruptedError)
    assert error.partial_text == ""
    assert len(error.partial_tool_calls) == 1
    partial = error.partial_tool_calls[0]
    assert partial.function.name == "get_weather"
    assert partial.id.startswith("call_")
    assert partial.function.arguments == arguments[:16]
    assert stream.error is error


async def test_a_stream_stalled_mid_tool_call_keeps_the_calls_that_arrived() -> None:
    prompt = "call get_time and get_weather"
    with anyio.fail_after(15):
        async with ide_client(timeouts=Timeouts(idle=0.5)) as (emu, client):
            emu.script("chat.completions", Fault.stall(after_chunks=2, keepalive=0.05))
            with pytest.raises(StreamStalledError) as info:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user(prompt), tools=[WEATHER_TOOL, TIME_TOOL]
                ) as stream:
                    await stream.final()
            await wait_until_idle(emu)
    calls = info.value.partial_tool_calls
    assert [c.function.name for c in calls] == ["get_weather"]
    assert calls[0].function.arguments == '{"city":"'[:8]


async def test_a_stream_broken_mid_text_keeps_the_text_that_arrived() -> None:
    prompt = "break after five"
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.drop(after_chunks=5))
            received: list[str] = []
            with pytest.raises(StreamInterruptedError) as info:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user(prompt)
                ) as stream:
                    async for text in stream.text_deltas():
                        received.append(text)  # noqa: PERF401
    expected = "".join(reply_deltas(prompt)[:5])
    assert info.value.partial_text == expected
    assert "".join(received) == expected
    assert info.value.partial_tool_calls == ()


# -- 3. headers --------------------------------------------------------------------------------
IMAGE_PART = {
    "type": "image_url",
    "image_url": {"url": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJ"},
}


async def test_the_vision_header_goes_only_with_images() -> None:
    with_image = [{"role": "user", "content": [{"type": "text", "text": "what is it"}, IMAGE_PART]}]
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            seen = await client.chat.completions.create(model="gpt-4.1", messages=with_image)
            async with client.chat.completions.stream(model="gpt-4.1", messages=with_image) as s:
                streamed = await s.final()
            await client.chat.completions.create(model="gpt-4.1", messages=user("no picture"))
            records = emu.stats.requests_to("chat.completions")
    # The emulator refuses images without the header, so these replies prove it went out.
    assert seen.choices[0].message.content == reply_for("what is it")
    assert streamed.choices[0].message.content == reply_for("what is it")
    assert [r.headers.get("copilot-vision-request") for r in records] == ["true", "true", None]
    assert records[0].json()["messages"][0]["content"][1] == IMAGE_PART


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        pytest.param(user("hello"), "user", id="user-text"),
        pytest.param(
            [*user("a"), {"role": "assistant", "content": "b"}, *user("c")],
            "user",
            id="user-after-assistant",
        ),
        pytest.param(
            [*user("a"), {"role": "assistant", "content": "Sure, "}], "agent", id="prefill"
        ),
        pytest.param(
            [
                *user("call get_time"),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "noon"},
            ],
            "agent",
            id="tool-result",
        ),
    ],
)
async def test_x_initiator_follows_the_last_message(
    messages: list[dict[str, Any]], expected: str
) -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            await client.chat.completions.create(
                model="gpt-4.1", messages=messages, tools=[TIME_TOOL]
            )
            async with client.chat.completions.stream(
                model="gpt-4.1", messages=messages, tools=[TIME_TOOL]
            ) as stream:
                await stream.final()
            records = emu.stats.requests_to("chat.completions")
    assert [r.headers.get("x-initiator") for r in records] == [expected, expected]


async def test_every_request_and_every_error_carries_a_request_id() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            await client.models.list()
            await client.chat.completions.create(model="gpt-4.1", messages=user("one"))
            async with client.chat.completions.stream(model="gpt-4.1", messages=user("two")) as s:
                await s.final()
            emu.script("chat.completions", Fault.rate_limited("30"))
            with pytest.raises(RateLimitError) as created_error:
                await client.chat.completions.create(model="gpt-4.1", messages=user("three"))
            emu.script("chat.completions", Fault.rate_limited("30"))
            with pytest.raises(RateLimitError) as streamed_error:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("four")
                ) as s:
                    await s.final()
            log = list(emu.stats.request_log)
    ids = [r.headers.get("x-request-id", "") for r in log]
    assert [r.route for r in log] == [
        "copilot.token",
        "models",
        "chat.completions",
        "chat.completions",
        "chat.completions",
        "chat.completions",
    ]
    assert all(uuid.UUID(i) for i in ids)
    assert len(set(ids)) == len(ids)  # a fresh id per request
    assert created_error.value.request_id == ids[4]
    assert streamed_error.value.request_id == ids[5]
    assert ids[4] in str(created_error.value)


# -- 4. routing and the model list -------------------------------------------------------------
async def test_a_responses_only_model_is_refused_before_sending() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            with pytest.raises(UnsupportedEndpointError) as created:
                await client.chat.completions.create(model="gpt-5-codex", messages=user("x"))
            with pytest.raises(UnsupportedEndpointError) as streamed:
                async with client.chat.completions.stream(
                    model="gpt-5.4", messages=user("x")
                ) as stream:
                    await stream.final()
            chat_requests = emu.stats.requests_to("chat.completions")
    assert chat_requests == []
    assert created.value.model == "gpt-5-codex"
    assert created.value.endpoint == "/chat/completions"
    assert created.value.supported == ("/responses",)
    assert "/responses" in str(created.value)
    # ``ws:/responses`` is not an endpoint this client speaks: it is not offered.
    assert streamed.value.supported == ("/responses",)


async def test_an_unknown_model_is_refused_with_close_ids() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            with pytest.raises(UnknownModelError) as created:
                await client.chat.completions.create(model="gpt-4.2", messages=user("x"))
            with pytest.raises(UnknownModelError) as streamed:
                async with client.chat.completions.stream(
                    model="gpt4o", messages=user("x")
                ) as stream:
                    await stream.final()
            with pytest.raises(UnknownModelError) as retrieved:
                await client.models.retrieve("claude-sonet-4.5")
            chat_requests = emu.stats.requests_to("chat.completions")
    assert chat_requests == []
    assert "gpt-4.1" in created.value.suggestions
    assert "gpt-4.1" in str(created.value)
    assert "gpt-4o" in streamed.value.suggestions
    assert retrieved.value.suggestions[0] == "claude-sonnet-4.5"


async def test_the_model_list_is_typed_and_kept() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            models = await client.models.list()
            again = await client.models.list()
            one = await client.models.retrieve("gpt-4.1")
            await client.chat.completions.create(model="gpt-4o", messages=user("x"))
            fetched_once = len(emu.stats.requests_to("models"))
            await client.models.list(refresh=True)
            fetched_twice = len(emu.stats.requests_to("models"))
            models_headers = emu.stats.requests_to("models")[0].headers
    assert fetched_once == 1
    assert fetched_twice == 2
    assert models == again
    assert all(isinstance(m, Model) for m in models)
    by_id = {m.id: m for m in models}
    assert list(by_id)[:3] == ["gpt-4.1", "gpt-4o", "gpt-4o-2024-11-20"]  # the server's order
    assert one == by_id["gpt-4.1"]
    assert one.vendor == "Azure OpenAI"
    assert one.supported_endpoints == ("/chat/completions", "/responses")
    assert one.limits.max_context_window_tokens == 128000
    assert one.limits.max_output_tokens == 16384
    assert one.limits.max_prompt_tokens == 64000
    assert one.supports_tools is True
    assert one.supports_vision is False
    assert one.is_chat_default is True
    assert by_id["gpt-4o"].supported_endpoints is None
    assert by_id["gpt-4o"].endpoints == ("/chat/completions",)
    assert by_id["gpt-5-codex"].endpoints == ("/responses",)
    assert by_id["claude-sonnet-4.5"].vendor == "Anthropic"
    assert by_id["claude-sonnet-4.5"].policy is not None
    assert by_id["text-embedding-3-small"].type == "embeddings"
    assert by_id["text-embedding-3-small"].limits.max_inputs == 512
    assert models_headers.get("x-interaction-type") == "model-access"


# -- 9. cancellation ---------------------------------------------------------------------------
async def test_leaving_a_stream_early_closes_it_and_leaves_others_alone() -> None:
    results: dict[str, str] = {}
    with anyio.fail_after(20):
        async with ide_client(EmulatorConfig(pacing=0.01)) as (emu, client):

            async def finish(prompt: str) -> None:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user(prompt)
                ) as stream:
                    final = await stream.final()
                results[prompt] = final.choices[0].message.content or ""

            tasks_before = library_tasks()
            async with anyio.create_task_group() as tg:
                tg.start_soon(finish, "kept one")
                tg.start_soon(finish, "kept two")
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("left early")
                ) as stream:
                    async for text in stream.text_deltas():
                        if text:
                            tasks_while_open = library_tasks()
                            break
                tasks_after_leaving = library_tasks()
                await wait_until_idle(emu)
            aborted = emu.stats.streams_aborted
            completed = emu.stats.streams_completed
            in_flight = client.statistics().requests_in_flight
            # The client still works afterwards.
            after = await client.chat.completions.create(model="gpt-4.1", messages=user("after"))
    # Three streams open cost no task of the client's: each is read by the task iterating it.
    assert tasks_before == tasks_while_open == tasks_after_leaving
    assert "copilot_anyio._pump.IdleWatchdog.run" in tasks_before
    assert aborted == 1
    assert completed == 2
    assert in_flight == 0
    assert results == {"kept one": reply_for("kept one"), "kept two": reply_for("kept two")}
    assert after.choices[0].message.content == reply_for("after")


async def test_cancelling_a_stream_from_outside_closes_the_response() -> None:
    with anyio.fail_after(20):
        async with ide_client(EmulatorConfig(pacing=0.02)) as (emu, client):
            received: list[str] = []
            tasks_before = library_tasks()
            with anyio.move_on_after(0.3) as scope:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("cancel me")
                ) as stream:
                    async for text in stream.text_deltas():
                        received.append(text)  # noqa: PERF401
            tasks = library_tasks()
            await wait_until_idle(emu)
            aborted = emu.stats.streams_aborted
            in_flight = client.statistics().requests_in_flight
    assert tasks == tasks_before  # nothing left behind
    assert scope.cancelled_caught
    assert 0 < len(received) < len(reply_deltas("cancel me"))
    assert aborted == 1
    assert in_flight == 0
