"""Folding a ``/v1/messages`` stream (protocol.md §4.5, §10.6): text, tool input JSON,
thinking, stop reason and usage, ``error`` events, pings and a trailing ``[DONE]``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import IncompleteStreamError, StreamServerError
from copilot_anyio.ide._messages import MessageAccumulator
from copilot_anyio.ide._wire import parse_message


def ev(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


START = ev(
    "message_start",
    message={
        "id": "msg_bdrk_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4.5",
        "content": [],
        "usage": {"input_tokens": 20, "output_tokens": 1, "cache_read_input_tokens": 10},
    },
)
COST = {"total_nano_aiu": 2e9, "token_details": []}


def stream() -> list[str]:
    return [
        START,
        ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": ""}),
        ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": "Hmm"}),
        ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "sig"}),
        ev("content_block_stop", index=0),
        ev("ping"),
        ev("content_block_start", index=1, content_block={"type": "text", "text": ""}),
        ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "Let me "}),
        ev(
            "content_block_delta",
            index=1,
            delta={"type": "text_delta", "text": "check."},
            copilot_annotations={"IPCodeCitations": []},
        ),
        ev("content_block_stop", index=1),
        ev(
            "content_block_start",
            index=2,
            content_block={"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        ),
        ev(
            "content_block_delta",
            index=2,
            delta={"type": "input_json_delta", "partial_json": '{"city": "Par'},
        ),
        ev(
            "content_block_delta",
            index=2,
            delta={"type": "input_json_delta", "partial_json": 'is"}'},
        ),
        ev("content_block_stop", index=2),
        ev(
            "message_delta",
            delta={"stop_reason": "tool_use", "stop_sequence": None},
            usage={"output_tokens": 30},
            copilot_usage=COST,
        ),
        ev("message_stop"),
    ]


def test_stream_assembles_blocks_usage_and_cost() -> None:
    acc = MessageAccumulator()
    events = [acc.feed(e) for e in stream()]
    assert events[5] is None  # ping
    assert acc.completed
    message = acc.finish()
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert (message.content[0].thinking, message.content[0].signature) == ("Hmm", "sig")
    assert message.text == "Let me check."
    (tool,) = message.tool_uses
    assert (tool.id, tool.name, tool.input) == ("toolu_1", "get_weather", {"city": "Paris"})
    assert message.stop_reason == "tool_use"
    assert message.usage is not None
    assert (message.usage.input_tokens, message.usage.output_tokens) == (20, 30)
    assert message.usage.cache_read_input_tokens == 10
    assert message.copilot_usage is not None
    assert message.copilot_usage.credits == 2.0
    assert acc.feed("[DONE]") is None


def test_error_event_carries_partial_text_and_tool_calls() -> None:
    acc = MessageAccumulator()
    for e in stream()[:12]:
        acc.feed(e)
    with pytest.raises(StreamServerError) as caught:
        acc.feed(ev("error", error={"type": "overloaded_error", "message": "Overloaded"}))
    assert caught.value.code == "overloaded_error"
    assert caught.value.partial_text == "Let me check."
    (call,) = caught.value.partial_tool_calls
    assert (call.id, call.function.name, call.function.arguments) == (
        "toolu_1",
        "get_weather",
        '{"city": "Par',
    )


def test_end_without_stop_reason_is_incomplete_but_with_it_is_whole() -> None:
    acc = MessageAccumulator()
    for e in stream()[:9]:
        acc.feed(e)
    with pytest.raises(IncompleteStreamError):
        acc.finish()
    whole = MessageAccumulator()
    for e in stream()[:-1]:
        whole.feed(e)
    assert not whole.completed
    assert whole.finish().stop_reason == "tool_use"


def test_bad_tool_json_keeps_the_text() -> None:
    acc = MessageAccumulator()
    for e in [
        START,
        ev("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": "{"}),
        ev("content_block_stop", index=0),
        ev("message_stop"),
    ]:
        acc.feed(e)
    (block,) = acc.finish().content
    assert (block.type, block.input, block.partial_json) == ("tool_use", {}, "{")


def test_parse_non_streaming_message() -> None:
    message = parse_message(
        json.dumps(
            {
                "id": "msg_vrtx_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4.5",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "tool_use", "id": "t", "name": "n", "input": {"a": [1]}},
                    {"type": "redacted_thinking", "data": "xyz"},
                ],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 4},
            }
        )
    )
    assert message.text == "Hi"
    assert message.tool_uses[0].input == {"a": [1]}
    assert message.content[2].data == "xyz"
