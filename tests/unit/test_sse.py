"""Table tests for the SSE decoder and encoder, one WHATWG rule per test.

Every stream given to :func:`assert_decodes` is decoded whole, one byte at a time, and split
into two chunks at every position (inside CRLF pairs, inside UTF-8 sequences, inside the BOM),
and again with an unterminated tail appended, which the end of the stream must discard.
Rules quoted in comments come from the HTML Living Standard, "Server-sent events".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import pytest

from copilot_anyio import (
    DEFAULT_MAX_EVENT_SIZE,
    EventTooLarge,
    RemoteProtocolError,
    ServerSentEvent,
    SSEDecoder,
    UsageError,
    _sse,
    encode_comment,
    encode_event,
)

# Tails without a blank line: whatever they hold must never come out of the decoder.
GARBAGE = (
    b"data: never terminated",
    b"event: cut\ndata: half an event\n",
    b"data: \xe2\x82",
)

_UNSET = object()


def ev(
    data: str, event: str = "message", id: str = "", retry: int | None = None
) -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data, id=id, retry=retry)


def chunkings(stream: bytes) -> Iterator[tuple[str, list[bytes]]]:
    """The stream whole, byte by byte, and cut in two at every position."""
    yield "whole", [stream]
    yield "bytewise", [stream[i : i + 1] for i in range(len(stream))]
    for i in range(len(stream) + 1):
        yield f"split at {i}", [stream[:i], stream[i:]]


def decode(
    chunks: Sequence[bytes], max_event_size: int | None = None
) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder() if max_event_size is None else SSEDecoder(max_event_size=max_event_size)
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    # Every event whose blank line arrived has been returned by feed() already; the end of
    # the stream can only discard.
    assert decoder.feed_eof() == []
    return events, decoder


def assert_decodes(
    stream: bytes,
    expected: list[ServerSentEvent],
    *,
    last_event_id: str | None = None,
    reconnection_time: object = _UNSET,
    garbage: bool = True,
    max_event_size: int | None = None,
) -> None:
    """Decode ``stream`` under every chunking (and with every garbage tail) and compare."""
    tails = (b"", *GARBAGE) if garbage else (b"",)
    for tail in tails:
        for label, chunks in chunkings(stream + tail):
            where = f"{label}, tail {tail!r}"
            events, decoder = decode(chunks, max_event_size)
            assert events == expected, where
            if last_event_id is not None:
                assert decoder.last_event_id == last_event_id, where
            if reconnection_time is not _UNSET:
                assert decoder.reconnection_time == reconnection_time, where


def assert_too_large(stream: bytes, limit: int) -> None:
    """Every chunking of ``stream`` raises EventTooLarge from ``feed`` (no EOF needed)."""
    for label, chunks in chunkings(stream):
        decoder = SSEDecoder(max_event_size=limit)
        with pytest.raises(EventTooLarge) as info:
            for chunk in chunks:
                decoder.feed(chunk)
        assert info.value.limit == limit, label


class TestServerSentEvent:
    def test_defaults(self) -> None:
        assert ServerSentEvent() == ServerSentEvent(event="message", data="", id="", retry=None)

    def test_frozen(self) -> None:
        event = ev("x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.data = "y"  # type: ignore[misc]

    def test_slotted(self) -> None:
        assert not hasattr(ev("x"), "__dict__")


class TestLineEndings:
    @pytest.mark.parametrize("nl", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
    def test_each_line_ending(self, nl: str) -> None:
        stream = f"data: a{nl}data: b{nl}{nl}data: c{nl}{nl}".encode()
        assert_decodes(stream, [ev("a\nb"), ev("c")])

    def test_mixed_line_endings_in_one_stream(self) -> None:
        assert_decodes(b"data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r", [ev("a\nb\nc"), ev("d")])

    def test_crlf_split_across_chunks_counts_once(self) -> None:
        # A LF right after a CR belongs to it, even in the next chunk: one line, not two.
        assert_decodes(b"data: a\r\ndata: b\r\n\r\n", [ev("a\nb")])

    def test_crlf_split_after_data_line_is_not_a_blank_line(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\r") == []
        assert decoder.feed(b"\ndata: b\r") == []
        assert decoder.feed(b"\n") == []
        assert decoder.feed(b"\r") == [ev("a\nb")]
        assert decoder.feed(b"\n") == []
        assert decoder.feed_eof() == []

    def test_cr_cr_dispatches_immediately(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\r\r") == [ev("a")]
        # The LF pairs with the second CR: no extra line, and decoding carries on normally.
        assert decoder.feed(b"\n") == []
        assert decoder.feed(b"data: b\n") == []
        assert decoder.feed(b"\n") == [ev("b")]
        assert decoder.feed_eof() == []

    def test_lf_cr_dispatches_immediately(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n\r") == [ev("a")]
        assert decoder.feed(b"\n") == []
        assert decoder.feed(b"data: b\r") == []
        assert decoder.feed(b"\ndata: c\n\n") == [ev("b\nc")]
        assert decoder.feed_eof() == []

    def test_event_dispatched_as_soon_as_blank_line_completes(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\n") == []
        assert decoder.feed(b"\n") == [ev("a")]
        assert decoder.feed(b"data: b\r\n") == []
        assert decoder.feed(b"\r") == [ev("b")]

    def test_several_events_from_one_chunk(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4") == [
            ev("1"),
            ev("2"),
            ev("3"),
        ]

    def test_extra_blank_lines_dispatch_nothing(self) -> None:
        assert_decodes(b"\n\r\n\r\ndata: a\n\n\n\n\r\r", [ev("a")])

    @pytest.mark.parametrize(
        "sep",
        ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"],
        ids=["U+2028", "U+2029", "U+0085", "VT", "FF", "FS", "GS", "RS"],
    )
    def test_other_separators_do_not_split_lines(self, sep: str) -> None:
        # str.splitlines() would split at every one of these; SSE splits at CR and LF only.
        assert_decodes(f"data: a{sep}b\nid: x{sep}y\n\n".encode(), [ev(f"a{sep}b", id=f"x{sep}y")])


class TestUtf8:
    def test_multibyte_characters_split_across_chunks(self) -> None:
        assert_decodes("data: é€😀\n\nevent: ü\ndata: ß\n\n".encode(), [ev("é€😀"), ev("ß", "ü")])

    def test_invalid_bytes_become_replacement_characters(self) -> None:
        stream = b"data: a\xffb\xc3(\xe2\x82\n\n"
        expected = "a\ufffdb\ufffd(\ufffd"
        assert stream[6:-2].decode("utf-8", "replace") == expected
        assert_decodes(stream, [ev(expected)])

    def test_encoded_surrogate_and_overlong_forms(self) -> None:
        # One U+FFFD per byte that cannot start or continue a valid sequence.
        assert_decodes(
            b"data: \xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80\n\n",
            [ev("\ufffd\ufffd\ufffd|\ufffd\ufffd|\ufffd\ufffd\ufffd\ufffd")],
        )

    def test_truncated_sequence_then_ascii(self) -> None:
        assert_decodes(b"data: \xf0\x90A\n\n", [ev("\ufffdA")])

    def test_truncated_sequence_before_line_end(self) -> None:
        assert_decodes(b"data: x\xe2\x82\r\n\r\n", [ev("x\ufffd")])

    def test_invalid_byte_in_field_name_makes_it_unknown(self) -> None:
        assert_decodes(b"dat\xffa: x\n\ndata: y\n\n", [ev("y")])

    def test_truncated_sequence_at_eof_is_discarded_quietly(self) -> None:
        assert_decodes(b"data: a\n\n\xe2\x82", [ev("a")])

    def test_nul_in_data_is_kept(self) -> None:
        assert_decodes(b"data: a\x00b\n\n", [ev("a\x00b")])


class TestBom:
    def test_leading_bom_stripped(self) -> None:
        # Were it kept, the first field name would be "\ufeffdata" and nothing would dispatch.
        assert_decodes(b"\xef\xbb\xbfdata: a\n\n", [ev("a")])

    def test_only_one_leading_bom_stripped(self) -> None:
        assert_decodes(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n", [ev("b")])

    def test_bom_in_a_value_is_kept(self) -> None:
        assert_decodes(b"\xef\xbb\xbfdata: \xef\xbb\xbfa\n\n", [ev("\ufeffa")])

    def test_bom_not_at_stream_start_is_kept(self) -> None:
        assert_decodes(b"data: a\n\n\xef\xbb\xbfdata: b\n\ndata: c\n\n", [ev("a"), ev("c")])

    def test_bom_after_a_blank_first_line_is_kept(self) -> None:
        assert_decodes(b"\n\xef\xbb\xbfdata: a\n\ndata: b\n\n", [ev("b")])

    def test_bom_after_empty_chunks_still_leads(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"") == []
        assert decoder.feed(b"\xef") == []
        assert decoder.feed(b"") == []
        assert decoder.feed(b"\xbb") == []
        assert decoder.feed(b"\xbfdata: a\n\n") == [ev("a")]

    def test_truncated_bom_is_not_a_bom(self) -> None:
        assert_decodes(b"\xef\xbbdata: a\n\ndata: b\n\n", [ev("b")])


class TestFieldParsing:
    def test_comment_lines_ignored(self) -> None:
        assert_decodes(b": hello\ndata: a\n:\n:data: b\n\n", [ev("a")])

    def test_comment_only_block_dispatches_nothing(self) -> None:
        assert_decodes(b": keep-alive\n\n:\r\n\r\n", [])

    def test_data_without_colon_is_an_empty_data_line(self) -> None:
        # The data buffer becomes "\n": not empty, so the event fires, with the LF removed.
        assert_decodes(b"data\n\n", [ev("")])

    def test_data_with_colon_and_nothing_after(self) -> None:
        assert_decodes(b"data:\n\n", [ev("")])

    def test_data_with_only_a_space(self) -> None:
        assert_decodes(b"data: \n\n", [ev("")])

    def test_exactly_one_leading_space_stripped(self) -> None:
        assert_decodes(b"data:  x\n\ndata:x\n\ndata:\tx\n\n", [ev(" x"), ev("x"), ev("\tx")])

    def test_trailing_space_kept(self) -> None:
        assert_decodes(b"data: x \n\n", [ev("x ")])

    def test_only_first_colon_separates(self) -> None:
        assert_decodes(b"data: a:b: c\n\n", [ev("a:b: c")])

    def test_data_lines_joined_with_lf(self) -> None:
        assert_decodes(b"data: a\ndata:\ndata: b\n\n", [ev("a\n\nb")])

    def test_only_the_last_lf_is_removed(self) -> None:
        assert_decodes(b"data: a\ndata\n\n", [ev("a\n")])

    def test_field_names_are_case_sensitive(self) -> None:
        assert_decodes(b"Data: x\n\nDATA: y\nEvent: e\ndata: z\n\n", [ev("z")])

    def test_field_name_with_surrounding_space_is_unknown(self) -> None:
        assert_decodes(b"data : x\n\n data: y\n\ndata: z\n\n", [ev("z")])

    def test_field_name_with_leading_space_after_extra_blank_lines(self) -> None:
        assert_decodes(b"data: a\n\n\n data: b\n\n\r\n\tdata: c\n\ndata: d\n\n", [ev("a"), ev("d")])

    def test_unknown_fields_ignored(self) -> None:
        assert_decodes(b"foo: bar\ndata: x\nbaz\nretryx: 5\n\n", [ev("x")], reconnection_time=None)


class TestEventField:
    def test_event_type(self) -> None:
        assert_decodes(b"event: add\ndata: 1\n\n", [ev("1", "add")])

    def test_no_event_field_means_message(self) -> None:
        assert_decodes(b"data: 1\n\n", [ev("1", "message")])

    def test_empty_event_field_means_message(self) -> None:
        assert_decodes(
            b"event:\ndata: 1\n\nevent\ndata: 2\n\nevent: \ndata: 3\n\n",
            [ev("1"), ev("2"), ev("3")],
        )

    def test_last_event_field_wins(self) -> None:
        assert_decodes(b"event: a\nevent: b\ndata: x\n\n", [ev("x", "b")])

    def test_event_field_may_come_after_data(self) -> None:
        assert_decodes(b"data: x\nevent: late\n\n", [ev("x", "late")])

    def test_event_value_keeps_second_space(self) -> None:
        assert_decodes(b"event:  a\ndata: x\n\n", [ev("x", " a")])

    def test_event_type_reset_after_dispatch(self) -> None:
        assert_decodes(b"event: add\ndata: 1\n\ndata: 2\n\n", [ev("1", "add"), ev("2")])

    def test_event_type_reset_after_block_without_data(self) -> None:
        assert_decodes(b"event: add\n\ndata: 2\n\n", [ev("2")])

    def test_event_without_data_is_not_dispatched(self) -> None:
        assert_decodes(b"event: ping\n\n", [])

    def test_invalid_utf8_type_is_replaced_the_same_every_time(self) -> None:
        # Fast path 2 remembers types by their raw line; the remembered text must be what the
        # general path gives.
        stream = b"event: \xffa\xe2\x82\ndata: 1\n\n" * 3
        assert_decodes(stream, [ev("1", "\ufffda\ufffd")] * 3)

    def test_many_distinct_types(self) -> None:
        # More types than the decoder remembers: the ones it cannot remember decode the same.
        stream = b"".join(b"event: t%d\ndata: %d\n\n" % (i, i) for i in range(1500))
        expected = [ev(str(i), f"t{i}") for i in range(1500)]
        for size in (1, 7, 64, 1024, len(stream)):
            chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
            assert decode(chunks)[0] == expected
        assert len(_sse._EVENT_TYPES) <= _sse._EVENT_TYPES_MAX


class TestIdField:
    def test_id_set(self) -> None:
        assert_decodes(b"id: 1\ndata: a\n\n", [ev("a", id="1")], last_event_id="1")

    def test_id_after_data_in_same_block(self) -> None:
        assert_decodes(b"data: a\nid: 5\n\n", [ev("a", id="5")], last_event_id="5")

    def test_id_persists_across_events(self) -> None:
        assert_decodes(
            b"id: 1\ndata: a\n\ndata: b\n\n", [ev("a", id="1"), ev("b", id="1")], last_event_id="1"
        )

    def test_id_of_block_without_data_still_counts(self) -> None:
        # Dispatch step 1 sets the last event ID string before the empty-data check.
        assert_decodes(b"id: 7\n\ndata: a\n\n", [ev("a", id="7")], last_event_id="7")

    def test_id_of_block_without_data_visible_on_property(self) -> None:
        decoder = SSEDecoder()
        assert decoder.last_event_id == ""
        assert decoder.feed(b"data: a\nid: 1\n\n") == [ev("a", id="1")]
        assert decoder.feed(b"id: 2\n\n") == []
        assert decoder.last_event_id == "2"
        assert decoder.feed(b"data: b\n\n") == [ev("b", id="2")]

    def test_empty_id_resets(self) -> None:
        assert_decodes(
            b"id: 1\ndata: a\n\nid:\ndata: b\n\nid: 3\n\nid\ndata: c\n\n",
            [ev("a", id="1"), ev("b", id=""), ev("c", id="")],
            last_event_id="",
        )

    def test_id_with_nul_ignored(self) -> None:
        assert_decodes(
            b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",
            [ev("a", id="1"), ev("b", id="1")],
            last_event_id="1",
        )

    def test_id_value_kept_verbatim(self) -> None:
        assert_decodes(b"id:  a b \ndata: x\n\n", [ev("x", id=" a b ")], last_event_id=" a b ")

    def test_id_in_cut_off_block_does_not_count(self) -> None:
        # The last event ID string changes only on dispatch; EOF discards the pending block.
        assert_decodes(b"id: 1\ndata: a\n\nid: 2\ndata: b\n", [ev("a", id="1")], last_event_id="1")


class TestRetryField:
    def test_retry_valid(self) -> None:
        assert_decodes(b"retry: 1500\ndata: x\n\n", [ev("x", retry=1500)], reconnection_time=1500)

    def test_retry_zero_and_leading_zeros(self) -> None:
        assert_decodes(
            b"retry: 0\ndata: a\n\nretry: 007\ndata: b\n\n",
            [ev("a", retry=0), ev("b", retry=7)],
            reconnection_time=7,
        )

    def test_retry_large_value(self) -> None:
        assert_decodes(
            b"retry: 123456789012345678901234567890\ndata: a\n\n",
            [ev("a", retry=123456789012345678901234567890)],
            reconnection_time=123456789012345678901234567890,
        )

    @pytest.mark.parametrize(
        "value",
        [
            *(b"1.5", b" 10", b"-1", b"+10", b"", b"10a", b"1e3", b"0x10", b"10 ", b"1_000"),
            *("１２".encode(), "١٢".encode(), "²".encode()),
        ],
        ids=repr,
    )
    def test_retry_invalid_ignored(self, value: bytes) -> None:
        # "retry: " + value: one space is stripped, so b" 10" leaves " 10", which is invalid.
        assert_decodes(b"retry: " + value + b"\ndata: x\n\n", [ev("x")], reconnection_time=None)

    def test_retry_with_too_many_digits_for_int_is_ignored_quietly(self) -> None:
        # Python refuses int() on more than sys.get_int_max_str_digits() digits; the decoder
        # must neither raise nor invent a value.
        stream = b"retry: 5\ndata: a\n\nretry: " + b"9" * 5000 + b"\ndata: b\n\n"
        assert_decodes(stream, [ev("a", retry=5), ev("b")], reconnection_time=5, garbage=False)

    def test_retry_leading_zeros_do_not_count_as_digits(self) -> None:
        stream = b"retry: " + b"0" * 5000 + b"42\ndata: a\n\n"
        events, decoder = decode([stream])
        assert events == [ev("a", retry=42)]
        assert decoder.reconnection_time == 42

    def test_retry_without_colon_ignored(self) -> None:
        assert_decodes(b"retry\ndata: x\n\n", [ev("x")], reconnection_time=None)

    def test_invalid_retry_keeps_previous(self) -> None:
        assert_decodes(
            b"retry: 10\nretry: bad\ndata: a\n\n", [ev("a", retry=10)], reconnection_time=10
        )

    def test_last_valid_retry_in_block_wins(self) -> None:
        assert_decodes(
            b"retry: 10\nretry: 20\ndata: a\n\n", [ev("a", retry=20)], reconnection_time=20
        )

    def test_retry_belongs_to_its_own_block(self) -> None:
        assert_decodes(
            b"retry: 10\ndata: a\n\ndata: b\n\n",
            [ev("a", retry=10), ev("b")],
            reconnection_time=10,
        )

    def test_retry_in_block_without_data(self) -> None:
        # Not dispatched, and not carried into the next event, but the stream's value changes.
        assert_decodes(b"retry: 10\n\ndata: a\n\n", [ev("a")], reconnection_time=10)

    def test_retry_in_cut_off_block_still_sets_reconnection_time(self) -> None:
        # The field takes effect when its line is processed, dispatch or not.
        assert_decodes(
            b"data: a\n\nretry: 30\ndata: b\n", [ev("a")], reconnection_time=30, garbage=False
        )

    def test_reconnection_time_starts_unset(self) -> None:
        assert SSEDecoder().reconnection_time is None


class TestEndOfStream:
    def test_unterminated_final_event_discarded(self) -> None:
        assert_decodes(b"data: a\n\ndata: b\n", [ev("a")])

    def test_unterminated_final_line_discarded(self) -> None:
        assert_decodes(b"data: a\n\ndata: b", [ev("a")])

    def test_empty_stream(self) -> None:
        assert_decodes(b"", [], last_event_id="", reconnection_time=None)

    def test_feed_eof_returns_no_events_for_pending_block(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"data: a\ndata: b\r\n") == []
        assert decoder.feed_eof() == []

    def test_empty_chunks_are_no_ops(self) -> None:
        decoder = SSEDecoder()
        assert decoder.feed(b"") == []
        assert decoder.feed(b"data: a\r") == []
        assert decoder.feed(b"") == []
        assert decoder.feed(b"\n") == []
        assert decoder.feed(b"") == []
        assert decoder.feed(b"\r\n") == [ev("a")]

    def test_feed_after_feed_eof_raises(self) -> None:
        decoder = SSEDecoder()
        decoder.feed(b"data: a\n\n")
        decoder.feed_eof()
        with pytest.raises(UsageError):
            decoder.feed(b"data: b\n\n")

    def test_feed_of_nothing_after_feed_eof_raises(self) -> None:
        decoder = SSEDecoder()
        decoder.feed_eof()
        with pytest.raises(UsageError):
            decoder.feed(b"")


class TestMaxEventSize:
    LIMIT = 1024

    def test_default_limit_is_one_mebibyte(self) -> None:
        assert DEFAULT_MAX_EVENT_SIZE == 1024 * 1024

    def test_default_limit_applies(self) -> None:
        decoder = SSEDecoder()
        with pytest.raises(EventTooLarge) as info:
            decoder.feed(b"data: " + b"x" * (DEFAULT_MAX_EVENT_SIZE + 1) + b"\n\n")
        assert info.value.limit == DEFAULT_MAX_EVENT_SIZE

    def test_event_too_large_is_a_remote_protocol_error(self) -> None:
        assert issubclass(EventTooLarge, RemoteProtocolError)

    def test_one_long_data_line(self) -> None:
        assert_too_large(b"data: " + b"x" * (2 * self.LIMIT) + b"\n\n", self.LIMIT)

    def test_never_terminated_line(self) -> None:
        # No line ending ever arrives: the buffer must not grow without bound.
        assert_too_large(b"data: " + b"x" * (2 * self.LIMIT), self.LIMIT)

    def test_many_short_data_lines_in_one_event(self) -> None:
        assert_too_large(b"data: 0123456789abcdef\n" * 128 + b"\n", self.LIMIT)

    def test_multibyte_data(self) -> None:
        assert_too_large(("data: " + "€" * self.LIMIT + "\n\n").encode(), self.LIMIT)

    def test_event_well_under_limit_passes(self) -> None:
        payload = "x" * (self.LIMIT // 2)
        assert_decodes(f"data: {payload}\n\n".encode(), [ev(payload)], max_event_size=self.LIMIT)

    def test_event_just_under_limit_passes(self) -> None:
        # A data payload 64 bytes short of the limit: field names and line endings fit.
        payload = "y" * (self.LIMIT - 64)
        stream = f"event: e\ndata: {payload}\n\n".encode()
        assert_decodes(stream, [ev(payload, "e")], max_event_size=self.LIMIT, garbage=False)

    def test_limit_counts_the_event_with_its_blank_line(self) -> None:
        # As documented: the bytes from the previous blank line through this event's blank
        # line, line endings normalised (so CRLF counts as one byte).
        for nl in ("\n", "\r", "\r\n"):
            stream = f"data: abc{nl}{nl}".encode()
            assert_decodes(stream, [ev("abc")], max_event_size=11, garbage=False)
            assert_too_large(stream, 10)

    def test_decoder_unusable_after_event_too_large(self) -> None:
        decoder = SSEDecoder(max_event_size=16)
        with pytest.raises(EventTooLarge):
            decoder.feed(b"data: " + b"x" * 32)
        with pytest.raises(UsageError):
            decoder.feed(b"\n\n")

    @pytest.mark.parametrize("limit", [0, -1])
    def test_limit_must_be_positive(self, limit: int) -> None:
        with pytest.raises(ValueError, match="max_event_size"):
            SSEDecoder(max_event_size=limit)

    def test_limit_is_per_event(self) -> None:
        payload = "z" * (self.LIMIT // 4)
        stream = f"data: {payload}\n\n".encode() * 40
        events, _ = decode([stream], max_event_size=self.LIMIT)
        assert events == [ev(payload)] * 40
        events, _ = decode([stream[i : i + 7] for i in range(0, len(stream), 7)], self.LIMIT)
        assert events == [ev(payload)] * 40

    def test_limit_does_not_accumulate_over_comments_and_empty_blocks(self) -> None:
        stream = (b": " + b"c" * 100 + b"\n\nid: 1\n\n") * 40 + b"data: ok\n\n"
        events, _ = decode([stream], max_event_size=self.LIMIT)
        assert events == [ev("ok", id="1")]


class TestCopilotFixtures:
    def test_web_thread_stream(self) -> None:
        complete = (
            '{"type":"complete","id":"11111111-1111-4111-8111-111111111111",'
            '"parentMessageID":"22222222-2222-4222-8222-222222222222","model":"",'
            '"turnId":"","createdAt":"2025-06-01T12:00:00.123456789Z","references":[],'
            '"role":"assistant","intent":"conversation",'
            '"copilotAnnotations":{"CodeVulnerability":[],"PublicCodeReference":[]}}'
        )
        stream = (
            'data: {"type":"content","body":"Hel"}\n\n'
            'data: {"type":"content","body":"lo!"}\n\n'
            f"data: {complete}\n\n"
        ).encode()
        assert_decodes(
            stream,
            [
                ev('{"type":"content","body":"Hel"}'),
                ev('{"type":"content","body":"lo!"}'),
                ev(complete),
            ],
        )

    def test_chat_completions_stream_with_done(self) -> None:
        chunks = [
            (
                '{"choices":[],"created":0,"id":"","prompt_filter_results":'
                '[{"prompt_index":0,"content_filter_results":{}}]}'
            ),
            (
                '{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi! ✓ 😀"}}],'
                '"created":1750000000,"id":"c1"}'
            ),
            (
                '{"choices":[{"index":0,"delta":{"content":null},"finish_reason":"stop"}],'
                '"created":1750000000,"id":"c1","usage":{"prompt_tokens":9,"completion_tokens":2,'
                '"total_tokens":11}}'
            ),
            "[DONE]",
        ]
        stream = "".join(f"data: {c}\r\n\r\n" for c in chunks).encode()
        assert_decodes(stream, [ev(c) for c in chunks])

    def test_chat_completions_tool_call_stream(self) -> None:
        chunks = [
            (
                '{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,'
                '"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}}],'
                '"created":1750000000,"id":"c2","model":"gpt-4o"}'
            ),
            (
                '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
                '{"arguments":"{\\"city\\":\\"Oslo\\"}"}}]}}],"created":1750000000,"id":"c2",'
                '"model":"gpt-4o"}'
            ),
        ]
        stream = "".join(f"data:{c}\n\n" for c in chunks).encode()
        assert_decodes(stream, [ev(c) for c in chunks])

    def test_responses_stream_with_event_lines(self) -> None:
        delta = (
            '{"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"delta":"Hi"}'
        )
        done = '{"type":"response.completed","response":{"id":"resp_1","status":"completed"}}'
        stream = (
            f"event: response.output_text.delta\ndata: {delta}\n\n"
            ": keep-alive\n\n"
            f"event: response.completed\ndata: {done}\n\n"
        ).encode()
        assert_decodes(
            stream,
            [ev(delta, "response.output_text.delta"), ev(done, "response.completed")],
        )


class TestEncodeEvent:
    def test_plain_data(self) -> None:
        assert encode_event("hi") == b"data: hi\n\n"

    def test_all_fields_round_trip(self) -> None:
        raw = encode_event("hi", event="update", id="42", retry=3000)
        assert raw.endswith(b"\n\n")
        assert decode([raw])[0] == [ev("hi", "update", "42", 3000)]

    def test_empty_data_still_dispatches(self) -> None:
        assert decode([encode_event("")])[0] == [ev("")]

    def test_multiline_data_becomes_several_data_lines(self) -> None:
        raw = encode_event("a\nb\n")
        assert raw.count(b"data:") == 3
        assert decode([raw])[0] == [ev("a\nb\n")]

    @pytest.mark.parametrize("data", ["a\r\nb", "a\rb", "a\nb"], ids=["CRLF", "CR", "LF"])
    def test_any_newline_in_data_splits(self, data: str) -> None:
        assert decode([encode_event(data)])[0] == [ev("a\nb")]

    def test_leading_space_in_values_survives(self) -> None:
        raw = encode_event(" x", event=" e", id=" i")
        assert decode([raw])[0] == [ev(" x", " e", " i")]

    @pytest.mark.parametrize("nl", ["\n", "\r", "\r\n"], ids=["LF", "CR", "CRLF"])
    def test_line_endings(self, nl: str) -> None:
        raw = encode_event("a\nb", event="e", id="1", retry=5, line_ending=nl)
        assert raw.endswith((nl + nl).encode())
        # Every line ends with the requested ending and no other.
        other = raw.replace(nl.encode(), b"")
        assert b"\r" not in other
        assert b"\n" not in other
        assert decode([raw])[0] == [ev("a\nb", "e", "1", 5)]

    @pytest.mark.parametrize("bad", ["a\nb", "a\rb", "\r\n"])
    def test_newline_in_event_rejected(self, bad: str) -> None:
        with pytest.raises(ValueError, match=r"event"):
            encode_event("x", event=bad)

    @pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
    def test_newline_or_nul_in_id_rejected(self, bad: str) -> None:
        with pytest.raises(ValueError, match=r"id"):
            encode_event("x", id=bad)

    def test_negative_retry_rejected(self) -> None:
        with pytest.raises(ValueError, match="retry"):
            encode_event("x", retry=-1)

    @pytest.mark.parametrize("nl", ["", "\n\n", "\r\r", "\u2028", " "])
    def test_unknown_line_ending_rejected(self, nl: str) -> None:
        with pytest.raises(ValueError, match="line_ending"):
            encode_event("x", line_ending=nl)
        with pytest.raises(ValueError, match="line_ending"):
            encode_comment("x", line_ending=nl)


class TestEncodeComment:
    def test_comment_text(self) -> None:
        assert encode_comment("keep-alive") == b": keep-alive\n"

    def test_comment_line_ending(self) -> None:
        assert encode_comment("ping", line_ending="\r\n") == b": ping\r\n"

    def test_empty_comment_is_one_comment_line(self) -> None:
        raw = encode_comment()
        assert raw.startswith(b":")
        assert raw.endswith(b"\n")
        assert raw.count(b"\n") == 1

    @pytest.mark.parametrize("bad", ["a\nb", "a\rb", "\r\n"])
    def test_newline_in_comment_rejected(self, bad: str) -> None:
        with pytest.raises(ValueError, match="comment"):
            encode_comment(bad)

    def test_comments_decode_to_nothing(self) -> None:
        raw = encode_comment() + encode_comment("x") + b"\n" + encode_event("after")
        assert decode([raw])[0] == [ev("after")]
