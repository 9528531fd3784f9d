"""The github.com web-chat ("threads") flavour, as data: requests out, stream events in.

Theory of operation
-------------------
The web flavour is four steps (protocol.md §2): session cookies buy a short-lived web token at
``POST {github}/github-copilot/chat/token``; the token, sent as ``Authorization: GitHub-Bearer``,
creates a thread on the Copilot API host; each user message is posted to that thread with
``parentMessageID`` naming the previous assistant message; the reply streams back as
``data: {"type": ...}`` events with no ``event:`` lines and no ``[DONE]``, ending at ``complete``.

This module only *describes* those requests (method, URL, headers, body) and *interprets* the
JSON objects of the reply. It sends nothing and reads no clock; ``_transport.py`` does the I/O.
Keeping it pure means every header and every edge of the reply grammar is tested without a socket.

Choices written down:

* Cookies go only to the github.com host, never to the API host (protocol.md §2.1: one client
  leaked them there through a host-agnostic cookie jar).
* ``responseMessageID`` is a fresh UUID4 the caller passes in (this module draws no randomness).
* A payload that is not JSON is skipped (protocol.md §4.1 rule 7), unless it was meant to be an
  object: that one may have held text, so it ends the stream (``_lenient.event_json``). An unknown
  ``type`` is passed through to the caller as a raw chunk (§4.2 "surface unknown types").
* A stream that ends without ``complete`` is incomplete, never silently treated as done.
* Events separated by a single LF are framed leniently upstream (``_lenient.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, cast
from urllib.parse import quote

from .._errors import (
    IncompleteStreamError,
    RemoteProtocolError,
    StreamServerError,
    UsageError,
)
from .._http import Request, header_safe
from .._lenient import event_json
from .._models import ChatChunk, ChatResult, ThreadInfo

__all__ = [
    "AUTH_SCHEME",
    "INTEGRATION_ID",
    "Request",
    "WebStreamAccumulator",
    "create_thread_request",
    "delete_thread_request",
    "flatten_messages",
    "last_assistant_message_id",
    "list_messages_request",
    "list_threads_request",
    "parse_thread_id",
    "parse_threads",
    "parse_web_token",
    "result_from_message",
    "send_message_request",
    "thread_segment",
    "web_token_request",
]

INTEGRATION_ID: Final = "copilot-chat"
_BROWSER_UA: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


#: The scheme of the web token in ``Authorization`` (the send loop's auth adds the header).
AUTH_SCHEME: Final = "GitHub-Bearer"


def thread_segment(thread_id: str) -> str:
    """``thread_id`` as exactly one URL path segment (percent-encoded), or UsageError.

    An id is the server's, but it reaches us through callers: ``"a/../b"``, ``"id#x"`` or
    ``"id?x"`` must never change which thread a request touches.
    """
    if not isinstance(cast(object, thread_id), str) or thread_id in ("", ".", ".."):
        raise UsageError(f"thread_id must be a non-empty string, not {thread_id!r:.40}")
    return quote(thread_id, safe="")


def _api_headers(github_url: str) -> dict[str, str]:
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Copilot-Integration-Id": INTEGRATION_ID,
        "Origin": github_url,
        "User-Agent": _BROWSER_UA,
    }


def web_token_request(github_url: str) -> Request:
    """``POST {github}/github-copilot/chat/token``: the four headers every working client sends."""
    return Request(
        "POST",
        f"{github_url}/github-copilot/chat/token",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/json",
            "GitHub-Verified-Fetch": "true",
            "X-Requested-With": "XMLHttpRequest",
            "Origin": github_url,
            "Referer": f"{github_url}/copilot",
            "User-Agent": _BROWSER_UA,
        },
    )


def parse_web_token(payload: Any) -> str:
    """The ``token`` of a chat/token reply; RemoteProtocolError if there is none."""
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise RemoteProtocolError("the chat/token reply carried no token")
    if not header_safe(token) or " " in token:
        raise RemoteProtocolError(
            "the chat/token reply carried a token that cannot be sent in an HTTP header "
            "(control characters, white space or non-ASCII)"
        )
    return token


def create_thread_request(api_url: str, github_url: str) -> Request:
    """``POST {api}/github/chat/threads`` with the browser's body."""
    return Request(
        "POST",
        f"{api_url}/github/chat/threads",
        headers=_api_headers(github_url),
        json={"custom_copilot_id": None},
    )


def parse_thread_id(payload: Any) -> str:
    """The new thread's id: ``thread_id``, else ``thread.id``."""
    if isinstance(payload, dict):
        tid = payload.get("thread_id")
        if not (isinstance(tid, str) and tid) and isinstance(payload.get("thread"), dict):
            tid = payload["thread"].get("id")
        if isinstance(tid, str) and tid:
            return tid
    raise RemoteProtocolError("the create-thread reply carried no thread id")


def list_threads_request(api_url: str, github_url: str) -> Request:
    return Request("GET", f"{api_url}/github/chat/threads", headers=_api_headers(github_url))


def parse_threads(payload: Any) -> list[ThreadInfo]:
    """Threads from ``{"threads": [...]}``; entries without an id are skipped."""
    items = payload.get("threads") if isinstance(payload, dict) else None
    return [
        ThreadInfo(
            id=item["id"],
            name=str(item.get("name") or ""),
            created_at=str(item.get("createdAt") or ""),
            updated_at=str(item.get("updatedAt") or ""),
            data=item,
        )
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
    ]


def list_messages_request(api_url: str, github_url: str, thread_id: str) -> Request:
    return Request(
        "GET",
        f"{api_url}/github/chat/threads/{thread_segment(thread_id)}/messages",
        headers=_api_headers(github_url),
    )


