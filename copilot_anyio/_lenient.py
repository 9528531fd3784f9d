"""Where Copilot's streams bend the rules, and how they are read anyway, without losing text.

**Framing.** Events separated by a single LF (VS Code's captures show such streams, protocol.md §4.1 rule 5)
are one endless event to an exact WHATWG decoder. ``SingleNewlineFraming`` puts the missing
blank line after every line that ends in ``}`` (a complete JSON ``data:`` line: Copilot data
lines are single JSON objects, in both flavours) before the bytes reach the exact decoder. On a
stream that is already framed with blank lines this adds an empty line, which dispatches nothing.

**Payloads.** An event's data is one JSON object. ``event_json`` reads it as sent; failing that,
leniently (raw control characters inside strings, which some servers leave unescaped); failing
that, a payload that was meant to be an object (it starts with ``{``) may have carried text, so
it is MalformedEventError rather than silently dropped. Anything else (a ``ping``, a bare word)
is no event of ours and is skipped.

Pure. Strict reading uses msgspec (as the IDE flavour does), then the standard library.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

import msgspec

from ._errors import MalformedEventError

__all__ = ["SKIP", "SingleNewlineFraming", "event_json"]

#: A line ending in ``}`` without a blank line after it (or at the end of the chunk, where the
#: next chunk decides).
_UNFRAMED: Final = re.compile(rb"\}\r?\n(?!\r?\n)")

#: What ``event_json`` returns for a payload that is not an event of ours.
SKIP: Final[Any] = object()

_decode: Final = msgspec.json.Decoder().decode


def event_json(data: str, *, partial_text: str = "") -> Any:
    """One event's data as JSON, read strictly, then leniently; SKIP for a non-JSON payload.

    Raises MalformedEventError (with ``partial_text``) for a payload that looks like an object
    but cannot be read even leniently.
    """
    try:
        # msgspec first: about a tenth of ``json.loads``'s time per event. It reads nothing
        # that ``json.loads`` would read differently; what it refuses (NaN, lone surrogate
        # escapes, numbers out of float range) goes on to ``json.loads``, as before.
        return _decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        pass
    try:
        return json.loads(data, strict=False)
    except (ValueError, RecursionError):
        pass
    if data.lstrip().startswith("{"):
        raise MalformedEventError(
            f"an event's data is not JSON, even read leniently ({len(data)} characters starting "
            f"{data[:24]!r}); the stream ends here so that no text is lost unseen",
            partial_text=partial_text,
        )
    return SKIP


class SingleNewlineFraming:
    """Bytes in, bytes out: a blank line after each line that ends in ``}``.

    Handles LF and CRLF line ends (``}\\n`` → ``}\\n\\n``, ``}\\r\\n`` → ``}\\r\\n\\r\\n``), with
    ``bytes.replace`` per chunk (C speed); a chunk whose lines already have their blank line
    (one regular expression search tells) is passed on untouched. The only state is the tail of the
    previous chunk, for a ``}`` / CR / LF run split between chunks. A CR-only stream is left
    alone: a lone CR cannot be told from the first half of a CRLF without waiting for the next
    byte.
    """

    __slots__ = ("_tail",)

    def __init__(self) -> None:
        self._tail = b""  # b"}" or b"}\\r" when the previous chunk ended inside such a run

    def feed(self, data: bytes) -> bytes:
        if not data:
            return data
        if not self._tail and not data.endswith((b"}", b"}\r")) and not _UNFRAMED.search(data):
            # Already framed (every such line is followed by a blank one; the usual stream):
            # passed on as it is. An extra blank line would cost nothing in events, but would
            # keep the decoder off its fast paths, which take stray blank lines for the
            # general case.
            return data
        out = data.replace(b"}\r\n", b"}\r\n\r\n").replace(b"}\n", b"}\n\n")
        tail = self._tail
        if tail == b"}" and data.startswith(b"\n"):
            out = b"\n" + out  # "}" | "\n..." -> "}\n\n..."
        elif tail == b"}" and data.startswith(b"\r\n"):
            out = b"\r\n" + out  # "}" | "\r\n..." -> "}\r\n\r\n..."
        elif tail == b"}\r" and data.startswith(b"\n"):
            out = b"\n\r\n" + out[1:]  # "}\r" | "\n..." -> "}\r\n\r\n..."
        end = (tail + data)[-2:]
        self._tail = b"}" if end.endswith(b"}") else b"}\r" if end == b"}\r" else b""
        return out
