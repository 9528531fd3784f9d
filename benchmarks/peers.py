"""Thin adapters: every decoder fed the same list of byte chunks, the way its library feeds it.

Each adapter has a ``run(chunks)`` that decodes the whole stream (end of stream included) into
a list of the library's own event objects, which is what gets timed, and a ``pairs(events)``
that turns those into ``(event, data)`` pairs for the correctness check done before timing.
Building the list is the same small cost for every adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from copilot_anyio import SSEDecoder

__all__ = ["OURS", "Peer", "available_peers", "limit_reference"]


@dataclass(frozen=True)
class Peer:
    name: str
    version: str
    run: Callable[[Sequence[bytes]], list[Any]]
    pairs: Callable[[list[Any]], list[tuple[str, str]]]


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


# --- copilot-anyio ---------------------------------------------------------------------------


def _ours_run(chunks: Sequence[bytes]) -> list[Any]:
    decoder = SSEDecoder()
    feed = decoder.feed
    events: list[Any] = []
    for chunk in chunks:
        events += feed(chunk)
    events += decoder.feed_eof()
    return events


OURS = Peer(
    "copilot-anyio",
    _version("copilot-anyio"),
    _ours_run,
    lambda events: [(e.event, e.data) for e in events],
)


# --- httpx-sse -------------------------------------------------------------------------------


def _httpx_sse() -> Peer:
    # What ``EventSource.iter_sse()`` does over ``Response.iter_text()``: httpx's TextDecoder
    # (codecs' incremental UTF-8 decoder with errors="replace") and TextChunker, then httpx-sse's own
    # SSELineDecoder and SSEDecoder, each stage a generator as in httpx-sse's ``_api.py``.
    # httpx's byte-level stages (content decoders, ByteChunker) are left out: they would only
    # add cost to this peer.
    from httpx._decoders import TextChunker, TextDecoder
    from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
    from httpx_sse._decoders import SSELineDecoder

    def iter_text(chunks: Iterable[bytes]) -> Iterator[str]:
        decoder = TextDecoder(encoding="utf-8")
        chunker = TextChunker()
        for byte_content in chunks:
            text_content = decoder.decode(byte_content)
            yield from chunker.decode(text_content)
        text_content = decoder.flush()
        yield from chunker.decode(text_content)
        yield from chunker.flush()

    def iter_sse_lines(chunks: Iterable[bytes]) -> Iterator[str]:
        decoder = SSELineDecoder()
        for text in iter_text(chunks):
            yield from decoder.decode(text)
        yield from decoder.flush()

    def run(chunks: Sequence[bytes]) -> list[Any]:
        decoder = HttpxSSEDecoder()
        events = []
        for line in iter_sse_lines(chunks):
            line = line.rstrip("\n")  # as httpx-sse's iter_sse() does
            sse = decoder.decode(line)
            if sse is not None:
                events.append(sse)
        return events

    return Peer(
        "httpx-sse",
        _version("httpx-sse"),
        run,
        lambda events: [(e.event, e.data) for e in events],
    )


# --- launchdarkly-eventsource ----------------------------------------------------------------


def _ld_eventsource() -> Peer:
    # The synchronous SSEClient's pipeline: _BufferedLineReader.lines_from() over an iterator
    # of byte chunks, read by _SSEReader.events_and_comments().
    from ld_eventsource.actions import Event
    from ld_eventsource.reader import _BufferedLineReader, _SSEReader

    def run(chunks: Sequence[bytes]) -> list[Any]:
        reader = _SSEReader(_BufferedLineReader.lines_from(iter(chunks)))
        return [item for item in reader.events_and_comments() if isinstance(item, Event)]

    return Peer(
        "ld-eventsource",
        _version("launchdarkly-eventsource"),
        run,
        lambda events: [(e.event, e.data) for e in events],
    )


# --- openai ----------------------------------------------------------------------------------


def _openai() -> Peer:
    # The decoder behind openai's Stream: SSEDecoder.iter_bytes() over the response's bytes.
    from openai._streaming import SSEDecoder as OpenAISSEDecoder

    def run(chunks: Sequence[bytes]) -> list[Any]:
        return list(OpenAISSEDecoder().iter_bytes(iter(chunks)))

    return Peer(
        "openai",
        _version("openai"),
        run,
        # No event: line means "message" (openai leaves it None).
        lambda events: [(e.event or "message", e.data) for e in events],
    )


def available_peers() -> list[Peer]:
    """The peers whose libraries are installed (a missing one is reported, not fatal)."""
    peers: list[Peer] = []
    for factory in (_httpx_sse, _ld_eventsource, _openai):
        try:
            peers.append(factory())
        except ImportError as exc:
            print(f"peer skipped, not installed: {exc}")
    return peers


# --- the limit -------------------------------------------------------------------------------


def limit_reference(separator: bytes) -> Peer:
    """No SSE semantics at all: buffer bytes and split them at blank lines, nothing else.

    Not a decoder (no UTF-8 decoding, no fields), only the floor of what framing costs in pure
    Python; it is checked by event count only.
    """

    def run(chunks: Sequence[bytes]) -> list[Any]:
        events: list[bytes] = []
        buffer = b""
        for chunk in chunks:
            buffer += chunk
            if separator in buffer:
                parts = buffer.split(separator)
                buffer = parts.pop()
                events += parts
        return events

    return Peer("limit (split only)", "-", run, lambda events: [])
