"""The emulator's own SSE framing and fault planning (pure; no event loop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from copilot_anyio.emulator import EmulatorConfig, Fault, reply_deltas, reply_for
from copilot_anyio.emulator._framing import (
    Event,
    StreamSpec,
    apply_fault,
    encode,
    encode_comment,
    rechunk,
)


def spec() -> StreamSpec:
    events = [
        Event("pre"),
        Event("c1", kind="content"),
        Event("c2", kind="content"),
        Event("c3", kind="content"),
        Event("fin", kind="finish"),
        Event("[DONE]", kind="done"),
    ]
    return StreamSpec(
        events=events,
        error_event=lambda message: Event(f"error:{message}"),
        finish_error=lambda: [Event("fin-error", kind="finish")],
        oversized_event=lambda size: Event("x" * size),
    )


def datas(events: list[Event]) -> list[str]:
    return [e.data for e in events]


class TestEncode:
    def test_blank_line_separator(self) -> None:
        assert encode(Event('{"a":1}'), "\n\n") == b'data: {"a":1}\n\n'

    def test_single_lf_separator(self) -> None:
        assert encode(Event("x"), "\n") == b"data: x\n"

    def test_crlf_separator(self) -> None:
        assert encode(Event("x"), "\r\n") == b"data: x\r\n\r\n"

    def test_event_line_keeps_a_blank_line_in_lf_mode(self) -> None:
        assert encode(Event("x", event="e"), "\n") == b"event: e\ndata: x\n\n"

    def test_event_line_crlf(self) -> None:
        assert encode(Event("x", event="e"), "\r\n") == b"event: e\r\ndata: x\r\n\r\n"

    def test_raw_is_verbatim(self) -> None:
        assert encode(Event("{half", raw=True), "\n\n") == b"{half"

    def test_utf8(self) -> None:
        assert encode(Event("é🚀"), "\n\n") == "data: é🚀\n\n".encode()

    @pytest.mark.parametrize(
        ("separator", "expected"),
        [("\n\n", b": ka\n\n"), ("\n", b": ka\n"), ("\r\n", b": ka\r\n\r\n")],
    )
    def test_comment(self, separator: str, expected: bytes) -> None:
        assert encode_comment("ka", separator) == expected


class TestRechunk:
    def test_none_is_one_write(self) -> None:
        assert list(rechunk(b"abcdef", None)) == [b"abcdef"]

    def test_cuts_inside_utf8(self) -> None:
        data = "é🚀".encode()
        pieces = list(rechunk(data, 1))
        assert len(pieces) == len(data) == 6
        assert b"".join(pieces) == data

    def test_uneven_tail(self) -> None:
        assert list(rechunk(b"abcde", 2)) == [b"ab", b"cd", b"e"]

    def test_empty(self) -> None:
        assert list(rechunk(b"", 3)) == []


class TestApplyFault:
    def test_no_fault(self) -> None:
        plan = apply_fault(spec(), None)
        assert datas(plan.events) == ["pre", "c1", "c2", "c3", "fin", "[DONE]"]
        assert plan.ending == "close"

    def test_status_fault_leaves_body_alone(self) -> None:
        assert apply_fault(spec(), Fault.rate_limited()).ending == "close"

    @pytest.mark.parametrize(
        ("after", "expected"),
        [(0, ["pre"]), (2, ["pre", "c1", "c2"]), (9, ["pre", "c1", "c2", "c3"])],
    )
    def test_drop(self, after: int, expected: list[str]) -> None:
        plan = apply_fault(spec(), Fault.drop(after_chunks=after))
        assert datas(plan.events) == expected
        assert plan.ending == "drop"

    def test_stall_keepalive(self) -> None:
        plan = apply_fault(spec(), Fault.stall(after_chunks=1, keepalive=2.5))
        assert datas(plan.events) == ["pre", "c1"]
        assert (plan.ending, plan.keepalive) == ("stall", 2.5)

    def test_truncate_drops_only_the_terminal(self) -> None:
        plan = apply_fault(spec(), Fault.truncate())
        assert datas(plan.events) == ["pre", "c1", "c2", "c3", "fin"]
        assert plan.ending == "close"

    def test_truncate_after(self) -> None:
        assert datas(apply_fault(spec(), Fault.truncate(after_chunks=1)).events) == ["pre", "c1"]

    def test_finish_error(self) -> None:
        plan = apply_fault(spec(), Fault.finish_error())
        assert datas(plan.events) == ["pre", "c1", "c2", "c3", "fin-error"]

    def test_midstream_error(self) -> None:
        plan = apply_fault(spec(), Fault.midstream_error(after_chunks=2, message="m"))
        assert datas(plan.events) == ["pre", "c1", "c2", "error:m"]

    def test_malformed_json_carries_on(self) -> None:
        plan = apply_fault(spec(), Fault.malformed_json(after_chunks=1))
        assert datas(plan.events) == ["pre", "c1", "{not json", "c2", "c3", "fin", "[DONE]"]

    def test_oversized(self) -> None:
        plan = apply_fault(spec(), Fault.oversized_event(size=10, after_chunks=3))
        assert datas(plan.events)[4] == "x" * 10
        assert len(plan.events) == 7

    def test_trickle(self) -> None:
        plan = apply_fault(spec(), Fault.trickle())
        assert plan.chunk_size == 1
        assert len(plan.events) == 6

    def test_json_bodies_ignore_sse_only_faults(self) -> None:
        json_spec = spec()
        json_spec.sse = False
        assert len(apply_fault(json_spec, Fault.midstream_error()).events) == 6


class TestFaultConstructors:
    def test_kinds(self) -> None:
        assert Fault.rate_limited().is_status
        assert Fault.delay(1).kind == "delay"
        assert not Fault.delay(1).is_status
        assert not Fault.delay(1).is_stream
        assert Fault.stall().is_stream

    def test_rate_limited_headers(self) -> None:
        fault = Fault.rate_limited("Wed, 21 Oct 2026 07:28:00 GMT", code="user_global_rate_limited")
        assert dict(fault.headers)["retry-after"] == "Wed, 21 Oct 2026 07:28:00 GMT"
        assert '"code":"user_global_rate_limited"' in fault.body
        assert fault.body.endswith("\n")
        assert fault.status_code == 429

    def test_faults_are_values(self) -> None:
        assert Fault.drop(2) == Fault.drop(after_chunks=2)
        assert Fault.drop(2) != Fault.drop(3)


class TestReplies:
    @pytest.mark.parametrize("prompt", ["", "hi", "Explain SSE in one sentence.", "é" * 50])
    def test_deltas_join_to_reply(self, prompt: str) -> None:
        pieces = reply_deltas(prompt, turn=3)
        assert "".join(pieces) == reply_for(prompt, turn=3)
        assert all(3 <= len(p) <= 8 for p in pieces[:-1])
        assert 1 <= len(pieces[-1]) <= 8

    def test_turns_differ_and_are_deterministic(self) -> None:
        assert reply_for("q", turn=1) != reply_for("q", turn=2)
        assert reply_for("q", turn=2) == reply_for("q", turn=2)

    def test_has_multibyte_text_and_a_few_dozen_words(self) -> None:
        text = reply_for("q")
        assert any(ord(ch) > 0xFFFF for ch in text)  # a four-byte UTF-8 character
        assert any(0x7F < ord(ch) <= 0x7FF for ch in text)  # a two-byte one
        assert 20 <= len(text.split()) <= 80


class TestValidation:
    @pytest.mark.parametrize(
        "build",
        [
            lambda: Fault.stall(-1),
            lambda: Fault.stall(keepalive=0),
            lambda: Fault.drop(-2),
            lambda: Fault.delay(-1),
            lambda: Fault.oversized_event(-5),
        ],
    )
    def test_bad_faults(self, build: Callable[[], Fault]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 - the message is not the point
            build()

    @pytest.mark.parametrize(
        "options",
        [
            {"line_separator": "\r"},
            {"chunk_size": 0},
            {"pacing": -0.1},
            {"usage_placement": "middle"},
        ],
    )
    def test_bad_configs(self, options: dict[str, Any]) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 - the message is not the point
            EmulatorConfig(**options)