def last_assistant_message_id(payload: Any) -> str:
    """The id of the thread's last assistant message (``"root"`` for a thread without one)."""
    messages = payload.get("messages") if isinstance(payload, dict) else None
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "assistant":
            mid = message.get("id")
            if isinstance(mid, str) and mid:
                return mid
    return "root"


def delete_thread_request(api_url: str, github_url: str, thread_id: str) -> Request:
    return Request(
        "DELETE",
        f"{api_url}/github/chat/threads/{thread_segment(thread_id)}",
        headers=_api_headers(github_url),
    )


def send_message_request(
    api_url: str,
    github_url: str,
    *,
    thread_id: str,
    content: str,
    model: str,
    parent_message_id: str,
    response_message_id: str,
    streaming: bool = True,
) -> Request:
    """``POST {api}/github/chat/threads/{id}/messages`` with the body the browser sends."""
    headers = _api_headers(github_url)
    if streaming:
        headers["Accept"] = "text/event-stream"
    body = {
        "content": content,
        "intent": "conversation",
        "references": [],
        "context": [],
        "confirmations": [],
        "customInstructions": [],
        "tools": [],
        "streaming": streaming,
        "currentURL": f"{github_url}/copilot/c/{thread_id}",
        "model": model,
        "mode": "immersive",
        "customCopilotID": None,
        "parentMessageID": parent_message_id or "root",
        "responseMessageID": response_message_id,
    }
    return Request(
        "POST",
        f"{api_url}/github/chat/threads/{thread_segment(thread_id)}/messages",
        headers=headers,
        json=body,
    )


def flatten_messages(messages: Sequence[Mapping[str, Any]]) -> str:
    """Fold an OpenAI-style message list into one prompt, for a thread with no history.

    A single user message is sent as it is; a longer transcript is written out with role labels
    so the model sees the whole conversation in one ``content``.
    """
    if len(messages) == 1 and messages[0].get("role", "user") == "user":
        return _content_text(messages[0].get("content"))
    lines = []
    for message in messages:
        role = str(message.get("role", "user")).capitalize()
        lines.append(f"{role}: {_content_text(message.get('content'))}")
    return "\n\n".join(lines)


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text parts
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


class WebStreamAccumulator:
    """Folds the ``data:`` payloads of one web reply into chunks and a final ChatResult.

    ``feed(data)`` takes one SSE event's data string and returns the chunk to hand to the caller
    (or None for a payload that is skipped). ``finish()`` returns the ChatResult once ``completed``
    is true, and raises IncompleteStreamError for a body that ended before that.
    """

    __slots__ = ("_complete", "_parts", "_thread_id", "skipped")

    def __init__(self, thread_id: str) -> None:
        self._thread_id = thread_id
        self._parts: list[str] = []
        self._complete: Mapping[str, Any] | None = None
        #: payloads that were not JSON objects and were skipped (protocol.md §4.1 rule 7)
        self.skipped = 0

    @property
    def partial_text(self) -> str:
        """Every text delta received so far, joined."""
        return "".join(self._parts)

    @property
    def completed(self) -> bool:
        return self._complete is not None

    def feed(self, data: str) -> ChatChunk | None:
        """Interpret one event's data. Raises StreamServerError for an in-stream error, and
        MalformedEventError for an object that cannot be read (see ``_lenient.event_json``)."""
        obj = event_json(data, partial_text=self.partial_text)
        if not isinstance(obj, dict):
            self.skipped += 1
            return None
        kind = obj.get("type")
        if kind == "content":
            body = obj.get("body")
            text = body if isinstance(body, str) else ""
            self._parts.append(text)
            return ChatChunk("content", text, obj)
        if kind == "complete":
            self._complete = obj
            return ChatChunk("complete", "", obj)
        if kind == "error" or (kind is None and "error" in obj):
            raise StreamServerError(
                _error_message(obj), partial_text=self.partial_text, code=_error_code(obj)
            )
        return ChatChunk(str(kind) if kind is not None else "unknown", "", obj)

    def finish(self) -> ChatResult:
        """The finished turn; IncompleteStreamError when ``complete`` never came."""
        done = self._complete
        if done is None:
            raise IncompleteStreamError(
                "the reply ended without a 'complete' event", partial_text=self.partial_text
            )
        return ChatResult(
            text=self.partial_text,
            message_id=str(done.get("id") or ""),
            thread_id=self._thread_id,
            parent_message_id=str(done.get("parentMessageID") or ""),
            model=str(done.get("model") or ""),
        )


def result_from_message(payload: Any, thread_id: str) -> ChatResult:
    """The non-streaming reply ``{"message": {...}}`` as a ChatResult."""
    message = payload.get("message") if isinstance(payload, dict) else None
    if not isinstance(message, dict):
        raise RemoteProtocolError("the message reply carried no message object")
    content = message.get("content")
    return ChatResult(
        text=content if isinstance(content, str) else "",
        message_id=str(message.get("id") or ""),
        thread_id=thread_id,
        parent_message_id=str(message.get("parentMessageID") or ""),
        model=str(message.get("model") or ""),
    )


def _error_message(obj: Mapping[str, Any]) -> str:
    err = obj.get("error")
    if isinstance(err, dict):
        return str(err.get("message") or "the server reported an error in the stream")
    if isinstance(err, str) and err:
        return err
    return str(
        obj.get("message") or obj.get("body") or "the server reported an error in the stream"
    )


def _error_code(obj: Mapping[str, Any]) -> str | None:
    err = obj.get("error")
    code = err.get("code") if isinstance(err, dict) else obj.get("code")
    return None if code is None else str(code)
