"""Plain data: what a stream yields and what a finished turn returns.

Everything here is frozen and slotted, holds no I/O handle, and never holds a credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, final

__all__ = ["ChatChunk", "ChatResult", "ThreadInfo"]


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
