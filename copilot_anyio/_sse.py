"""Server-sent events: a sans-IO decoder (bytes in, events out) and a small encoder.

Theory of operation
===================

The decoder implements "interpreting an event stream" from the WHATWG HTML Living Standard
(section 9.2.6, "Server-sent events"; quoted below as *the standard*) exactly, for any split of
the stream into chunks, and in the common case without a Python-level loop over lines. Three
observations make that possible.

1. **Every line terminator is ASCII.** In UTF-8 the bytes CR (0x0D) and LF (0x0A) never occur
   inside a multi-byte sequence, so cutting the stream at a line terminator never cuts a
   character, and decoding the pieces separately (with U+FFFD replacement) gives the same text
   as decoding the whole stream at once. The decoder therefore works on *bytes*: it buffers
   them, finds boundaries with C-level searches, cuts complete lines out, and decodes only
   what it returns. No incremental text decoder is needed: a character split across chunks
   waits in the byte buffer with the rest of its line.

2. **Line endings can be normalised at the door.** Each chunk's CRLF pairs and lone CRs become
   LF on entry. In a CRLF stream that is deleting the CRs, after checking that putting a CR
   back before every LF gives the chunk again (three fast single-byte passes; replacing the
   pair ``b"\\r\\n"`` directly is several times slower). Any other chunk with a CR goes
   through ``bytes.splitlines()``, which, unlike ``str.splitlines()``, breaks at exactly CR, LF
   and CRLF, and a join. A chunk that *ends* in CR is rewritten at once, so a blank line
   ending in CR dispatches its event immediately, and the decoder remembers to swallow an LF
   at the start of the next chunk (the second half of a CRLF pair split across chunks). Past
   the door there is only LF, and "a blank line" is simply the byte pair ``\\n\\n``.
   One shortcut skips the door: in a CRLF stream of single-line ``data:`` events, when the
   buffer is at most the start of one line (no LF, so it reads the same normalised or not),
   the buffer and the chunk up to the last ``\\r\\n\\r\\n`` are cut like fast path 1
   below, with ``\\r\\n\\r\\ndata: `` for the separator and no CR or LF allowed in any
   payload, provided the rest holds no line ending (it is then the start of a line, the
   new buffer); otherwise the whole chunk takes the door.

3. **Events are independent between blank lines.** After a blank line the data and event type
   buffers are empty (dispatch steps 2 and 6); only the last event ID buffer and the
   reconnection time carry over. So the decoder keeps the raw bytes since the last blank line,
   uninterpreted. A chunk with no LF (most small chunks) is just appended. Otherwise the last
   ``\\n\\n`` in the buffer and the chunk together splits them: everything before it is a
   *region* of whole events, interpreted from an empty state; the rest becomes the buffer.
   The last LF usually ends that blank line, so one ``memrchr`` and a byte test find it;
   when the chunk ends with the blank line (a server that flushes every event) there is
   nothing to search and no rest. (An event that outgrew ``bytes``, below, is not copied
   for every chunk: its chunks are searched on their own, minding a blank line that
   straddles two of them; the complete events are then cut out as ``bytes`` again.)

A region is interpreted by the first of these that applies:

* **Fast path 1, single-line ``data:`` events** (OpenAI/Copilot chat completions, the web
  thread stream): the region starts with ``data: ``. Between that and the final ``\\n\\n``,
  with no LF, is the payload of a single event. Otherwise that middle is split on
  ``\\n\\ndata: ``; when no piece contains an LF (one ``join`` and one ``memchr``), every
  block was one ``data:`` line and the pieces are the payloads.
* **Fast path 2, ``event: <type>`` + ``data: <value>`` blocks** (Responses and Anthropic
  Messages streams): the region split on LF must read type, data, blank, type, data, blank,
  ..., which a few C-level passes over the list check (four pieces are one event). The
  blank lines are counted. A stream repeats a handful of types, so whole ``event: <type>``
  lines are looked up in a small shared table (``_EVENT_TYPES``) that gives the type as
  text: one pass checks them all, and no type is cut out and decoded again. The data lines,
  joined behind an LF, split at ``\\ndata: `` into one piece more than there are lines
  exactly when every one of them starts with ``data: `` (no line holds an LF), and the
  pieces are the values.
* **The general path** for anything else (comments, ``id:``, ``retry:``, multi-line data, no
  space after the colon, unknown fields, stray blank lines, an empty type): the region is
  decoded and interpreted block by block, line by line, as a direct transcription of the
  standard, with the WHATWG steps quoted at the lines that implement them. The fast paths
  produce exactly what it would (the property tests compare all of them with a reference
  interpreter written from the standard).

Where the time goes then (IDE corpus, 1 KiB chunks, CPython 3.11): about 40 % in decoding the
payloads and keeping the strings, a fifth to a quarter in building and keeping the event
objects, the rest in framing, whose largest part is the split at ``\\n\\ndata: `` (CPython's
search for several bytes is not vectorised; only ``in``, ``find`` and ``rfind`` of a single
byte use ``memchr``). Event objects avoid the frozen dataclass's slow generated ``__init__``
(see ``_EventBuilder`` and ``_Blank``), and payloads are decoded with a strict ``decode()``
first (faster than one with arguments, and the same text whenever it succeeds; on invalid UTF-8
the run is decoded again with replacement). Measured and found slower: decoding a region's
payloads in one call and splitting the text (one non-ASCII character makes the whole text wide,
and every piece is then scanned and narrowed again), and a Python loop that finds each event's
end with one ``memchr``; decoding through ``map()`` is no faster. Method calls with optional
arguments (``find``, ``startswith``) cost more than ``in`` with an integer, slicing or a
comparison, and ``b"..." in data`` costs more than ``find`` (it first tries the integer form
and discards the exception).

Bounded memory: the buffer holds at most one incomplete event. When the bytes of the event
being received exceed ``max_event_size``, :class:`EventTooLarge` is raised; a line that never
ends therefore cannot grow the buffer without limit. Small events are buffered as ``bytes``
(cheapest for a few hundred bytes); an event that grows past 4 KiB moves to a ``bytearray``
so that receiving it in many small chunks stays linear.

Strict and lenient choices. The standard fixes every parsing rule and the decoder follows all
of them strictly; what remains are the edges of the API:

* Invalid UTF-8 never raises: it decodes to U+FFFD, as the standard's "UTF-8 decode" requires.
* One leading BOM is stripped, only at the very start of the stream (even when its three bytes
  arrive in separate chunks); a second BOM, or one later in the stream, is data.
* An unterminated final event (or line) is discarded at end of stream, as the standard says;
  a complete ``retry:`` line in it has already set the reconnection time, an ``id:`` line in
  it never reaches the last event ID.
* A ``retry`` value whose integer has more digits than Python will convert
  (``sys.get_int_max_str_digits()``, 4300 by default, leading zeros aside) is ignored like any
  other unusable value: no input makes the decoder raise anything but :class:`EventTooLarge`.
* The event size limit counts bytes after line-ending normalisation (a CRLF counts as one
  byte), from the end of the previous event's blank line up to and including this event's
  blank line, comment lines included. When a chunk completes several events and one of them
  is too large, the decoder raises without returning the others, and is unusable afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, cast, final

from ._errors import EventTooLarge, UsageError

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "SSEDecoder",
    "ServerSentEvent",
    "encode_comment",
    "encode_event",
]

DEFAULT_MAX_EVENT_SIZE: Final[int] = 1 << 20
"""The default ``max_event_size`` of :class:`SSEDecoder`: 1 MiB."""

_BOM: Final = b"\xef\xbb\xbf"


@final
@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched server-sent event.

    Attributes:
        event: the event type: the block's last ``event:`` value, or ``"message"`` when the
            block had none (or an empty one).
        data: the block's ``data:`` values joined with ``"\\n"``.
        id: the last event ID when the event was dispatched. It persists across events until
            an ``id:`` line changes it, as the standard's "last event ID string" does.
        retry: the last valid ``retry:`` value in this event's own block, else ``None``. The
            stream-wide reconnection time is :attr:`SSEDecoder.reconnection_time`.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


# Building events is the largest single cost of decoding a typical stream, and the generated
# ``__init__`` of a frozen dataclass is slow: one ``object.__setattr__`` call per field. Two
# faster ways give the same result, a fully initialised, ordinary ``ServerSentEvent``:
#
# * ``_EventBuilder`` is a plain class with exactly the same slots. Its ``__init__`` stores
#   the fields with ordinary (fast) attribute stores, then re-labels the instance as a
#   ``ServerSentEvent``. CPython allows ``__class__`` assignment between classes with the
#   same base and the same slots; the object is then indistinguishable from one built by
#   ``ServerSentEvent(...)`` (same type, layout, equality, hash, immutability).
# * ``_descriptor_event`` sets the slots through their member descriptors, which is what
#   ``object.__setattr__`` ends up doing, minus the lookups. It is used if the interpreter
#   refuses the first way (checked once, at import).


class _EventBuilder:
    __slots__ = ("data", "event", "id", "retry")  # the same set; CPython sorts them anyway

    def __init__(self, event: str, data: str, id: str, retry: int | None) -> None:
        self.event = event
        self.data = data
        self.id = id
        self.retry = retry
        self.__class__ = ServerSentEvent  # type: ignore[assignment]


class _Blank:
    """The same slots without ``__init__``: ``_Blank()`` is the cheapest way to an instance.

    The fast paths fill one in with plain attribute stores and re-label it, as
    ``_EventBuilder.__init__`` does, without a call per event.
    """

    __slots__ = ("data", "event", "id", "retry")
    event: str
    data: str
    id: str
    retry: int | None


_new_event = object.__new__


def _slot_setter(name: str) -> Callable[[ServerSentEvent, object], None]:
    setter: Callable[[ServerSentEvent, object], None] = vars(ServerSentEvent)[name].__set__
    return setter


_set_event = _slot_setter("event")
_set_data = _slot_setter("data")
_set_id = _slot_setter("id")
_set_retry = _slot_setter("retry")


def _descriptor_event(  # pragma: no cover (used only where _EventBuilder is refused)
    event: str, data: str, id: str, retry: int | None
) -> ServerSentEvent:
    ev: ServerSentEvent = _new_event(ServerSentEvent)
    _set_event(ev, event)
    _set_data(ev, data)
    _set_id(ev, id)
    _set_retry(ev, retry)
    return ev


def _pick_event_factory() -> Callable[[str, str, str, int | None], ServerSentEvent]:
    try:
        probe: object = _EventBuilder("e", "d", "i", 1)
    except TypeError:  # pragma: no cover (an interpreter without __class__ assignment)
        return _descriptor_event
    if type(probe) is ServerSentEvent and probe == ServerSentEvent("e", "d", "i", 1):
        return cast("Callable[[str, str, str, int | None], ServerSentEvent]", _EventBuilder)
    return _descriptor_event  # pragma: no cover


_make_event = _pick_event_factory()
"""``_make_event(event, data, id, retry)``: ``ServerSentEvent(event, data, id, retry)``, faster."""


def _swap_data_events(payloads: list[bytes], last_id: str) -> list[ServerSentEvent]:
    # _EventBuilder's work done in the loop itself, without a call per event. A strict
    # decode() is faster than one with arguments and gives the same text when it succeeds.
    events: list[ServerSentEvent] = []
    append = events.append
    try:
        for p in payloads:
            ev = _Blank()
            ev.event = "message"
            ev.data = p.decode()
            ev.id = last_id
            ev.retry = None
            ev.__class__ = ServerSentEvent  # type: ignore[assignment]
            append(ev)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        return _descriptor_data_events(payloads, last_id)
    return events


def _descriptor_data_events(payloads: list[bytes], last_id: str) -> list[ServerSentEvent]:
    return [_make_event("message", p.decode("utf-8", "replace"), last_id, None) for p in payloads]


def _probe_blank() -> bool:
    blank = _Blank()
    blank.event, blank.data, blank.id, blank.retry = "e", "d", "i", 1
    try:
        blank.__class__ = ServerSentEvent  # type: ignore[assignment]
    except TypeError:  # pragma: no cover (an interpreter without __class__ assignment)
        return False
    probe = cast(object, blank)
    return type(probe) is ServerSentEvent and probe == ServerSentEvent("e", "d", "i", 1)


_CLASS_SWAP: Final = _probe_blank()
"""Events can be built as ``_Blank`` instances re-labelled in place (see above)."""

_make_events = _swap_data_events if _CLASS_SWAP else _descriptor_data_events
"""Data events of type "message" for the UTF-8 ``payloads``."""


_EVENT_TYPES: Final[dict[bytes, str]] = {}
"""Event types met on fast path 2, by their whole line: ``b"event: <type>"`` -> ``"<type>"``.

