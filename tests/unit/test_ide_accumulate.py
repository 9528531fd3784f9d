"""The ``/chat/completions`` stream accumulator (protocol.md §4.3): Copilot's quirks, tool-call
assembly, usage, completion and failure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import IncompleteStreamError, StreamServerError
from copilot_anyio.ide._accumulate import ChatCompletionAccumulator, decode_chunk
from copilot_anyio.ide._types import ChatCompletion, ChatCompletionChunk

FILTERS = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
LEADING = {
    "choices": [],
    "created": 0,
    "id": "",
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": FILTERS}],
}


def chunk(
    delta: dict[str, Any] | None = None,
    *,
    finish: str | None = None,
    index: int = 0,
    **top: Any,
) -> str:
    choice: dict[str, Any] = {
        "index": index,
        "delta": delta if delta is not None else {},
        "content_filter_results": FILTERS,
        "content_filter_offsets": {"check_offset": 1, "start_offset": 1, "end_offset": 2},
    }
    if finish is not None:
        choice["finish_reason"] = finish
    body: dict[str, Any] = {"choices": [choice], "created": 1750000000, "id": "c1"}
    body.update(top)
    return json.dumps(body)


def tool_piece(
    index: int, *, id: str | None = None, name: str | None = None, args: str = ""
) -> dict[str, Any]:
    piece: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if id is not None:
        piece["id"] = id
        piece["type"] = "function"
    if name is not None:
        piece["function"]["name"] = name
    return piece


def run(*events: str) -> tuple[ChatCompletionAccumulator, list[ChatCompletionChunk]]:
    acc = ChatCompletionAccumulator()
    out = [c for c in map(acc.feed, events) if c is not None]
    return acc, out


SIMPLE = (
    json.dumps(LEADING),
    chunk({"role": "assistant", "content": "Hi"}),
    chunk({"content": " there"}),
    chunk(
        {"content": None},
        finish="stop",
        usage={"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
    ),
    "[DONE]",
)


class TestTextStream:
    def test_text_is_joined(self) -> None:
        acc, _ = run(*SIMPLE)
        result = acc.finish()
        assert isinstance(result, ChatCompletion)
        assert result.choices[0].message.content == "Hi there"
        assert result.choices[0].message.role == "assistant"
        assert result.choices[0].finish_reason == "stop"
        assert result.object == "chat.completion"

    def test_done_completes(self) -> None:
        acc, _ = run(*SIMPLE[:-1])
        assert not acc.completed
        assert acc.feed("[DONE]") is None
        assert acc.completed

    def test_done_with_spaces(self) -> None:
        acc = ChatCompletionAccumulator()
        assert acc.feed(" [DONE] ") is None
        assert acc.completed

    def test_leading_empty_choices_chunk_is_returned_not_an_error(self) -> None:
        acc = ChatCompletionAccumulator()
        first = acc.feed(json.dumps(LEADING))
        assert first is not None
        assert first.choices == []
        assert first.prompt_filter_results == LEADING["prompt_filter_results"]
        assert acc.partial_text == ""

    def test_prompt_filter_results_kept(self) -> None:
        acc, _ = run(*SIMPLE)
        assert acc.finish().prompt_filter_results == LEADING["prompt_filter_results"]

    def test_every_chunk_but_done_is_returned(self) -> None:
        _, out = run(*SIMPLE)
        assert len(out) == 4
        assert out[1].choices[0].delta.content == "Hi"

    def test_usage_from_finishing_chunk(self) -> None:
        acc, _ = run(*SIMPLE)
        usage = acc.finish().usage
        assert usage is not None
        assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 2, 11)

    def test_usage_on_trailing_chunk_with_empty_choices(self) -> None:
        trailing = json.dumps(
            {
                "choices": [],
                "id": "c1",
                "usage": {
                    "prompt_tokens": 5,
                    "completion_tokens": 1,
                    "total_tokens": 6,
                    "prompt_tokens_details": {"cached_tokens": 3},
                    "completion_tokens_details": {"reasoning_tokens": 0},
                },
            }
        )
        acc, _ = run(chunk({"content": "x"}, finish="stop"), trailing, "[DONE]")
        usage = acc.finish().usage
        assert usage is not None
        assert usage.total_tokens == 6
        assert usage.prompt_tokens_details is not None
        assert usage.prompt_tokens_details.cached_tokens == 3

    def test_usage_absent(self) -> None:
        acc, _ = run(chunk({"content": "x"}, finish="stop"), "[DONE]")
        assert acc.finish().usage is None
        assert acc.usage is None

    def test_copilot_usage_and_credits(self) -> None:
        billed = {
            "total_nano_aiu": 6390000,
            "token_details": [
                {
                    "token_type": "input",
                    "token_count": 157,
                    "batch_size": 1000000,
                    "cost_per_batch": 30000000000,
                },
            ],
        }
        acc, _ = run(chunk({"content": "x"}, finish="stop", usage=None, copilot_usage=billed))
        copilot = acc.finish().copilot_usage
        assert copilot is not None
        assert copilot.credits == pytest.approx(0.00639)
        assert copilot.token_details[0].token_type == "input"

    def test_first_non_empty_model_and_created(self) -> None:
        acc, _ = run(
            json.dumps({**LEADING, "model": ""}),
            chunk({"content": "a"}, model="gpt-4o-2024-11-20", system_fingerprint="fp_1"),
            chunk({"content": "b"}, finish="stop", model="other"),
        )
        result = acc.finish()
        assert (result.model, result.created, result.id) == ("gpt-4o-2024-11-20", 1750000000, "c1")
        assert result.system_fingerprint == "fp_1"

    def test_unknown_finish_reason_passes_through(self) -> None:
        acc, _ = run(chunk({"content": "x"}, finish="something_new"))
        assert acc.finish().choices[0].finish_reason == "something_new"

    def test_unknown_fields_are_ignored(self) -> None:
        event = chunk(
            {"content": "x", "copilot_annotations": {"CodeVulnerability": []}},
            finish="stop",
            extra={"a": 1},
        )
        acc, out = run(event)
        assert out[0].choices[0].delta.content == "x"
        assert acc.finish().choices[0].message.content == "x"

    def test_empty_reply_is_an_empty_string(self) -> None:
        acc, _ = run(chunk({"role": "assistant", "content": ""}, finish="stop"), "[DONE]")
        assert acc.finish().choices[0].message.content == ""

    def test_finish_is_idempotent(self) -> None:
        acc, _ = run(*SIMPLE)
        assert acc.finish() is acc.finish()


class TestSkippedPayloads:
    @pytest.mark.parametrize("data", ["not json", "", "[1, 2]", '"text"', "42", "null", "{"])
    def test_non_objects_are_skipped(self, data: str) -> None:
        acc = ChatCompletionAccumulator()
        assert acc.feed(data) is None
        assert acc.skipped == 1
        assert not acc.completed

    def test_stream_continues_after_a_skipped_payload(self) -> None:
        acc, _ = run(chunk({"content": "a"}), "garbage", chunk({"content": "b"}, finish="stop"))
        assert acc.finish().choices[0].message.content == "ab"
        assert acc.skipped == 1


class TestLenientChunks:
    def test_null_choices_on_a_references_chunk(self) -> None:
        refs = json.dumps(
            {
                "choices": None,
                "copilot_references": [{"type": "github.web-search", "id": "r1", "data": {}}],
                "id": "r",
            }
        )
        acc = ChatCompletionAccumulator()
        out = acc.feed(refs)
        assert out is not None
        assert out.choices == []
        assert out.copilot_references == [{"type": "github.web-search", "id": "r1", "data": {}}]

    def test_float_created_and_string_index(self) -> None:
        event = json.dumps(
            {
                "choices": [{"index": "0", "delta": {"content": "x"}, "finish_reason": "stop"}],
                "created": 1.75e9,
                "id": "c",
            }
        )
        acc, _ = run(event)
        result = acc.finish()
        assert result.created == 1750000000
        assert result.choices[0].message.content == "x"

    def test_bad_field_in_one_choice_keeps_the_text(self) -> None:
        event = json.dumps(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": "kept", "role": 7},
                        "finish_reason": "stop",
                        "logprobs": 1,
                    }
                ],
                "created": "soon",
                "usage": "n/a",
            }
        )
        acc, _ = run(event)
        assert acc.finish().choices[0].message.content == "kept"

    def test_bad_tool_call_piece_is_dropped_not_the_chunk(self) -> None:
        event = json.dumps(
            {
                "choices": [
                    {
                        "index": 0,
                        "delta": {
                            "content": "t",
                            "role": ["x"],
                            "tool_calls": [tool_piece(0, id="a", name="f", args="{}"), "junk"],
                        },
                        "finish_reason": "tool_calls",
                    }
                ]
            }
        )
        acc, _ = run(event)
        message = acc.finish().choices[0].message
        assert message.content == "t"
        assert message.tool_calls is not None
        assert [c.function.name for c in message.tool_calls] == ["f"]

    def test_decode_chunk(self) -> None:
        decoded = decode_chunk(chunk({"content": "x"}).encode())
        assert decoded is not None
        assert decoded.choices[0].delta.content == "x"
        assert decode_chunk(b"nope") is None
        assert decode_chunk(b"[]") is None


class TestToolCalls:
    def test_single_call_assembled(self) -> None:
        acc, _ = run(
            chunk(
                {
                    "role": "assistant",
                    "tool_calls": [tool_piece(0, id="call_1", name="get_weather")],
                },
                model="gpt-4o",
            ),
            chunk({"tool_calls": [tool_piece(0, args='{"city":')]}),
            chunk({"tool_calls": [tool_piece(0, args='"Oslo"}')]}),
            chunk({}, finish="tool_calls"),
            "[DONE]",
        )
        result = acc.finish()
        message = result.choices[0].message
        assert result.choices[0].finish_reason == "tool_calls"
        assert message.content is None
        assert message.tool_calls is not None
        (call,) = message.tool_calls
        assert (call.id, call.type, call.function.name) == ("call_1", "function", "get_weather")
        assert json.loads(call.function.arguments) == {"city": "Oslo"}

    def test_parallel_calls_interleaved(self) -> None:
        acc, _ = run(
            chunk(
                {"tool_calls": [tool_piece(0, id="a", name="f"), tool_piece(1, id="b", name="g")]}
            ),
            chunk({"tool_calls": [tool_piece(1, args='{"y"'), tool_piece(0, args='{"x"')]}),
            chunk({"tool_calls": [tool_piece(0, args=":1}")]}),
            chunk({"tool_calls": [tool_piece(1, args=":2}")]}, finish="tool_calls"),
        )
        calls = acc.finish().choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
            ("a", "f", '{"x":1}'),
            ("b", "g", '{"y":2}'),
        ]

    def test_parallel_calls_all_numbered_zero_split_by_id(self) -> None:
        acc, _ = run(
            chunk({"tool_calls": [tool_piece(0, id="a", name="f")]}),
            chunk({"tool_calls": [tool_piece(0, args="{}")]}),
            chunk({"tool_calls": [tool_piece(0, id="b", name="g")]}),
            chunk({"tool_calls": [tool_piece(0, args='{"k":1}')]}, finish="tool_calls"),
        )
        calls = acc.finish().choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
            ("a", "f", "{}"),
            ("b", "g", '{"k":1}'),
        ]

    def test_repeated_id_continues_the_call(self) -> None:
        acc, _ = run(
            chunk({"tool_calls": [tool_piece(0, id="a", name="f", args="{")]}),
            chunk({"tool_calls": [tool_piece(0, id="a", args="}")]}, finish="tool_calls"),
        )
        calls = acc.finish().choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.function.arguments) for c in calls] == [("a", "{}")]

    def test_pieces_without_index_join_by_id_or_latest(self) -> None:
        no_index = {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{"}}
        more = {"function": {"arguments": "}"}}
        acc, _ = run(
            chunk({"tool_calls": [no_index]}), chunk({"tool_calls": [more]}, finish="tool_calls")
        )
        calls = acc.finish().choices[0].message.tool_calls
        assert calls is not None
        assert [(c.id, c.function.arguments) for c in calls] == [("a", "{}")]

    def test_text_and_tool_calls_together(self) -> None:
        acc, _ = run(
            chunk({"content": "Let me check."}),
            chunk(
                {"tool_calls": [tool_piece(0, id="a", name="f", args="{}")]}, finish="tool_calls"
            ),
        )
        message = acc.finish().choices[0].message
        assert message.content == "Let me check."
        assert message.tool_calls is not None

    def test_thought_signature_kept(self) -> None:
        piece = {**tool_piece(0, id="a", name="f", args="{}"), "thought_signature": "sig"}
        acc, _ = run(chunk({"tool_calls": [piece]}, finish="tool_calls"))
        calls = acc.finish().choices[0].message.tool_calls
        assert calls is not None
        assert calls[0].thought_signature == "sig"

    def test_partial_tool_calls(self) -> None:
        acc, _ = run(chunk({"tool_calls": [tool_piece(0, id="a", name="f", args='{"x"')]}))
        (call,) = acc.partial_tool_calls
        assert (call.id, call.function.name, call.function.arguments) == ("a", "f", '{"x"')


class TestChoices:
    def test_n_choices_interleave_and_finish_apart(self) -> None:
        acc, _ = run(
            chunk({"content": "A"}, index=0),
            chunk({"content": "B"}, index=1),
            chunk({"content": "a"}, index=0, finish="stop"),
            chunk({"content": "b"}, index=1, finish="length"),
        )
        result = acc.finish()
        assert [(c.index, c.message.content, c.finish_reason) for c in result.choices] == [
            (0, "Aa", "stop"),
            (1, "Bb", "length"),
        ]

    def test_partial_text_is_the_first_choice(self) -> None:
        acc, _ = run(chunk({"content": "B"}, index=1), chunk({"content": "A"}, index=0))
        assert acc.partial_text == "A"

    def test_reasoning_fields_collected(self) -> None:
        acc, _ = run(
            chunk({"reasoning_text": "think "}),
            chunk({"reasoning_text": "more", "reasoning_opaque": "opaque"}),
            chunk({"content": "ok", "cot_summary": "s"}, finish="stop"),
        )
        message = acc.finish().choices[0].message
        assert (message.reasoning_text, message.reasoning_opaque, message.content) == (
            "think more",
            "opaque",
            "ok",
        )

    def test_references_stream_keeps_function_content_out_of_the_text(self) -> None:
        acc, _ = run(
            chunk(
                {"role": "assistant", "function_call": {"name": "bing", "arguments": "{}"}}, id="r"
            ),
            chunk({}, finish="function_call", id="r"),
            chunk({"role": "function", "content": '[{"title": "x"}]'}, id="r"),
            chunk({"role": "assistant", "content": "Answer"}, id="c2"),
            chunk({}, finish="stop", id="c2"),
            "[DONE]",
        )
        result = acc.finish()
        assert result.choices[0].message.content == "Answer"
        assert result.choices[0].message.role == "assistant"
        assert result.choices[0].finish_reason == "stop"
        assert result.id == "c2"

    def test_refusal(self) -> None:
        acc, _ = run(chunk({"refusal": "no"}, finish="stop"))
        assert acc.finish().choices[0].message.refusal == "no"


class TestEnd:
    def test_no_done_but_finish_reason_is_complete(self) -> None:
        acc, _ = run(*SIMPLE[:-1])
        assert not acc.completed
        assert acc.finish().choices[0].message.content == "Hi there"

    def test_no_finish_reason_is_incomplete_with_partials(self) -> None:
        acc, _ = run(
            json.dumps(LEADING),
            chunk({"content": "Hal"}),
            chunk({"tool_calls": [tool_piece(0, id="a", name="f", args='{"x')]}),
        )
        with pytest.raises(IncompleteStreamError) as caught:
            acc.finish()
        assert caught.value.partial_text == "Hal"
        assert [c.function.arguments for c in caught.value.partial_tool_calls] == ['{"x']

    def test_empty_body_is_incomplete(self) -> None:
        with pytest.raises(IncompleteStreamError) as caught:
            ChatCompletionAccumulator().finish()
        assert caught.value.partial_text == ""
        assert caught.value.partial_tool_calls == ()

    def test_only_leading_chunk_is_incomplete(self) -> None:
        acc, _ = run(json.dumps(LEADING))
        with pytest.raises(IncompleteStreamError):
            acc.finish()

    def test_done_without_finish_reason_completes(self) -> None:
        acc, _ = run(chunk({"content": "x"}), "[DONE]")
        result = acc.finish()
        assert result.choices[0].message.content == "x"
        assert result.choices[0].finish_reason is None


class TestServerErrors:
    def test_error_chunk_raises_with_partials(self) -> None:
        acc = ChatCompletionAccumulator()
        acc.feed(chunk({"content": "part"}))
        acc.feed(chunk({"tool_calls": [tool_piece(0, id="a", name="f", args="{")]}))
        with pytest.raises(StreamServerError) as caught:
            acc.feed('{"error":{"code":500,"message":"upstream error"}}')
        error = caught.value
        assert (str(error), error.code, error.partial_text) == ("upstream error", "500", "part")
        assert [c.id for c in error.partial_tool_calls] == ["a"]

    def test_string_error(self) -> None:
        with pytest.raises(StreamServerError) as caught:
            ChatCompletionAccumulator().feed('{"error": "boom"}')
        assert str(caught.value) == "boom"
        assert caught.value.code is None

    def test_error_without_message(self) -> None:
        with pytest.raises(StreamServerError) as caught:
            ChatCompletionAccumulator().feed('{"error": {}}')
        assert "error" in str(caught.value)

    def test_finish_reason_error_raises_with_that_chunks_text(self) -> None:
        acc = ChatCompletionAccumulator()
        acc.feed(chunk({"content": "a"}))
        with pytest.raises(StreamServerError) as caught:
            acc.feed(chunk({"content": "b"}, finish="error"))
        assert caught.value.partial_text == "ab"
