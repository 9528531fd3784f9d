"""A slow reference decoder, transcribed step by step from the WHATWG HTML standard.

Source: HTML Living Standard, "Server-sent events", section "Parsing an event stream" and
"Interpreting an event stream". Unlike :class:`copilot_anyio.SSEDecoder` this takes the whole
stream at once and does nothing clever, so that it can be read against the standard line by
line. The property tests require the incremental decoder to agree with it for any input and
any chunking.

Two points the standard leaves to the API and that this module pins down the way the
decoder's API documents them:

* ``OracleEvent.retry`` is the last valid ``retry`` value seen in the event's own block (the
  lines since the previous blank line), else ``None``; the stream-wide value is
  ``OracleResult.reconnection_time``.
* A ``retry`` value with more significant digits than Python's ``int()`` converts
  (``sys.get_int_max_str_digits()``) is ignored like any other unusable value.
* ``OracleResult.last_event_id`` is the *last event ID string*, which the standard updates
  only when an event is dispatched (step 1 of "dispatch the event"), even when the data
  buffer turns out to be empty and no event is fired. An ``id`` line in a block that the
  end of the stream cuts off never reaches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["OracleEvent", "OracleResult", "interpret"]

_LINE_END = re.compile(r"\r\n|\r|\n")
_ASCII_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class OracleEvent:
    event: str
    data: str
    id: str
    retry: int | None


@dataclass
class OracleResult:
    events: list[OracleEvent] = field(default_factory=list)
    last_event_id: str = ""
    reconnection_time: int | None = None


def _retry_value(value: str) -> int | None:
    # "If the field value consists of only ASCII digits, then interpret the field value as an
    # integer in base ten, and set the event stream's reconnection time to that integer.
    # Otherwise, ignore the field." An empty value has no digits to interpret: ignored.
    if not _ASCII_DIGITS.fullmatch(value):
        return None
    try:
        return int(value.lstrip("0") or "0")
    except ValueError:
        # More significant digits than int() will convert (sys.get_int_max_str_digits()).
        return None


def interpret(stream: bytes) -> OracleResult:
    """Interpret a complete event stream, end of file included."""
    # "Streams must be decoded using the UTF-8 decode algorithm." That algorithm strips one
    # leading BOM and replaces each maximal invalid subsequence with U+FFFD, which is what
    # Python's "replace" error handler does.
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]

    # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF)
    # character pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE
    # RETURN (CR) character." Only these three: U+2028, U+0085 and friends are ordinary text.
    pieces = _LINE_END.split(text)
    # The last piece has no line ending: "Once the end of the file is reached, any pending
    # data must be discarded." A line still being received is pending data too.
    lines = pieces[:-1]

    result = OracleResult()
    data_buffer = ""
    event_type_buffer = ""
    last_event_id_buffer = ""
    block_retry: int | None = None

    for line in lines:
        # "If the line is empty (a blank line): Dispatch the event."
        if line == "":
            # Step 1: the last event ID string takes the buffer's value, event or no event.
            result.last_event_id = last_event_id_buffer
            # Step 2: "If the data buffer is an empty string, set the data buffer and the
            # event type buffer to the empty string and return."
            if data_buffer == "":
                data_buffer = ""
                event_type_buffer = ""
                block_retry = None
                continue
            # Step 3: "If the data buffer's last character is a U+000A LINE FEED (LF)
            # character, then remove the last character from the data buffer."
            if data_buffer.endswith("\n"):
                data_buffer = data_buffer[:-1]
            # Steps 4-5: the event's type is the event type buffer unless that is empty, in
            # which case it is "message"; its lastEventId is the last event ID string.
            result.events.append(
                OracleEvent(
                    event=event_type_buffer if event_type_buffer != "" else "message",
                    data=data_buffer,
                    id=result.last_event_id,
                    retry=block_retry,
                )
            )
            # Step 6 (and the end of this block for the per-event retry).
            data_buffer = ""
            event_type_buffer = ""
            block_retry = None
            continue

        # "If the line starts with a U+003A COLON character (:): Ignore the line."
        if line.startswith(":"):
            continue

        # "If the line contains a U+003A COLON character (:)": the field name is what comes
        # before the first colon, the value what comes after it, minus one leading space.
        # "Otherwise, the string is not empty but does not contain a U+003A COLON character":
        # the whole line is the field name and the value is the empty string.
        if ":" in line:
            name, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            name, value = line, ""

        # "Process the field".
        if name == "event":
            event_type_buffer = value
        elif name == "data":
            data_buffer += value + "\n"
        elif name == "id":
            # "If the field value does not contain U+0000 NULL, then set the last event ID
            # buffer to the field value. Otherwise, ignore the field."
            if "\x00" not in value:
                last_event_id_buffer = value
        elif name == "retry" and (retry := _retry_value(value)) is not None:
            result.reconnection_time = retry
            block_retry = retry
        # "Otherwise: The field is ignored."

    return result