A stream uses a handful of types over and over, so looking the line up (its hash is computed
once per line, in C) replaces cutting the type out and decoding it for every event, and all
its events share one ``str`` per type. The map is a pure function of the line (the type
decoded with U+FFFD replacement), shared by all decoders and bounded: a stream of ever new
types fills it up and then merely misses.
"""
_EVENT_TYPES_MAX: Final = 512
_EVENT_LINE_MAX: Final = 256


def _learn_type(line: bytes) -> str | None:
    """The type on ``line`` if it reads ``b"event: <type>"`` with a non-empty type, else None.

    The slow side of ``_EVENT_TYPES``, which remembers the answer if there is room. (An empty
    type means "message" and is left to the general path, like any other line.)
    """
    if line[:7] != b"event: " or len(line) == 7:
        return None
    event_type = line[7:].decode("utf-8", "replace")
    if len(_EVENT_TYPES) < _EVENT_TYPES_MAX and len(line) <= _EVENT_LINE_MAX:
        _EVENT_TYPES[line] = event_type
    return event_type


def _typed_events(lines: list[bytes], last_id: str) -> list[ServerSentEvent] | None:
    """Events for a region made only of "event: <type>\\ndata: <value>" blocks, else None.

    ``lines`` is the region split at LF. For such a region they read type, data, blank,
    type, data, blank... and a final empty piece after the last LF; every check below is one
    C-level pass over the lines (the type lines are checked by finding them in
    ``_EVENT_TYPES``).
    """
    n = len(lines) // 3
    if len(lines) != 3 * n + 1 or lines[2::3].count(b"") != n:
        return None
    type_lines = lines[0 : 3 * n : 3]
    first = _EVENT_TYPES.get(lines[0])
    if first is not None and type_lines.count(lines[0]) == n:
        # A run of one type (text deltas): one lookup, and comparisons cheaper than hashing.
        types = [first] * n
    else:
        found = list(map(_EVENT_TYPES.get, type_lines))
        if not all(found):  # a miss (None): an empty type is never in the map
            found = [t or _learn_type(line) for t, line in zip(found, type_lines, strict=True)]
            if not all(found):
                return None
        types = cast("list[str]", found)
    # The data lines, each with an LF before it, split at "\ndata: ": as no line holds an LF,
    # that cuts exactly before the lines that start with "data: ", so n + 1 pieces (the
    # first empty) mean that all of them do, and the pieces are their values.
    data = lines[1::3]
    data.insert(0, b"")
    values = b"\n".join(data).split(b"\ndata: ")
    if len(values) != n + 1:
        return None
    del values[0]
    if _CLASS_SWAP:
        # As in _swap_data_events.
        events: list[ServerSentEvent] = []
        append = events.append
        try:
            for t, v in zip(types, values, strict=True):
                ev = _Blank()
                ev.event = t
                ev.data = v.decode()
                ev.id = last_id
                ev.retry = None
                ev.__class__ = ServerSentEvent  # type: ignore[assignment]
                append(ev)  # type: ignore[arg-type]
            return events
        except UnicodeDecodeError:
            pass
    return [
        _make_event(t, v.decode("utf-8", "replace"), last_id, None)
        for t, v in zip(types, values, strict=True)
    ]


def _parse_retry(value: str) -> int | None:
    # "If the field value consists of only ASCII digits, then interpret the field value as an
    # integer in base ten [...]. Otherwise, ignore the field." ``str.isdigit`` alone would
    # accept non-ASCII digits such as "²" or "٣"; an empty value has no digits and is ignored.
    if not (value.isascii() and value.isdigit()):
        return None
    try:
        return int(value.lstrip("0") or "0")
    except ValueError:
        # More significant digits than int() converts (see the module docstring): ignored.
        return None


@final
class SSEDecoder:
    """Incremental, sans-IO decoder for a ``text/event-stream`` body.

    Feed it the body's bytes as they arrive, in chunks of any size cut anywhere (inside a
    UTF-8 character, between the CR and LF of a pair, inside the BOM); it returns the events
    completed by each chunk, each one as soon as its terminating blank line is complete.

    ``max_event_size`` bounds the bytes of a single event (see the module docstring for how
    they are counted), and with it the decoder's memory.

    After :class:`EventTooLarge` the decoder is unusable: the stream cannot be resynchronised,
    so further :meth:`feed` calls raise :class:`UsageError`. Events completed in the same
    chunk as the oversized one, before it, are not returned.
    """

    __slots__ = (
        "_bom_head",
        "_buf",
        "_closed",
        "_failed",
        "_gate",
        "_grow_at",
        "_last_event_id",
        "_limit",
        "_reconnection_time",
        "_skip_lf",
        "_started",
    )

    def __init__(self, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> None:
        """Args:
        max_event_size: the largest event accepted, in bytes (default 1 MiB).

        Raises:
            ValueError: ``max_event_size`` is not positive.
        """
        if max_event_size <= 0:
            raise ValueError("max_event_size must be positive")
        self._limit = max_event_size
        # Raw bytes since the last event boundary, line endings already normalised to LF. No
        # line in here has been interpreted yet.
        # Typed as bytes, but a bytearray once an event outgrows _grow_at (see _grow); every
        # operation used on it, and on what is cut from it, works the same on both.
        self._buf: bytes = b""
        # When the pending bytes outgrow this, _grow() checks the limit and the buffer type.
        self._grow_at = min(max_event_size, 4096)
        # The first bytes of the stream, held back until we know whether they are a BOM.
        self._bom_head = b""
        self._started = False
        # The previous chunk ended in CR, already counted as a line ending: an LF at the start
        # of the next chunk is the second half of that CRLF pair and must be dropped.
        self._skip_lf = False
        self._closed = False
        self._failed = False
        # Any of the above needs attention at the next feed() (one test on the fast path).
        self._gate = True
        # The standard's "last event ID string". Its "last event ID buffer" needs no field:
        # a block's id: lines are applied when the block is interpreted, which is when it is
        # dispatched (pending blocks stay uninterpreted in _buf until then).
        self._last_event_id = ""
        # The reconnection time set by retry: lines of already interpreted blocks.
        self._reconnection_time: int | None = None

    @property
    def last_event_id(self) -> str:
        """The last event ID string: set when an event is dispatched, never by a cut-off block.

        As the standard says, it is updated at every blank line that ends a block (even one
        without data, which dispatches nothing), and an ``id`` value containing NUL is
        ignored. ``""`` until an ``id:`` line has been dispatched.
        """
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        """The stream's reconnection time in milliseconds, or ``None`` if never set.

        The standard applies a valid ``retry:`` line as soon as the line is complete, even if
        its block is never dispatched; so does this property, for every complete line fed so
        far.
        """
        buf = self._buf
        if b"retry" in buf:
            # Complete lines of the pending block have not been interpreted yet: look at their
            # retry fields now (the block's interpretation later sets the same value again).
            end = buf.rfind(b"\n")
            if end >= 0:
                found = None
                for line in buf[:end].decode("utf-8", "replace").split("\n"):
                    name, _, value = line.partition(":")
                    if name == "retry":
                        retry = _parse_retry(value[1:] if value[:1] == " " else value)
                        if retry is not None:
                            found = retry
                if found is not None:
                    return found
        return self._reconnection_time

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Decode the next chunk of the stream.

        Args:
            data: the next bytes of the body, cut anywhere. ``b""`` is allowed and does nothing.

        Returns:
            The events whose terminating blank line this chunk completed, in stream order;
            often ``[]``.

        Raises:
            EventTooLarge: the event being received outgrew ``max_event_size``.
            UsageError: :meth:`feed_eof` was already called, or an earlier call raised
                :class:`EventTooLarge`.
        """
        # The order of the tests below follows their likelihood: most small chunks leave at
        # the first return (no line ending, so no event completed), and most events take one
        # of the fast paths at the end.
        if self._gate:
            # Start of stream, a CRLF pair split across chunks, or a closed decoder.
            data = self._pass_gate(data)
        if 13 in data:
            buf = self._buf
            if type(buf) is bytes and 10 not in buf:
                # Fast path 1 for a CRLF stream, before normalising (written out here: a
                # method call would cost a sizeable share of a one-event chunk). The buffer
                # is small (bytes, see _grow) and holds no LF: it is empty or the start of
                # one line, which, normalised or not, is the same bytes, so it and ``data``
                # are the raw stream since the last blank line. When everything up to the
                # last CRLF blank line in it is single-line ``data:`` blocks (no CR or LF
                # left in any value once split on the CRLF block boundaries) and the rest
                # holds no line ending, those are the events and the rest is the new
                # buffer. Otherwise nothing has changed and the chunk takes the door.
                raw = buf + data
                if raw[:6] == b"data: " and len(raw) <= self._limit:
                    end = raw.rfind(b"\r\n\r\n") + 4
                    rest = raw[end:] if end != 3 else b"\n"  # no blank line: take the door
                    if 13 not in rest and 10 not in rest:
                        payload = raw[6 : end - 4]
                        if 13 not in payload and 10 not in payload:
                            try:
                                data_text = payload.decode()
                            except UnicodeDecodeError:
                                data_text = payload.decode("utf-8", "replace")
                            # The start of a line (or nothing): keep it, as below.
                            self._buf = rest
                            if not _CLASS_SWAP:  # pragma: no cover
                                return [
                                    _make_event("message", data_text, self._last_event_id, None)
                                ]
                            ev = _Blank()
                            ev.event = "message"
                            ev.data = data_text
                            ev.id = self._last_event_id
                            ev.retry = None
                            ev.__class__ = ServerSentEvent  # type: ignore[assignment]
                            return [ev]  # type: ignore[list-item]
                        payloads = payload.split(b"\r\n\r\ndata: ")
                        joined = b"".join(payloads)
                        if 13 not in joined and 10 not in joined:
                            self._buf = rest
                            return _make_events(payloads, self._last_event_id)
            # Normalise CRLF and lone CR to LF (see "Theory of operation", point 2). A final CR
            # ends its line now, so that a blank line ending in CR dispatches immediately;
            # the LF that may follow it in the next chunk is swallowed by _pass_gate().
            if data[-1] == 13:
                self._gate = self._skip_lf = True
            cleaned = data.replace(b"\r", b"")
            if cleaned.replace(b"\n", b"\r\n") == data:
                # Putting a CR back before every LF gives the chunk again: every line ending
                # in it is CRLF (the CRLF streams), and deleting the CRs normalises it. Both
                # replaces are of a single byte, bytes.replace()'s fast case (replacing the
                # pair b"\r\n" is several times slower).
                data = cleaned
            else:
                # Lone CRs or a mix: bytes.splitlines() breaks at exactly CR, LF and CRLF
                # (unlike str's) in one C pass; rejoin with LF, keeping a final line ending.
                lines = data.splitlines()
                if data[-1] == 13 or data[-1] == 10:
                    lines.append(b"")
                data = b"\n".join(lines)
        buf = self._buf
        if 10 not in data:
            # No line ending, so no blank line: keep the bytes (one memchr, no search).
            buf += data
            if len(buf) > self._grow_at:
                buf = self._grow(buf)
            self._buf = buf
            return []

        # A blank line is "\n\n" now. Find the last one: everything before it is whole events,
        # the rest is kept. Usually the last LF ends one (memrchr and a byte test); else
        # search before it.
        if type(buf) is bytes:
            # A small buffer: look at it and the chunk together (a blank line may straddle).
            raw = buf + data
            if data[-1] == 10 and raw[-2:] == b"\n\n":
                # The chunk ends with a blank line (as when a server flushes every event):
                # nothing is left over. (Testing the last byte first keeps this cheap for
                # the many chunks that do not end in LF.)
                end = len(raw)
                self._buf = b""
            else:
                end = raw.rfind(10)
                if end > 0 and raw[end - 1] == 10:
                    end += 1
                else:
                    end = raw.rfind(b"\n\n", 0, end) + 2
                    if end == 1:
                        # Line endings but no blank line: keep the bytes.
                        self._buf = self._grow(raw) if len(raw) > self._grow_at else raw
                        return []
                # The region is raw[:end]; it is cut only where needed (fast path 1 cuts the
                # payloads straight out of raw).
                self._buf = raw[end:]
            if len(raw) > self._limit:
                # Together the complete events and the rest exceed the limit: look closer.
                self._check_sizes(raw[:end])
        else:
            # A large event is arriving into a bytearray: do not copy it for every chunk.
            end = data.rfind(10)
            if end > 0 and data[end - 1] == 10:
                end += 1
            elif (end := data.rfind(b"\n\n", 0, end) + 2) == 1 and (data[0] != 10 or buf[-1] != 10):
                # Line endings but no blank line: keep the bytes.
                buf += data
                self._buf = self._grow(buf)
                return []
            # Here end == 1 means that the blank line straddles the chunks: the buffer ends a
            # line and this chunk starts with an LF, so the events end after that LF.
            # Back to bytes (one copy of the event, once), as the paths below expect.
            raw = b"".join((buf, data[:end]))
            self._buf = data[end:]
            end = len(raw)
            if len(buf) + len(data) > self._limit:
                self._check_sizes(raw)

        if raw[:6] == b"data: ":
            # Fast path 1, single-line data events (see "Theory of operation"). It works on
            # bytes: the pieces cut out are whole lines, so decoding each one on its own gives
            # the text that decoding the whole region would.
            payload = raw[6 : end - 2]
            if 10 not in payload:
                # One event, one line: "data: <value>\n\n".
                try:
                    data_text = payload.decode()
                except UnicodeDecodeError:
                    data_text = payload.decode("utf-8", "replace")
                if not _CLASS_SWAP:  # pragma: no cover
                    return [_make_event("message", data_text, self._last_event_id, None)]
                ev = _Blank()
                ev.event = "message"
                ev.data = data_text
                ev.id = self._last_event_id
                ev.retry = None
                ev.__class__ = ServerSentEvent  # type: ignore[assignment]
                return [ev]  # type: ignore[list-item]
            payloads = payload.split(b"\n\ndata: ")
            if 10 not in b"".join(payloads):
                # No LF left in any piece: each block was one "data: " line, and each piece
                # is that line's value with its one leading space already stripped. (Joining
                # and one memchr is cheaper than counting LFs or testing every piece.)
                return _make_events(payloads, self._last_event_id)
        region = raw if end == len(raw) else raw[:end]
        if region[:7] == b"event: ":
            # Fast path 2, "event: <type>" + "data: <value>" blocks (Responses and Messages
            # streams), checked the same way: three LFs per block, and each block's second
            # line a data line.
            lines = region.split(b"\n")
            if len(lines) == 4 and lines[1][:6] == b"data: ":
                # One event: type, data, the blank line and the empty piece after it.
                event_type = _EVENT_TYPES.get(lines[0]) or _learn_type(lines[0])
                if event_type is not None:
                    # A non-empty type, so it is not renamed "message".
                    value = lines[1][6:]
                    try:
                        data_text = value.decode()
                    except UnicodeDecodeError:
                        data_text = value.decode("utf-8", "replace")
                    if not _CLASS_SWAP:  # pragma: no cover
                        return [_make_event(event_type, data_text, self._last_event_id, None)]
                    ev = _Blank()
                    ev.event = event_type
                    ev.data = data_text
                    ev.id = self._last_event_id
                    ev.retry = None
                    ev.__class__ = ServerSentEvent  # type: ignore[assignment]
                    return [ev]  # type: ignore[list-item]
            typed = _typed_events(lines, self._last_event_id)
            if typed is not None:
                return typed
        return self._interpret(region.decode("utf-8", "replace"))

    def feed_eof(self) -> list[ServerSentEvent]:
        """Signal the end of the stream.

        "Once the end of the file is reached, any pending data must be discarded": an event
        whose blank line never arrived is dropped, not dispatched. A valid ``retry:`` line in
        it still counts for :attr:`reconnection_time`, an ``id:`` line does not count for
        :attr:`last_event_id`.

        Returns:
            Always ``[]``: every complete event was already returned by :meth:`feed`. The
            return value keeps the door open for callers written against decoders that
            dispatch late.

        Calling it again is harmless; calling :meth:`feed` afterwards raises
        :class:`UsageError`.
        """
        if not self._closed:
            self._reconnection_time = self.reconnection_time
            self._closed = self._gate = True
            self._buf = b""
            self._bom_head = b""
        return []

    # --- internals ------------------------------------------------------------------------

    def _pass_gate(self, data: bytes) -> bytes:
        """Handle the rare states, returning the bytes that ``feed`` should go on with."""
        if self._closed or self._failed:
            raise UsageError(
                "SSEDecoder.feed() after feed_eof()"
                if self._closed
                else "SSEDecoder.feed() after EventTooLarge: the decoder cannot resynchronise"
            )
        if not self._started:
            # "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark (BOM), if
            # any." Only at the start of the stream, so its bytes may straddle chunks.
            head = self._bom_head + data
            if len(head) < 3 and _BOM.startswith(head):
                self._bom_head = head
                return b""
            self._started = True
            self._bom_head = b""
            data = head[3:] if head[:3] == _BOM else head
        if self._skip_lf and data:
            # "Lines must be separated by [...] a U+000D CARRIAGE RETURN U+000A LINE FEED
            # (CRLF) character pair [...] or a single U+000D CARRIAGE RETURN (CR)": the CR that
            # ended the previous chunk already ended its line, so an LF here belongs to it.
            self._skip_lf = False
            if data[0] == 10:
                data = data[1:]
        self._gate = not self._started or self._skip_lf
        return data

    def _grow(self, buf: bytes) -> bytes:
        """The pending bytes passed ``_grow_at``: enforce the limit, keep appends cheap."""
        if len(buf) > self._limit:
            self._fail(len(buf))
        # Appending to bytes copies the whole buffer each time, which is the fastest way for
        # the few hundred bytes of a typical event but quadratic for one that arrives in many
        # small chunks. Past a few KiB switch to a bytearray, whose appends are amortised
        # (the next event starts with bytes again).
        return cast(bytes, bytearray(buf)) if type(buf) is bytes else buf

    def _fail(self, size: int) -> None:
        self._failed = self._gate = True
        self._buf = b""
        raise EventTooLarge(size, self._limit)

    def _check_sizes(self, region: bytes) -> None:
        """Raise if one of the complete events in ``region``, or the pending rest, is too big.

        An event counts with its blank line's two bytes.
        """
        if len(region) > self._limit:
            size = max(map(len, region.split(b"\n\n"))) + 2
            if size > self._limit:
                self._fail(size)
        if len(self._buf) > self._limit:
            self._fail(len(self._buf))

    def _interpret(self, text: str) -> list[ServerSentEvent]:
        """Interpret ``text``: whole blocks, LF line endings, ending in a blank line.

        The state at the start of ``text`` is that after a blank line: empty data and event
        type buffers.
        """
        last_id = self._last_event_id
        if text[:1] == "\n":
            # Blank lines right after a blank line dispatch nothing: the buffers are empty and
            # the last event ID string already equals the buffer (dispatch steps 1 and 2).
            text = text.lstrip("\n")
            if not text:
                return []
            if text[:6] == "data: ":
                # Fast path 1 of feed(), which the leading blank lines made it miss.
                payloads = text[6:-2].split("\n\ndata: ")
                if text.count("\n") == 2 * len(payloads):
                    return [_make_event("message", p, last_id, None) for p in payloads]

        # Split into blocks at blank lines. Splitting left to right on "\n\n" pairs each
        # block's last line ending with the blank line after it; a longer run of LFs leaves
        # an empty block or a block starting with one LF (blank lines that dispatch nothing),
        # and the piece after the final "\n\n" is "" or "\n".
        blocks = text.split("\n\n")
        blocks.pop()
        events: list[ServerSentEvent] = []
        append = events.append
        for block in blocks:
            if block[:6] == "data: ":
                if "\n" not in block:
                    append(_make_event("message", block[6:], last_id, None))
                    continue
            elif block[:7] == "event: ":
                i = block.find("\n")
                if i > 7 and block.startswith("data: ", i + 1) and block.find("\n", i + 1) < 0:
                    # "event: <type>\ndata: <value>", as in fast path 2. A non-empty type,
                    # so the event is not renamed "message".
                    append(_make_event(block[7:i], block[i + 7 :], last_id, None))
                    continue
            event = self._interpret_block(block)
            if event is not None:
                append(event)
            last_id = self._last_event_id
        return events

    def _interpret_block(self, block: str) -> ServerSentEvent | None:
        """The general path: interpret one block line by line, then dispatch it.

        ``block`` holds one block's lines, separated by LF, none of them blank except
        possibly the first (a stray blank line, which dispatches nothing).
        """
        data: list[str] = []
        event_type = ""
        last_id = self._last_event_id
        retry: int | None = None
        for line in block.split("\n"):
            if not line:
                # Only a leading blank line can occur here: it dispatches nothing (see above).
                continue
            # "If the line starts with a U+003A COLON character (:): Ignore the line."
            if line[0] == ":":
                continue
            # "If the line contains a U+003A COLON character (:): Collect the characters on
            # the line before the first U+003A COLON character (:), and let field be that
            # string. Collect the characters on the line after the first U+003A COLON
            # character (:), and let value be that string. If value starts with a U+0020
            # SPACE character, remove it from value." Otherwise the whole line is the field
            # name and the value is the empty string; partition() gives exactly that.
            name, _, value = line.partition(":")
            if value[:1] == " ":
                value = value[1:]
            # "Process the field".
            if name == "data":
                # "Append the field value to the data buffer, then append a single U+000A
                # LINE FEED (LF) character to the data buffer." Joining with LF below is the
                # same as appending LF each time and removing the last one (dispatch step 3).
                data.append(value)
            elif name == "event":
                # "Set the event type buffer to the field value."
                event_type = value
            elif name == "id":
                # "If the field value does not contain U+0000 NULL, then set the last event
                # ID buffer to the field value. Otherwise, ignore the field." An empty value
                # sets it to "".
                if "\x00" not in value:
                    last_id = value
            elif name == "retry":
                parsed = _parse_retry(value)
                if parsed is not None:
                    retry = parsed
                    self._reconnection_time = parsed
            # "Otherwise: The field is ignored."

        # "Dispatch the event". Step 1: "Set the last event ID string of the event source to
        # the value of the last event ID buffer", whether or not an event is fired.
        self._last_event_id = last_id
        # Step 2: "If the data buffer is an empty string, set the data buffer and the event
        # type buffer to the empty string and return." The buffer is empty only when there
        # was no data line at all: "data" alone appends an LF, so it dispatches data "".
        if not data:
            return None
        # Steps 3-5: remove the final LF (the join), type defaults to "message", and the
        # event's lastEventId is the last event ID string. Step 6 (reset the buffers) is
        # implicit: every block starts with fresh ones.
        return _make_event(event_type or "message", "\n".join(data), last_id, retry)


