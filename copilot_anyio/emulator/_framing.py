"""Server-side SSE framing, written independently of the client's decoder.

A streamed reply is first built as a list of :class:`Event` objects tagged with their role in the
stream (preamble, content delta, finish, terminal marker). :func:`apply_fault` rewrites that list
for a scripted :class:`~copilot_anyio.emulator.Fault` and says how the body ends; :func:`encode`
turns one event into bytes for the configured line separator; :func:`rechunk` cuts bytes into
writes. Nothing here does I/O, so the fault semantics are easy to read in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ._faults import Fault

EventKind = Literal["preamble", "content", "finish", "done"]
Ending = Literal["close", "drop", "stall"]


@dataclass(frozen=True, slots=True)
class Event:
    """One unit of a body.

    ``data`` is the payload of a single ``data:`` line (or, with ``raw``, bytes written verbatim:
    halves of a JSON body). ``kind`` places it: ``content`` events are the deltas that
    ``after_chunks`` counts; ``finish`` carries the end of the reply (finish reason, usage);
    ``done`` is the terminal marker (``[DONE]``, web ``complete``, ``response.completed``).
    """

    data: str
    kind: EventKind = "preamble"
    event: str | None = None
    raw: bool = False


@dataclass(slots=True)
class StreamSpec:
    """A reply to stream, with the flavour-specific pieces faults need."""

    events: list[Event]
    error_event: Callable[[str], Event]
    """Builds the mid-stream error event from a message."""
    finish_error: Callable[[], list[Event]]
    """Replaces the ``finish`` and ``done`` events for :meth:`Fault.finish_error`."""
    oversized_event: Callable[[int], Event]
    """Builds a valid event of about the given size in bytes."""
    sse: bool = True
    announced: int = 0
    """How many leading events only announce the reply (``/responses``: created, in progress)."""
    early_failure: Callable[[str, bool], list[Event]] | None = None
    """Builds the events of :meth:`Fault.early_failure` (message, as an ``error`` event?)."""


@dataclass(slots=True)
class Plan:
    """What to write and how to end."""

    events: list[Event]
    ending: Ending = "close"
    keepalive: float | None = None
    chunk_size: int | None = None
    """Overrides the configured chunk size (1 for :meth:`Fault.trickle`)."""
    extra: dict[str, object] = field(default_factory=dict)


def _cut(events: list[Event], after: int) -> int:
    """Index just before the ``after + 1``-th content event, or before the first ``finish`` /
    ``done`` event when there are fewer content events."""
    seen = 0
    for index, event in enumerate(events):
        if event.kind == "content":
            if seen == after:
                return index
            seen += 1
        elif event.kind in ("finish", "done"):
            return index
    return len(events)


def apply_fault(spec: StreamSpec, fault: Fault | None) -> Plan:
    """Rewrite ``spec`` for ``fault`` (``None`` or a non-stream fault: the whole reply)."""
    events = list(spec.events)
    if fault is None or not fault.is_stream:
        return Plan(events)
    kind = fault.kind
    after = fault.after_chunks or 0
    if kind == "trickle":
        return Plan(events, chunk_size=1)
    if kind in ("stall", "drop"):
        return Plan(events[: _cut(events, after)], ending=kind, keepalive=fault.keepalive)
    if kind == "linger":
        return Plan(events, ending="stall", keepalive=fault.keepalive)
    if not spec.sse:
        # JSON bodies only know stall, drop and trickle.
        return Plan(events)
    if kind == "truncate":
        if fault.after_chunks is None:
            return Plan([e for e in events if e.kind != "done"])
        return Plan(events[: _cut(events, after)])
    if kind == "finish_error":
        return Plan([e for e in events if e.kind in ("preamble", "content")] + spec.finish_error())
    if kind == "early_failure":
        if spec.early_failure is None:
            return Plan([*events[: spec.announced], spec.error_event(fault.message)])
        failure = spec.early_failure(fault.message, fault.payload == "error")
        return Plan([*events[: spec.announced], *failure])
    at = _cut(events, after)
    if kind == "midstream_error":
        return Plan([*events[:at], spec.error_event(fault.message)])
    if kind == "malformed_json":
        return Plan([*events[:at], Event("{not json", kind="preamble"), *events[at:]])
    if kind == "oversized_event":
        return Plan([*events[:at], spec.oversized_event(fault.size), *events[at:]])
    raise AssertionError(f"unhandled fault kind {kind!r}")


def encode(event: Event, separator: str) -> bytes:
    """Frame one event.

    ``separator`` is ``"\\n"`` (each line ends in LF and events follow each other with no blank
    line, as VS Code's captures show; events with an ``event:`` line still get a blank line so
    their two fields cannot run into the next event), ``"\\n\\n"`` (LF lines, blank line between
    events) or ``"\\r\\n"`` (CRLF lines and a blank CRLF line).
    """
    if event.raw:
        return event.data.encode()
    if separator == "\r\n":
        eol, blank = "\r\n", "\r\n"
    elif separator == "\n":
        eol, blank = "\n", "\n" if event.event is not None else ""
    else:
        eol, blank = "\n", "\n"
    head = f"event: {event.event}{eol}" if event.event is not None else ""
    return f"{head}data: {event.data}{eol}{blank}".encode()


def encode_comment(text: str, separator: str) -> bytes:
    """A ``: comment`` line, which SSE readers ignore (used for keep-alives)."""
    eol = "\r\n" if separator == "\r\n" else "\n"
    blank = "" if separator == "\n" else eol
    return f": {text}{eol}{blank}".encode()


def rechunk(data: bytes, size: int | None) -> Iterator[bytes]:
    """Cut ``data`` into writes of ``size`` bytes (``None``: one write), even inside a UTF-8
    character or between CR and LF."""
    if size is None or size <= 0 or len(data) <= size:
        if data:
            yield data
        return
    for start in range(0, len(data), size):
        yield data[start : start + size]
