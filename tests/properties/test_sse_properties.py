"""Hypothesis properties of the SSE decoder: chunking never matters, the WHATWG reference in
``oracle.py`` always agrees, encoding round-trips, and bad input fails only one way."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from hypothesis import given
from hypothesis import strategies as st

from copilot_anyio import EventTooLarge, ServerSentEvent, SSEDecoder, encode_comment, encode_event
from tests.properties.oracle import OracleEvent, interpret

LINE_ENDINGS = ("\n", "\r", "\r\n")

# --- strategies ------------------------------------------------------------------------------

# Characters that matter to some rule (separators that are not SSE line endings, NUL for ids,
# non-ASCII digits for retry, the BOM, multi-byte UTF-8) and a few plain ones.
_VALUE_CHARS = st.sampled_from(
    [
        *"ab 09:-+.",
        *("\t", "\x00", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1e"),
        *("\ufeff", "é", "€", "😀", "１", "٣", "\ufffd"),
    ]
)
# Byte runs that are not valid UTF-8 (or are a BOM, or a NUL), for use inside a value.
_bad_utf8 = st.sampled_from(
    [
        *(b"\xff", b"\xc3", b"\xe2\x82", b"\xef\xbb\xbf", b"\xef\xbb", b"\xed\xa0\x80"),
        *(b"\xf0\x9f\x98", b"\xc0\xaf", b"\x80", b"\x00", b"\xf4\x90\x80\x80"),
    ]
)
# Junk between lines: the above, stray line-ending bytes, anything at all.
_raw_bytes = st.one_of(_bad_utf8, st.sampled_from([b"\r", b"\n", b"\r\n"]), st.binary(max_size=4))
# A field value is a few fragments: text, numbers (valid retry values or near misses) or
# invalid bytes.
_values = st.lists(
    st.one_of(
        st.text(_VALUE_CHARS, max_size=6).map(str.encode),
        st.integers(0, 10**12).map(lambda n: str(n).encode()),
        # Digits to Python's str.isdigit(), but not ASCII digits.
        st.text(st.sampled_from("0123456789１٣²"), min_size=1, max_size=4).map(str.encode),
        st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=3).map(
            str.encode
        ),
        _bad_utf8,
    ),
    max_size=3,
).map(b"".join)
_field_names = st.sampled_from(
    [b"data"] * 6
    + [b"event"] * 2
    + [b"id"] * 2
    + [b"retry"] * 2
    + [b"", b"dat", b"Data", b"data ", b" data", b"retryx", b"\xef\xbb\xbfdata", b"\x00"]
)
_separators = st.sampled_from([b": "] * 6 + [b":"] * 3 + [b":  ", b"", b"::"])
_line_endings = st.sampled_from(LINE_ENDINGS)
_endings = _line_endings.map(str.encode)

_field_lines = st.builds(
    lambda n, s, v, e: n + s + v + e, _field_names, _separators, _values, _endings
)
_comment_lines = st.builds(lambda v, e: b":" + v + e, _values, _endings)


def _weighted(*choices: tuple[int, st.SearchStrategy[bytes]]) -> st.SearchStrategy[bytes]:
    # st.one_of() picks its branches evenly, and repeating a branch does not change that.
    table = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(table).flatmap(lambda strategy: strategy)


# Mostly well-formed field lines; now and then a comment or a run of raw bytes between lines.
_block_lines = _weighted((8, _field_lines), (1, _comment_lines), (1, _raw_bytes))
# A block is some lines and, usually, the blank line that dispatches it.
_blocks = st.builds(
    lambda lines, end: b"".join(lines) + end,
    st.lists(_block_lines, max_size=4),
    _weighted((4, _endings), (1, st.just(b""))),
)


@st.composite
def sse_like_bytes(draw: st.DrawFn) -> bytes:
    """Byte strings that are mostly SSE, with every awkward thing the decoder must survive."""
    lead = draw(st.sampled_from([b"", b"", b"\xef\xbb\xbf", b"\xef\xbb\xbf\xef\xbb\xbf", b"\xef"]))
    return lead + b"".join(draw(st.lists(_blocks, max_size=8)))


any_bytes = st.one_of(sse_like_bytes(), st.binary(max_size=200))


@st.composite
def chunked(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """``stream`` cut at arbitrary positions (empty chunks included now and then)."""
    cuts = draw(st.lists(st.integers(0, len(stream)), max_size=max(1, len(stream) // 2)))
    points = [0, *sorted(cuts), len(stream)]
    chunks = [stream[a:b] for a, b in itertools.pairwise(points)]
    if draw(st.booleans()):
        # Empty chunks between all the others: each must change nothing (a CR that ended
        # the previous chunk must still pair with an LF that starts the next one).
        chunks = [piece for chunk in chunks for piece in (chunk, b"")]
    return chunks


@st.composite
def stream_and_chunks(
    draw: st.DrawFn, streams: st.SearchStrategy[bytes] = any_bytes
) -> tuple[bytes, list[bytes]]:
    stream = draw(streams)
    return stream, draw(chunked(stream))


# Arguments for encode_event: event names and ids may hold anything but CR/LF (ids not NUL).
_event_names = st.none() | st.text(
    st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=10
)
_ids = st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=10)
_retries = st.none() | st.integers(0, 2**40)
_data = st.text(max_size=30) | st.text(st.sampled_from([*"ab \r\n:", "\u2028", "\ufeff"]))
_encoded_events = st.tuples(_event_names, _data, _ids, _retries, _line_endings)


# --- helpers ---------------------------------------------------------------------------------


def run(chunks: Sequence[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.feed_eof())
    return events


def as_oracle(events: Sequence[ServerSentEvent]) -> list[OracleEvent]:
    return [OracleEvent(e.event, e.data, e.id, e.retry) for e in events]


def normalise_newlines(data: str) -> str:
    return re.sub(r"\r\n|\r", "\n", data)


# --- properties ------------------------------------------------------------------------------


@given(stream_and_chunks())
def test_chunking_does_not_matter_for_any_bytes(case: tuple[bytes, list[bytes]]) -> None:
    stream, chunks = case
    assert run(chunks) == run([stream])
    assert run(chunks) == run([stream[i : i + 1] for i in range(len(stream))])


@given(st.data(), st.lists(_encoded_events, max_size=8), st.lists(st.text(max_size=5), max_size=3))
def test_encoded_events_decode_exactly_under_any_chunking(
    data: st.DataObject,
    specs: list[tuple[str | None, str, str | None, int | None, str]],
    comments: list[str],
) -> None:
    stream = b""
    expected: list[ServerSentEvent] = []
    last_id = ""
    for i, (event, text, id_, retry, nl) in enumerate(specs):
        if i < len(comments) and "\r" not in comments[i] and "\n" not in comments[i]:
            stream += encode_comment(comments[i], line_ending=nl)
        stream += encode_event(text, event=event, id=id_, retry=retry, line_ending=nl)
        last_id = last_id if id_ is None else id_
        expected.append(
            ServerSentEvent(
                event=event or "message", data=normalise_newlines(text), id=last_id, retry=retry
            )
        )
    chunks = data.draw(chunked(stream))
    assert run(chunks) == expected
    assert run([stream]) == expected


@given(stream_and_chunks())
def test_agrees_with_the_whatwg_oracle(case: tuple[bytes, list[bytes]]) -> None:
    stream, chunks = case
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    fed = b""
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
        fed += chunk
        # An event comes out as soon as its blank line is complete, and not before: the
        # oracle run on the bytes so far (which ends every line it can see) dispatches the
        # same events, and sets the same last event ID and reconnection time.
        so_far = interpret(fed)
        assert as_oracle(events) == so_far.events
        assert decoder.last_event_id == so_far.last_event_id
        assert decoder.reconnection_time == so_far.reconnection_time
    events.extend(decoder.feed_eof())
    expected = interpret(stream)
    assert as_oracle(events) == expected.events
    assert decoder.last_event_id == expected.last_event_id
    assert decoder.reconnection_time == expected.reconnection_time


# Blocks shaped like the fast paths' input (single data lines, event + data pairs) and their
# near misses: lines that merely look like a type or a data line, a type line that is really
# a data line, an empty type, a missing space, invalid UTF-8, extra lines (some of which
# line up with the type, data, blank pattern of fast path 2).
_fast_path_blocks = st.sampled_from(
    [
        b"data: x\n\n",
        b'data: {"a":1}\n\n',
        b"data: \n\n",
        b"data: \xe2\x82\xac\xff\n\n",
        b"event: a\ndata: 1\n\n",
        b"event: b\ndata: \n\n",
        b"event: \xffb\ndata: 2\n\n",
        b"event: a\ndata: event: a\n\n",
        b"event: a\ndata: data: 3\n\n",
        b"data: event: a\ndata: 4\n\n",
        b"event: a\ndata:5\n\n",
        b"event:\ndata: 6\n\n",
        b"event: \ndata: 7\n\n",
        b"event: a\nevent: b\ndata: 8\n\n",
        b"event: a\ndata: 9\ndata: 10\n\n",
        b"event: a\n\n",
        b"event: a\ndata: 11\nid: 1\n\n",
        b"event: a\ndata: 12\n\n\n",
        b"event: a\ndata: 13\nid: 5\nevent: b\ndata: 14\n\n",
        b"event: a\ndata: 15\n: c\nevent: b\ndata: 16\n\n",
        b": comment\n\n",
        b"\n",
    ]
)
_fast_path_streams = st.builds(
    lambda blocks, crlf: b"".join(blocks).replace(b"\n", b"\r\n") if crlf else b"".join(blocks),
    st.lists(_fast_path_blocks, max_size=12),
    st.booleans(),
)


@given(stream_and_chunks(_fast_path_streams))
def test_fast_path_shapes_agree_with_the_whatwg_oracle(case: tuple[bytes, list[bytes]]) -> None:
    stream, chunks = case
    assert as_oracle(run(chunks)) == interpret(stream).events
    assert as_oracle(run([stream])) == interpret(stream).events


@given(st.data(), st.binary(max_size=64).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")))
def test_data_bytes_decode_as_python_decodes_them(data: st.DataObject, value: bytes) -> None:
    # Invalid UTF-8 never raises and becomes U+FFFD exactly where Python's own decoder puts
    # it, wherever the chunk boundaries fall.
    stream = b"data: " + value + b"\n\n"
    assert run(data.draw(chunked(stream))) == [
        ServerSentEvent(data=value.decode("utf-8", "replace"))
    ]


@given(_event_names, _data, _ids, _retries, _line_endings)
def test_encode_decode_round_trip(
    event: str | None, data: str, id_: str | None, retry: int | None, nl: str
) -> None:
    raw = encode_event(data, event=event, id=id_, retry=retry, line_ending=nl)
    assert run([raw]) == [
        ServerSentEvent(
            event=event or "message", data=normalise_newlines(data), id=id_ or "", retry=retry
        )
    ]


@given(stream_and_chunks(), st.integers(1, 64))
def test_only_event_too_large_escapes(case: tuple[bytes, list[bytes]], limit: int) -> None:
    _, chunks = case
    decoder = SSEDecoder(max_event_size=limit)
    raised: EventTooLarge | None = None
    try:
        for chunk in chunks:
            decoder.feed(chunk)
        decoder.feed_eof()
    except EventTooLarge as exc:
        raised = exc
    if raised is not None:
        assert raised.limit == limit


@given(stream_and_chunks(st.binary(max_size=300)))
def test_arbitrary_bytes_never_raise_under_the_default_limit(
    case: tuple[bytes, list[bytes]],
) -> None:
    _, chunks = case
    for event in run(chunks):
        # Line endings split lines, so none can survive inside a field; data keeps only the
        # LFs that join its lines.
        assert "\r" not in event.data
        assert not {"\r", "\n"} & set(event.event + event.id)
        assert "\x00" not in event.id
