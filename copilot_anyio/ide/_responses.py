"""``/responses``: the reply object, its stream events, and folding a stream into a ``Response``.

The names follow the OpenAI Python library's Responses API (``Response``, ``response.output``,
``response.output_text``, ``event.type == "response.output_text.delta"``, ``event.delta``...),
so code written against it reads the same here. The classes are our own.

One class per wire object, not one per event type: ``ResponseStreamEvent`` has every field any
event carries (``delta``, ``item``, ``response``, ``item_id``...), ``None`` where an event has
none, and ``type`` says which event it is. ``ResponseOutputItem`` likewise holds a ``message``
(``content``), a ``function_call`` (``call_id``, ``name``, ``arguments``) or a ``reasoning`` item
(``summary``, ``encrypted_content``). That costs one typed decode per event, never fails on an
event or item type this release does not know (it passes through with ``type`` set), and reads
like the library's classes (``event.delta``, ``item.arguments``).

Stream folding (protocol.md §4.4, §10.5)
----------------------------------------
* ``response.created`` / ``.in_progress`` / ``.queued`` announce the response; they are not
  output. ``output_started`` turns true at the first event that is (an item added, a delta...).
* Text (``response.output_text.delta``), refusals, function-call arguments
  (``response.function_call_arguments.delta``) and reasoning summaries
  (``response.reasoning_summary_text.delta``) are joined per output item, keyed by
  ``output_index`` (else ``item_id``). The ``.done`` events and ``response.output_item.done``
  carry the whole value, which then wins over the joined pieces.
* ``response.completed`` (also ``response.done``) and ``response.incomplete`` end the stream;
  their ``response`` is the result, its ``output`` filled from the stream when the server sent
  it empty. ``copilot_usage`` is read beside ``response`` and inside it.
* ``response.failed`` and ``error`` raise ``StreamServerError`` with the text and tool calls so
  far; before any output, ``StreamFailedBeforeOutputError``: nothing was generated, so sending
  the request again on a new connection is safe (once or a few times, §10.5).
* ``[DONE]`` (some servers send it) ends the stream too. Payloads that are not JSON objects are
  counted in ``skipped``.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from .._errors import IncompleteStreamError, StreamFailedBeforeOutputError, StreamServerError
from ._types import (
    ChatCompletionMessageToolCall,
    CopilotUsage,
    Function,
    _Wire,
    lenient_decoder,
)

__all__ = [
    "IncompleteDetails",
    "ReasoningSummary",
    "Response",
    "ResponseAccumulator",
    "ResponseContent",
    "ResponseError",
    "ResponseInputTokensDetails",
    "ResponseOutputItem",
    "ResponseOutputTokensDetails",
    "ResponseStreamEvent",
    "ResponseUsage",
    "decode_response_event",
]

_DONE: Final = "[DONE]"
#: Events that announce the response without producing any of it (protocol.md §10.5).
ANNOUNCEMENTS: Final = frozenset({"response.created", "response.in_progress", "response.queued"})
_ENDINGS: Final = frozenset({"response.completed", "response.done", "response.incomplete"})


# --- the reply -------------------------------------------------------------------------------


class ResponseInputTokensDetails(_Wire, frozen=True):
    cached_tokens: int = 0


class ResponseOutputTokensDetails(_Wire, frozen=True):
    reasoning_tokens: int = 0


class ResponseUsage(_Wire, frozen=True):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    input_tokens_details: ResponseInputTokensDetails | None = None
    output_tokens_details: ResponseOutputTokensDetails | None = None


class ResponseContent(_Wire, frozen=True):
    """A part of a message item: ``output_text`` (``text``) or ``refusal`` (``refusal``)."""

    type: str = "output_text"
    text: str = ""
    annotations: list[Any] = msgspec.field(default_factory=list)
    refusal: str | None = None


class ReasoningSummary(_Wire, frozen=True):
    type: str = "summary_text"
    text: str = ""


class ResponseOutputItem(_Wire, frozen=True):
    """One entry of ``response.output``; ``type`` says which fields apply.

    * ``message``: ``role``, ``content`` (``output_text`` and ``refusal`` parts);
    * ``function_call``: ``call_id``, ``name``, ``arguments`` (JSON text, parse it yourself);
    * ``reasoning``: ``summary``, ``encrypted_content`` (send it back unchanged on replayed
      reasoning items, or the server refuses them, §3.7);
    * anything else passes through with the fields above that it shares.
    """

    type: str = "message"
    id: str = ""
    status: str | None = None
    role: str | None = None
    content: list[ResponseContent] | None = None
    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None
    summary: list[ReasoningSummary] | None = None
    encrypted_content: str | None = None


class ResponseError(_Wire, frozen=True):
    code: str | int | None = None
    message: str = ""


class IncompleteDetails(_Wire, frozen=True):
    reason: str | None = None


class Response(_Wire, frozen=True):
    """A whole ``/responses`` reply: the non-streaming body, or what a stream assembles into."""

    id: str = ""
    object: str = "response"
    created_at: float = 0
    status: str | None = None
    model: str = ""
    output: list[ResponseOutputItem] = msgspec.field(default_factory=list)
    usage: ResponseUsage | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    previous_response_id: str | None = None
    instructions: Any = None
    copilot_usage: CopilotUsage | None = None

    @property
    def output_text(self) -> str:
        """Every ``output_text`` part of every message item, joined (as the library's)."""
        return "".join(
            part.text
            for item in self.output
            if item.type == "message" and item.content
            for part in item.content
            if part.type == "output_text"
        )


# --- stream events ---------------------------------------------------------------------------


class ResponseStreamEvent(_Wire, frozen=True):
    """One event of a ``/responses`` stream (see the module docstring)."""

    type: str = ""
    sequence_number: int | None = None
    response: Response | None = None
    item: ResponseOutputItem | None = None
    item_id: str | None = None
    output_index: int | None = None
    content_index: int | None = None
    summary_index: int | None = None
    delta: str | None = None
    text: str | None = None
    arguments: str | None = None
    refusal: str | None = None
    part: Any = None
    #: ``error`` events
    code: str | int | None = None
    message: str | None = None
    param: str | None = None
    copilot_usage: CopilotUsage | None = None


#: One event from its JSON text, leniently; None if it is not a JSON object.
decode_response_event: Final = lenient_decoder(ResponseStreamEvent)


#: A ``Response`` from JSON text, leniently; None if it is not a JSON object.
decode_response: Final = lenient_decoder(Response)


# --- folding ---------------------------------------------------------------------------------


class _Item:
    """An output item being assembled."""

    __slots__ = (
        "arguments",
        "done",
        "id",
        "refusal",
        "start",
        "summary",
        "text",
        "type",
    )

    def __init__(self, item: ResponseOutputItem | None, item_id: str | None) -> None:
        self.start = item
        self.type = item.type if item is not None else "message"
        self.id = (item.id if item is not None else "") or item_id or ""
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.arguments: list[str] = []
        self.summary: dict[int, list[str]] = {}
        #: the whole item, from ``response.output_item.done``
        self.done: ResponseOutputItem | None = None

    def build(self) -> ResponseOutputItem:
        if self.done is not None:
            return self.done
        start = self.start if self.start is not None else ResponseOutputItem(id=self.id)
        if self.type == "function_call":
            return msgspec.structs.replace(
                start, arguments="".join(self.arguments) or start.arguments or "", status=None
            )
        if self.type == "reasoning":
            summary = [
                ReasoningSummary(text="".join(parts)) for _, parts in sorted(self.summary.items())
            ]
            return msgspec.structs.replace(start, summary=summary or start.summary)
        if self.type == "message":
            content = list(start.content or [])
            if self.text:
                content.append(ResponseContent(text="".join(self.text)))
            if self.refusal:
                content.append(ResponseContent(type="refusal", refusal="".join(self.refusal)))
            return msgspec.structs.replace(
                start, role=start.role or "assistant", content=content, status=None
            )
        return start

    def tool_call(self) -> ChatCompletionMessageToolCall:
        built = self.build()
        return ChatCompletionMessageToolCall(
            id=built.call_id or built.id,
            function=Function(name=built.name or "", arguments=built.arguments or ""),
        )


class ResponseAccumulator:
    """Folds the data strings of one ``/responses`` stream into events and a ``Response``.

    Fits the pump's protocol (``feed``, ``completed``, ``partial_text``, ``partial_tool_calls``,
    ``finish``). Pure and synchronous; one instance per stream.
    """

    __slots__ = (
        "_by_id",
        "_copilot_usage",
        "_done",
        "_items",
        "_last",
        "_output_started",
        "_response",
        "_result",
        "_text",
        "events",
        "skipped",
    )

    def __init__(self) -> None:
        self._items: dict[int, _Item] = {}
        self._by_id: dict[str, _Item] = {}
        self._last: _Item | None = None
        self._text: list[str] = []
        self._response: Response | None = None
        self._copilot_usage: CopilotUsage | None = None
        self._output_started = False
        self._done = False
        self._result: Response | None = None
        #: events decoded so far
        self.events = 0
        #: payloads that were not JSON objects and were ignored
        self.skipped = 0

    # --- what the pump reads -----------------------------------------------------------------

    @property
    def completed(self) -> bool:
        """True once the terminal event (or ``[DONE]``) arrived."""
        return self._done

    @property
    def output_started(self) -> bool:
        """Has any event beyond the announcements (created, in progress, queued) arrived?

        While false, a failure means nothing was generated and the request can be resent.
        """
        return self._output_started

    @property
    def partial_text(self) -> str:
        """Every text delta so far, joined."""
        return "".join(self._text)

    @property
    def partial_tool_calls(self) -> tuple[ChatCompletionMessageToolCall, ...]:
        """The function calls so far, as chat-style tool calls (``arguments`` maybe cut short)."""
        return tuple(
            item.tool_call()
            for _, item in sorted(self._items.items())
            if item.type == "function_call"
        ) + tuple(
            item.tool_call()
            for item in self._by_id.values()
            if item.type == "function_call" and item not in self._items.values()
        )

    @property
    def response_id(self) -> str | None:
        """The response's id, once announced."""
        return self._response.id if self._response is not None else None

    def feed(self, data: str) -> ResponseStreamEvent | None:
        """Interpret one event's data: the event, or None for ``[DONE]`` and skipped payloads.

        Raises:
            StreamFailedBeforeOutputError: ``response.failed`` or ``error`` before any output.
            StreamServerError: the same after output began; carries the partial text and calls.
        """
        if len(data) < 16 and data.strip() == _DONE:
            self._done = True
            return None
        event = decode_response_event(data)
        if event is None:
            self.skipped += 1
            return None
        self.events += 1
        kind = event.type
        if kind == "response.output_text.delta":
            self._output_started = True
            if event.delta:
                self._text.append(event.delta)
                self._item(event).text.append(event.delta)
            return event
        if kind == "response.function_call_arguments.delta":
            self._output_started = True
            if event.delta:
                self._item(event).arguments.append(event.delta)
            return event
        if kind == "response.reasoning_summary_text.delta":
            self._output_started = True
            if event.delta:
                item = self._item(event)
                item.summary.setdefault(event.summary_index or 0, []).append(event.delta)
            return event
        if kind in ANNOUNCEMENTS:
            if event.response is not None:
                self._response = event.response
            return event
        if kind in _ENDINGS:
            self._end(event)
            return event
        if kind == "response.failed" or kind == "error":
            raise self._failure(event)
        self._output_started = True
        if kind == "response.output_item.added":
            self._item(event, event.item)
        elif kind == "response.output_item.done":
            if event.item is not None:
                self._item(event, event.item).done = event.item
        elif kind == "response.output_text.done":
            item = self._item(event)
            if event.text is not None and event.text != "".join(item.text):
                item.text = [event.text]
        elif kind == "response.function_call_arguments.done":
            if event.arguments is not None:
                self._item(event).arguments = [event.arguments]
        elif kind == "response.refusal.delta":
            if event.delta:
                self._item(event).refusal.append(event.delta)
        elif kind == "response.reasoning_summary_text.done" and event.text is not None:
            self._item(event).summary[event.summary_index or 0] = [event.text]
        return event

    def finish(self) -> Response:
        """The assembled reply.

        Raises:
            IncompleteStreamError: the body ended before the terminal event.
        """
        if self._result is not None:
            return self._result
        if not self._done or (self._response is None and not self._items):
            raise IncompleteStreamError(
                "the response ended before the server said it was finished",
                partial_text=self.partial_text,
                partial_tool_calls=self.partial_tool_calls,
            )
        base = self._response if self._response is not None else Response()
        output = base.output or self._built_items()
        self._result = msgspec.structs.replace(
            base,
            output=output,
            copilot_usage=self._copilot_usage or base.copilot_usage,
        )
        return self._result

    # --- internals ---------------------------------------------------------------------------

    def _built_items(self) -> list[ResponseOutputItem]:
        items = [item for _, item in sorted(self._items.items())]
        items += [item for item in self._by_id.values() if item not in items]
        return [item.build() for item in items]

    def _item(self, event: ResponseStreamEvent, start: ResponseOutputItem | None = None) -> _Item:
        index = event.output_index
        item_id = event.item_id or (start.id if start is not None else None)
        found = self._items.get(index) if index is not None else None
        if found is None and item_id:
            found = self._by_id.get(item_id)
        if found is None and index is None and not item_id:
            found = self._last
        if found is None:
            found = _Item(start, item_id)
            if found.id:
                self._by_id[found.id] = found
        elif start is not None and found.start is None:
            found.start = start
            found.type = start.type
        if index is not None and index not in self._items:
            self._items[index] = found
        self._last = found
        return found

    def _end(self, event: ResponseStreamEvent) -> None:
        self._done = True
        if event.response is not None:
            self._response = event.response
        if event.copilot_usage is not None:
            self._copilot_usage = event.copilot_usage

    def _failure(self, event: ResponseStreamEvent) -> StreamServerError:
        message: str | None
        code: str | int | None
        if event.type == "error":
            message, code = event.message, event.code
        else:
            error = event.response.error if event.response is not None else None
            message = error.message if error is not None else None
            code = error.code if error is not None else None
        text = (message or "").strip() or f"the server reported {event.type!r} in the stream"
        cls = StreamServerError if self._output_started else StreamFailedBeforeOutputError
        return cls(
            text,
            partial_text=self.partial_text,
            partial_tool_calls=self.partial_tool_calls,
            code=None if code is None else str(code),
        )
