"""Reducer laws of the ``/chat/completions`` accumulator: however the server cuts text and
tool-call arguments into deltas, and however it interleaves parallel calls, the assembled reply
is the same."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from copilot_anyio._errors import IncompleteStreamError, StreamServerError
from copilot_anyio.ide._accumulate import ChatCompletionAccumulator
from copilot_anyio.ide._types import ChatCompletion, ChatCompletionChunk

_names = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
_arguments = st.dictionaries(
    st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=12), st.booleans()), max_size=4
).map(lambda d: json.dumps(d, ensure_ascii=False))
_calls = st.lists(st.tuples(_names, _arguments), min_size=1, max_size=4)


def _cuts(draw: Callable[[st.SearchStrategy[list[int]]], list[int]], text: str) -> list[str]:
    """``text`` cut at any positions (pieces may be empty)."""
    points = sorted(draw(st.lists(st.integers(0, len(text)), max_size=8)))
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def _event(delta: dict[str, Any], finish: str | None = None) -> str:
    choice: dict[str, Any] = {"index": 0, "delta": delta}
    if finish is not None:
        choice["finish_reason"] = finish
    return json.dumps({"choices": [choice], "id": "c", "created": 1})


@st.composite
def _streams(draw: st.DrawFn) -> tuple[list[tuple[str, str]], list[str]]:
    calls = draw(_calls)
    # Each call: a naming piece, then its arguments cut anywhere, as (call number, piece) steps.
    queues: list[list[dict[str, Any]]] = []
    for number, (name, arguments) in enumerate(calls):
        pieces = _cuts(draw, arguments)
        head = {
            "index": number,
            "id": f"call_{number}",
            "type": "function",
            "function": {"name": name, "arguments": pieces[0]},
        }
        queues.append(
            [head] + [{"index": number, "function": {"arguments": p}} for p in pieces[1:]]
        )
    # Interleave the calls in any order that keeps each call's own pieces in order.
    events = []
    while any(queues):
        live = [q for q in queues if q]
        queue = draw(st.sampled_from(live))
        batch = [queue.pop(0)]
        # Sometimes several calls' pieces share one chunk.
        joins = [draw(st.booleans()) for _ in live]
        batch.extend(
            other.pop(0)
            for other, join in zip(live, joins, strict=True)
            if join and other is not queue and other
        )
        events.append(_event({"tool_calls": batch}))
    events.append(_event({}, finish="tool_calls"))
    if draw(st.booleans()):
        events.append("[DONE]")
    return calls, events


@given(_streams())
def test_tool_call_deltas_split_anywhere_assemble_to_the_same_calls(
    case: tuple[list[tuple[str, str]], list[str]],
) -> None:
    calls, events = case
    acc = ChatCompletionAccumulator()
    for event in events:
        acc.feed(event)
    message = acc.finish().choices[0].message
    assert message.tool_calls is not None
    assembled = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls]
    assert assembled == [(f"call_{n}", name, args) for n, (name, args) in enumerate(calls)]
    assert [json.loads(c.function.arguments) for c in message.tool_calls] == [
        json.loads(args) for _, args in calls
    ]


@given(st.data(), st.text(max_size=200))
def test_text_split_anywhere_assembles_to_the_same_text(data: st.DataObject, text: str) -> None:
    pieces = _cuts(data.draw, text)
    acc = ChatCompletionAccumulator()
    for piece in pieces:
        acc.feed(_event({"content": piece}))
    acc.feed(_event({}, finish="stop"))
    assert acc.partial_text == text
    assert acc.finish().choices[0].message.content == text


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "choices",
                    "index",
                    "delta",
                    "content",
                    "tool_calls",
                    "function",
                    "arguments",
                    "id",
                    "name",
                    "finish_reason",
                    "usage",
                    "created",
                    "model",
                    "role",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
_payloads = st.one_of(st.text(max_size=30), _json.map(json.dumps))


@given(st.lists(_payloads, max_size=10))
def test_any_payload_gives_a_chunk_none_or_a_stream_error(payloads: list[str]) -> None:
    # Whatever the server sends, feed() returns a chunk or None, or raises StreamServerError
    # (an "error" key); finish() returns a result or raises IncompleteStreamError.
    acc = ChatCompletionAccumulator()
    for payload in payloads:
        try:
            out = acc.feed(payload)
        except StreamServerError:
            continue
        assert out is None or isinstance(out, ChatCompletionChunk)
    outcome: object
    try:
        outcome = acc.finish()
    except IncompleteStreamError as exc:
        outcome = exc
    assert isinstance(outcome, ChatCompletion | IncompleteStreamError)
