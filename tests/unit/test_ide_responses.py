"""Folding a ``/responses`` stream (protocol.md §4.4, §10.5): text, function calls, reasoning
summaries, usage and cost, failures before and after output."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import (
    IncompleteStreamError,
    StreamFailedBeforeOutputError,
    StreamServerError,
)
from copilot_anyio.ide._responses import ResponseAccumulator, decode_response_event
from copilot_anyio.ide._wire import parse_response

USAGE = {
    "input_tokens": 40,
    "output_tokens": 12,
    "total_tokens": 52,
    "input_tokens_details": {"cached_tokens": 32},
    "output_tokens_details": {"reasoning_tokens": 5},
}
COST = {
    "total_nano_aiu": 6390000,
    "token_details": [
        {"token_type": "input", "token_count": 157, "batch_size": 1000000, "cost_per_batch": 3e10}
    ],
}


def ev(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def shell(status: str = "in_progress", **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "status": status, "model": "gpt-5-codex", **extra}


def feed(acc: ResponseAccumulator, *events: str) -> list[Any]:
    return [acc.feed(e) for e in events]


TEXT_STREAM = [
    ev("response.created", response=shell()),
    ev("response.in_progress", response=shell()),
    ev(
        "response.output_item.added",
        output_index=0,
        item={"id": "msg_1", "type": "message", "role": "assistant", "content": []},
    ),
    ev("response.output_text.delta", item_id="msg_1", output_index=0, delta="Hel"),
    ev("response.output_text.delta", item_id="msg_1", output_index=0, delta="lo"),
    ev("response.output_text.done", item_id="msg_1", output_index=0, text="Hello"),
]


def test_text_stream_assembles_and_keeps_usage_and_cost() -> None:
    acc = ResponseAccumulator()
    events = feed(acc, *TEXT_STREAM)
    assert [e.type for e in events][:2] == ["response.created", "response.in_progress"]
    assert acc.completed is False
    assert acc.partial_text == "Hello"
    acc.feed(
        ev(
            "response.completed",
            response=shell("completed", output=[], usage=USAGE),
            copilot_usage=COST,
        )
    )
    assert bool(acc.completed)
    response = acc.finish()
    assert response.output_text == "Hello"
    assert response.output[0].role == "assistant"
    assert response.usage is not None
    assert response.usage.input_tokens_details is not None
    assert response.usage.input_tokens_details.cached_tokens == 32
    assert response.copilot_usage is not None
    assert response.copilot_usage.credits == pytest.approx(0.00639)
    assert acc.finish() is response


def test_completed_output_wins_over_the_pieces() -> None:
    acc = ResponseAccumulator()
    feed(acc, *TEXT_STREAM)
    final = {"id": "msg_1", "type": "message", "content": [{"type": "output_text", "text": "Hi!"}]}
    acc.feed(ev("response.completed", response=shell("completed", output=[final])))
    assert acc.finish().output_text == "Hi!"


def test_function_calls_assemble_arguments_in_output_order() -> None:
    acc = ResponseAccumulator()
    feed(
        acc,
        ev("response.created", response=shell()),
        ev(
            "response.output_item.added",
            output_index=1,
            item={"id": "fc_2", "type": "function_call", "call_id": "call_b", "name": "b"},
        ),
        ev(
            "response.output_item.added",
            output_index=0,
            item={"id": "fc_1", "type": "function_call", "call_id": "call_a", "name": "a"},
        ),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta='{"x"'),
        ev("response.function_call_arguments.delta", item_id="fc_2", output_index=1, delta="{}"),
        ev("response.function_call_arguments.delta", item_id="fc_1", output_index=0, delta=":1}"),
    )
    calls = acc.partial_tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_a", "a", '{"x":1}'),
        ("call_b", "b", "{}"),
    ]
    acc.feed(ev("response.completed", response=shell("completed")))
    output = acc.finish().output
    assert [(i.type, i.call_id, i.arguments) for i in output] == [
        ("function_call", "call_a", '{"x":1}'),
        ("function_call", "call_b", "{}"),
    ]


def test_reasoning_summaries_by_index_and_encrypted_content_kept() -> None:
    acc = ResponseAccumulator()
    feed(
        acc,
        ev("response.created", response=shell()),
        ev(
            "response.output_item.added",
            output_index=0,
            item={"id": "rs_1", "type": "reasoning", "summary": []},
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="Think",
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=1,
            delta="Second",
        ),
        ev(
            "response.reasoning_summary_text.delta",
            item_id="rs_1",
            output_index=0,
            summary_index=0,
            delta="ing",
        ),
        ev("response.completed", response=shell("completed")),
    )
    (item,) = acc.finish().output
    assert [s.text for s in item.summary or []] == ["Thinking", "Second"]
    done = ResponseAccumulator()
    feed(
        done,
        ev(
            "response.output_item.done",
            output_index=0,
            item={"id": "rs_1", "type": "reasoning", "encrypted_content": "opaque"},
        ),
        ev("response.completed", response=shell("completed")),
    )
    assert done.finish().output[0].encrypted_content == "opaque"


@pytest.mark.parametrize(
    "failure",
    [
        ev(
            "response.failed",
            response=shell(
                "failed",
                error={
                    "code": "server_error",
                    "message": "Encrypted function output content could not be decrypted or decoded",
                },
            ),
        ),
        ev("error", code="server_error", message="internal server error", param=None),
    ],
)
def test_failure_before_output_is_safe_to_resend(failure: str) -> None:
    acc = ResponseAccumulator()
    feed(
        acc, ev("response.created", response=shell()), ev("response.in_progress", response=shell())
    )
    assert not acc.output_started
    with pytest.raises(StreamFailedBeforeOutputError) as caught:
        acc.feed(failure)
    assert caught.value.code == "server_error"
    assert caught.value.partial_text == ""


def test_failure_after_output_carries_the_partials() -> None:
    acc = ResponseAccumulator()
    feed(acc, *TEXT_STREAM)
    assert acc.output_started
    with pytest.raises(StreamServerError) as caught:
        acc.feed(ev("error", code=500, message="boom"))
    assert type(caught.value) is StreamServerError
    assert (caught.value.partial_text, caught.value.code) == ("Hello", "500")


def test_body_ending_early_is_incomplete_and_done_marker_ends_it() -> None:
    acc = ResponseAccumulator()
    feed(acc, *TEXT_STREAM)
    with pytest.raises(IncompleteStreamError) as caught:
        acc.finish()
    assert caught.value.partial_text == "Hello"
    acc.feed("[DONE]")
    assert acc.completed
    assert acc.finish().output_text == "Hello"


def test_unknown_events_and_junk_pass_or_are_skipped() -> None:
    acc = ResponseAccumulator()
    event = acc.feed(ev("response.future_thing", output_index=3, novel={"a": 1}))
    assert event is not None
    assert event.type == "response.future_thing"
    assert acc.feed("ping") is None
    assert acc.skipped == 1
    odd = decode_response_event(
        '{"type":"response.output_text.delta","delta":"x","output_index":"0"}'
    )
    assert odd is not None
    assert odd.delta == "x"


def test_parse_non_streaming_response() -> None:
    body = json.dumps(
        shell(
            "completed",
            output=[
                {
                    "type": "reasoning",
                    "id": "rs",
                    "summary": [{"type": "summary_text", "text": "s"}],
                },
                {"type": "message", "id": "m", "content": [{"type": "output_text", "text": "A"}]},
                {
                    "type": "function_call",
                    "id": "f",
                    "call_id": "c",
                    "name": "n",
                    "arguments": "{}",
                },
                {"type": "web_search_call", "id": "w", "status": "completed"},
            ],
            usage=USAGE,
            copilot_usage=COST,
        )
    )
    response = parse_response(body)
    assert response.output_text == "A"
    assert [i.type for i in response.output] == [
        "reasoning",
        "message",
        "function_call",
        "web_search_call",
    ]
    assert response.copilot_usage is not None