def _check_line_ending(line_ending: str) -> None:
    if line_ending not in ("\n", "\r", "\r\n"):
        raise ValueError(f"line_ending must be '\\n', '\\r' or '\\r\\n', not {line_ending!r}")


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    line_ending: str = "\n",
) -> bytes:
    """Encode one event as UTF-8 bytes, ending with the blank line that dispatches it.

    ``data`` may hold line breaks (CR, LF or CRLF): it is written as one ``data:`` line per
    line, which a decoder joins back with LF (so CR and CRLF come back as LF). Every value is
    written after ``": "``, so a value's own leading space survives decoding.

    Args:
        data: the event's data (may be empty: the event is still dispatched, with data "").
        event: the event type (``event:`` line), or ``None`` for the default "message".
        id: the event ID (``id:`` line), or ``None`` to send none; ``""`` resets the
            receiver's last event ID.
        retry: the reconnection time in milliseconds (``retry:`` line), or ``None``.
        line_ending: ``"\\n"`` (default), ``"\\r"`` or ``"\\r\\n"``, used for every line.

    Raises:
        ValueError: ``event`` or ``id`` contains CR or LF, ``id`` contains NUL, ``retry`` is
            negative, or ``line_ending`` is not one of the three.
    """
    _check_line_ending(line_ending)
    lines: list[str] = []
    if event is not None:
        if "\r" in event or "\n" in event:
            raise ValueError("event must not contain CR or LF")
        lines.append("event: " + event)
    if id is not None:
        if "\r" in id or "\n" in id:
            raise ValueError("id must not contain CR or LF")
        if "\x00" in id:
            # A receiver ignores an id containing NUL: refuse to send one that would vanish.
            raise ValueError("id must not contain NUL")
        lines.append("id: " + id)
    if retry is not None:
        if retry < 0:
            raise ValueError("retry must not be negative")
        lines.append(f"retry: {retry:d}")
    if "\r" in data:
        data = data.replace("\r\n", "\n").replace("\r", "\n")
    lines.extend(["data: " + part for part in data.split("\n")])
    lines.append("")
    lines.append("")
    return line_ending.join(lines).encode("utf-8")


def encode_comment(text: str = "", *, line_ending: str = "\n") -> bytes:
    """Encode one comment line (``": text"`` and a line ending), e.g. a keep-alive.

    A comment is not a blank line: it dispatches nothing and leaves a pending event pending.

    Raises:
        ValueError: ``text`` contains CR or LF, or ``line_ending`` is not one of the three.
    """
    _check_line_ending(line_ending)
    if "\r" in text or "\n" in text:
        raise ValueError("comment text must not contain CR or LF")
    return (": " + text + line_ending if text else ":" + line_ending).encode("utf-8")


for _cls in (ServerSentEvent, SSEDecoder):
    # Tracebacks and reprs say copilot_anyio.SSEDecoder, the public name.
    _cls.__module__ = "copilot_anyio"
del _cls
