"""``client.responses`` over real sockets: text, function calls, reasoning summaries, usage,
``previous_response_id``, the early-failure retry, and parity with the openai SDK."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from copilot_anyio import (
    BadRequestError,
    StreamFailedBeforeOutputError,
    StreamServerError,
    UsageError,
)
from copilot_anyio.emulator import Fault, reply_deltas, reply_for, serve_emulator

from ._ide_support import TIME_TOOL, WEATHER_TOOL, ide_client
from ._sdk_support import openai_and_ours, sdk_params

pytestmark = [
    pytest.mark.anyio,
    # openai's AsyncStream leaves its SSE and HTTP async generators unclosed at the end; trio
    # reports them when they are collected. That is the SDK's doing, so only it is silenced.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <async_generator object"
        r":pytest.PytestUnraisableExceptionWarning"
    ),
]

MODEL = "gpt-5-codex"  # serves /responses only
#: The flat Responses shape of the weather tool.
WEATHER = {"type": "function", **WEATHER_TOOL["function"]}
WEATHER_ARGS = {"city": "city-value", "days": 1}


async def test_a_stream_gives_text_deltas_the_response_and_its_usage() -> None:
    prompt = "Explain the Responses API."
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            async with client.responses.stream(model=MODEL, input=prompt) as stream:
                types = []
                deltas = []
                async for event in stream:
                    types.append(event.type)
                    if event.type == "response.output_text.delta":
                        deltas.append(event.delta)
                final = await stream.final()
            created = await client.responses.create(model=MODEL, input=prompt)
            sent = emu.stats.requests_to("responses")[0].json()
    assert deltas == reply_deltas(prompt)  # every piece, in order
    assert final.output_text == created.output_text == reply_for(prompt)
    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
    assert final.status == "completed"
    assert final.usage is not None
    assert created.usage is not None
    assert final.usage.output_tokens == len(reply_deltas(prompt))
    assert final.usage.input_tokens > 0
    assert final.usage == created.usage
    assert sent["stream"] is True
    assert sent["input"] == prompt


async def test_function_calls_are_assembled_from_argument_deltas() -> None:
    prompt = "call get_weather and get_time"
    tools = [WEATHER, TIME_TOOL]  # flat and chat-shaped tools alike
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            async with client.responses.stream(model=MODEL, input=prompt, tools=tools) as stream:
                pieces = [
                    event.delta
                    async for event in stream
                    if event.type == "response.function_call_arguments.delta"
                ]
                streamed = await stream.final()
            created = await client.responses.create(model=MODEL, input=prompt, tools=tools)
            sent_tools = emu.stats.requests_to("responses")[0].json()["tools"]
    calls = [(i.call_id, i.name, i.arguments or "") for i in streamed.output]
    assert [i.type for i in streamed.output] == ["function_call", "function_call"]
    assert [name for _, name, _ in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0][2]) == WEATHER_ARGS
    assert json.loads(calls[1][2]) == {}
    assert len(pieces) > 2  # the weather arguments came in pieces
    assert calls == [(i.call_id, i.name, i.arguments or "") for i in created.output]
    assert all(call_id and call_id.startswith("call_") for call_id, _, _ in calls)
    # the chat-shaped tool went out flattened
    assert [t["name"] for t in sent_tools] == ["get_weather", "get_time"]
    assert all("function" not in t for t in sent_tools)


async def test_a_function_result_is_answered_and_marked_as_the_agents() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            first = await client.responses.create(
                model=MODEL, input="call get_weather", tools=[WEATHER]
            )
            call = first.output[0]
            assert call.call_id is not None
            assert call.name is not None
            follow_up: list[dict[str, Any]] = [
                {"role": "user", "content": "call get_weather"},
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments,
                },
                {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
            ]
            second = await client.responses.create(model=MODEL, input=follow_up, tools=[WEATHER])
            initiators = [r.headers.get("x-initiator") for r in emu.stats.requests_to("responses")]
    assert second.output_text == reply_for("tool result: sunny")
    assert initiators == ["user", "agent"]


async def test_reasoning_summaries_stream_and_assemble() -> None:
    prompt = "Think first."
    options: dict[str, Any] = {
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content"],
    }
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            async with client.responses.stream(model=MODEL, input=prompt, **options) as stream:
                summary_deltas = [
                    event.delta or ""
                    async for event in stream
                    if event.type == "response.reasoning_summary_text.delta"
                ]
                final = await stream.final()
            sent = emu.stats.requests_to("responses")[0].json()
            reasoning = final.output[0]
            assert reasoning.encrypted_content is not None
            # The reasoning item is replayed with its encrypted content, unchanged.
            replay: list[dict[str, Any]] = [
                {"role": "user", "content": prompt},
                {
                    "type": "reasoning",
                    "id": reasoning.id,
                    "summary": [],
                    "encrypted_content": reasoning.encrypted_content,
                },
                {"role": "assistant", "content": final.output_text},
                {"role": "user", "content": "And then?"},
            ]
            again = await client.responses.create(model=MODEL, input=replay)
            stripped = [dict(item) for item in replay]
            del stripped[1]["encrypted_content"]
            with pytest.raises(UsageError, match="encrypted_content"):
                await client.responses.create(model=MODEL, input=stripped)
            sent_count = len(emu.stats.requests_to("responses"))
    assert [item.type for item in final.output] == ["reasoning", "message"]
    assert len(summary_deltas) > 1
    assert reasoning.summary is not None
    assert reasoning.summary[0].text == "".join(summary_deltas)
    assert final.output_text == reply_for(prompt)
    assert final.usage is not None
    assert final.usage.output_tokens_details is not None
    assert final.usage.output_tokens_details.reasoning_tokens == len(summary_deltas)
    assert sent["reasoning"] == options["reasoning"]
    assert sent["include"] == options["include"]
    assert again.output_text == reply_for("And then?", turn=2)
    assert sent_count == 2  # the malformed replay was refused before sending


async def test_previous_response_id_continues_the_conversation() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            first = await client.responses.create(model=MODEL, input="Hello")
            async with client.responses.stream(
                model=MODEL, input="And then?", previous_response_id=first.id
            ) as stream:
                second = await stream.final()
            with pytest.raises(BadRequestError) as unknown:
                await client.responses.create(
                    model=MODEL, input="x", previous_response_id="resp_unknown"
                )
            bodies = [r.json() for r in emu.stats.requests_to("responses")]
    assert first.id.startswith("resp_")
    assert bodies[1]["previous_response_id"] == first.id
    assert second.previous_response_id == first.id
    assert second.output_text == reply_for("And then?", turn=2)  # the server kept the thread
    assert unknown.value.code == "previous_response_not_found"
    assert len(bodies) == 3  # a 400 is not retried


# -- the early-failure retry (protocol.md §10.5) --------------------------------------------------
@pytest.mark.parametrize("as_error_event", [False, True], ids=["response.failed", "error"])
async def test_an_early_failure_is_sent_once_more(as_error_event: bool) -> None:
    prompt = "retry me"
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("responses", Fault.early_failure(as_error_event=as_error_event))
            async with client.responses.stream(model=MODEL, input=prompt) as stream:
                types = [event.type async for event in stream]
                final = await stream.final()
            attempts = emu.stats.requests_to("responses")
            usage = client.usage()
    assert final.output_text == reply_for(prompt)
    assert len(attempts) == 2  # one extra request
    assert attempts[0].json() == attempts[1].json()  # the same request, sent again
    # the caller sees one stream, from the second attempt only
    assert types.count("response.created") == 1
    assert "response.failed" not in types
    assert "error" not in types
    assert usage[MODEL].requests == 1


async def test_a_second_early_failure_is_raised_not_retried_again() -> None:
    message = "Encrypted function output content could not be decrypted or decoded"
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("responses", Fault.early_failure(message), times=2)
            with pytest.raises(StreamFailedBeforeOutputError) as failed:
                async with client.responses.stream(model=MODEL, input="x") as stream:
                    await stream.final()
            attempts = len(emu.stats.requests_to("responses"))
            after = await client.responses.create(model=MODEL, input="x")
    assert attempts == 2
    assert message in str(failed.value)
    assert failed.value.partial_text == ""
    assert after.output_text == reply_for("x")  # the client carries on


@pytest.mark.parametrize("fault", ["midstream_error", "finish_error"])
async def test_a_failure_after_output_is_not_retried_and_keeps_the_partials(fault: str) -> None:
    prompt = "fail late"
    pieces = reply_deltas(prompt)
    scripted = Fault.midstream_error(3) if fault == "midstream_error" else Fault.finish_error()
    seen: list[str] = []
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("responses", scripted)
            with pytest.raises(StreamServerError) as failed:
                async with client.responses.stream(model=MODEL, input=prompt) as stream:
                    async for text in stream.text_deltas():
                        seen.append(text)  # noqa: PERF401 (kept when the loop raises)
            attempts = len(emu.stats.requests_to("responses"))
    assert not isinstance(failed.value, StreamFailedBeforeOutputError)
    expected = "".join(pieces[:3]) if fault == "midstream_error" else "".join(pieces)
    assert failed.value.partial_text == expected
    assert expected.startswith("".join(seen))
    assert attempts == 1


async def test_a_failure_after_a_function_call_began_keeps_the_call() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("responses", Fault.midstream_error(2))
            with pytest.raises(StreamServerError) as failed:
                async with client.responses.stream(
                    model=MODEL, input="call get_weather", tools=[WEATHER]
                ) as stream:
                    await stream.final()
            attempts = len(emu.stats.requests_to("responses"))
    (call,) = failed.value.partial_tool_calls
    assert call.function.name == "get_weather"
    assert call.id.startswith("call_")
    assert json.dumps(WEATHER_ARGS, separators=(",", ":")).startswith(call.function.arguments)
    assert 0 < len(call.function.arguments) < len(json.dumps(WEATHER_ARGS))
    assert attempts == 1


# -- parity with the openai SDK -------------------------------------------------------------------
async def test_the_openai_sdk_and_ours_agree_on_a_response() -> None:
    prompt = "compare the two clients"
    with anyio.fail_after(15):
        async with serve_emulator() as emu, openai_and_ours(emu) as (sdk, client):
            theirs = await sdk.responses.create(model=MODEL, input=prompt, instructions="Be brief.")
            mine = await client.responses.create(
                model=MODEL, input=prompt, instructions="Be brief."
            )
            stream = await sdk.responses.create(model=MODEL, input=prompt, stream=True)
            their_text = ""
            their_usage: Any = None
            async with stream:
                async for event in stream:
                    if event.type == "response.output_text.delta":
                        their_text += event.delta
                    elif event.type == "response.completed":
                        their_usage = event.response.usage
            async with client.responses.stream(model=MODEL, input=prompt) as s:
                my_text = "".join([text async for text in s.text_deltas()])
                streamed = await s.final()
    assert mine.output_text == theirs.output_text == reply_for(prompt)
    assert my_text == their_text == theirs.output_text
    assert mine.usage is not None
    assert streamed.usage is not None
    assert theirs.usage is not None
    assert their_usage is not None
    for usage in (mine.usage, streamed.usage):
        assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (
            their_usage.input_tokens,
            their_usage.output_tokens,
            their_usage.total_tokens,
        )
    assert mine.model == theirs.model


async def test_the_openai_sdk_and_ours_agree_on_function_calls_and_reasoning() -> None:
    prompt = "call get_weather and get_time"
    tools = [WEATHER, {"type": "function", **TIME_TOOL["function"]}]
    reasoning = {"summary": "auto"}
    with anyio.fail_after(15):
        async with serve_emulator() as emu, openai_and_ours(emu) as (sdk, client):
            theirs = await sdk.responses.create(
                model=MODEL, input=prompt, tools=sdk_params(tools), reasoning=sdk_params(reasoning)
            )
            stream = await sdk.responses.create(
                model=MODEL,
                input=prompt,
                tools=sdk_params(tools),
                reasoning=sdk_params(reasoning),
                stream=True,
            )
            # What the SDK's user assembles by hand: argument pieces joined per output index.
            arguments: dict[int, str] = {}
            summary = ""
            async with stream:
                async for event in stream:
                    if event.type == "response.function_call_arguments.delta":
                        arguments[event.output_index] = (
                            arguments.get(event.output_index, "") + event.delta
                        )
                    elif event.type == "response.reasoning_summary_text.delta":
                        summary += event.delta
            async with client.responses.stream(
                model=MODEL, input=prompt, tools=tools, reasoning=reasoning
            ) as s:
                mine = await s.final()
    their_calls = [
        (item.call_id, item.name, item.arguments)
        for item in theirs.output
        if item.type == "function_call"
    ]
    my_calls = [(i.call_id, i.name, i.arguments) for i in mine.output if i.type == "function_call"]
    assert len(their_calls) == 2
    assert my_calls == their_calls
    assert [arguments[i] for i in sorted(arguments)] == [a for _, _, a in their_calls]
    my_summary = mine.output[0].summary
    assert my_summary is not None
    assert my_summary[0].text == summary != ""
