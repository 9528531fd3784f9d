"""Plain data: what a stream yields, what a finished turn returns, and network settings.

Everything here is frozen and slotted, holds no I/O handle, and never holds a credential.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, final

__all__ = ["ChatChunk", "ChatResult", "Limits", "ThreadInfo", "Timeouts"]


@final
@dataclass(frozen=True, slots=True)
class ChatChunk:
    """One event of a chat stream.

    Attributes:
        type: the event's ``type`` (``"content"``, ``"complete"``, or any other the server sends;
            unknown types are passed through rather than dropped).
        text: the text delta to append; ``""`` for events that carry no text.
        data: the event's JSON object as the server sent it.
    """

    type: str
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@final
@dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished assistant turn.

    Attributes:
        text: the whole answer (every delta, in order).
        message_id: the assistant message's id, which the next turn sends as ``parentMessageID``.
        thread_id: the thread (conversation) the turn belongs to.
        parent_message_id: the ``parentMessageID`` the server reported for this turn.
        model: the model that answered, if the server said (``""`` otherwise).
        finish_reason: ``"stop"`` for a completed turn.
    """

    text: str
    message_id: str
    thread_id: str
    parent_message_id: str = ""
    model: str = ""
    finish_reason: Literal["stop"] = "stop"


@final
@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """A github.com chat thread as listed by the server."""

    id: str
    name: str = ""
    created_at: str = ""
    updated_at: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@final
@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts for the network phases of one request, in seconds.

    None of them is a deadline for a whole request or a whole stream: streams legitimately pause
    for minutes while a model reasons. For an overall deadline wrap the call in
    ``anyio.fail_after()`` (or ``move_on_after()``) yourself.

    Attributes:
        connect: establishing the TCP/TLS connection (``ConnectTimeout``).
        first_byte: from sending the request until the response headers (``ReadTimeout``).
        idle: the longest gap between two events of a stream (``StreamStalledError``). Keep-alive
            comments do not reset it: a server that only says ":" for this long has stalled.
        write: sending the request body (``WriteError``).
        pool: waiting for a free connection (``PoolTimeout``).
    """

    connect: float = 10.0
    first_byte: float = 60.0
    idle: float = 120.0
    write: float = 30.0
    pool: float = math.inf


@final
@dataclass(frozen=True, slots=True)
class Limits:
    """Concurrency limits of a client.

    Attributes:
        max_concurrent_requests: requests (streams included) in flight at once per account; the
            excess waits its turn in FIFO order. The HTTP connection pool is sized to match.
        stream_buffer: how many parsed chunks a stream buffers ahead of a slow consumer before
            the reader stops reading the socket (backpressure). 0 hands each chunk over directly.
    """

    max_concurrent_requests: int = 100
    stream_buffer: int = 16
