"""``/v1/messages``: Claude's Messages API on Copilot, its stream, and folding it into a ``Message``.

The names follow the Anthropic Python library (``Message``, ``message.content[i].text``,
``block.type == "tool_use"``, ``block.input``, ``event.delta.partial_json``...), so code written
against it reads the same here. The classes are our own.

As for ``/responses``, one class per wire object: ``ContentBlock`` is a ``text``, ``tool_use``
(``id``, ``name``, ``input``), ``thinking`` (``thinking``, ``signature``), ``redacted_thinking``
(``data``) or a block type this release does not know; ``MessageStreamEvent`` carries whatever
field its ``type`` uses. One typed decode per event, and no event or block type is refused.

Stream folding (protocol.md §4.5, §10.6)
----------------------------------------
* ``message_start`` carries the message shell: id (opaque: ``msg_bdrk_…``, ``msg_vrtx_…``),
  model, the input token counts.
* ``content_block_start`` opens block ``index``; ``content_block_delta`` adds to it:
  ``text_delta`` (text), ``input_json_delta`` (pieces of the tool input's JSON text, parsed at
  ``content_block_stop``), ``thinking_delta``, ``signature_delta``. Other deltas (citations) pass
  through.
* ``message_delta`` brings ``stop_reason``, ``stop_sequence``, the output token count (merged
  into the usage of ``message_start``) and, on Copilot, ``copilot_usage``.
* ``message_stop`` ends the stream; a trailing ``[DONE]`` is tolerated. ``ping`` events are
  not returned (a keep-alive is not activity).
* ``error`` events raise ``StreamServerError`` (``code`` is the error's ``type``, such as
  ``overloaded_error``) with the text and tool calls so far.
* A body that ends without ``message_stop`` still gives the message when ``message_delta`` had
  said why it stopped; otherwise ``IncompleteStreamError``.
"""

from __future__ import annotations

import json
from typing import Any, Final

import msgspec

from .._errors import IncompleteStreamError, StreamServerError
from ._types import (
    ChatCompletionMessageToolCall,
    CopilotUsage,
    Function,
    _Wire,
    lenient_decoder,
)

__all__ = [
    "ContentBlock",
    "Message",
    "MessageAccumulator",
    "MessageDelta",
    "MessageError",
    "MessageStreamEvent",
    "MessageUsage",
    "decode_message",
    "decode_message_event",
]

_DONE: Final = "[DONE]"


class MessageUsage(_Wire, frozen=True):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    server_tool_use: Any = None
    service_tier: str | None = None


class ContentBlock(_Wire, frozen=True):
    """One block of a message; ``type`` says which fields apply (see the module docstring).

    ``input`` of a ``tool_use`` block is the parsed JSON object; when streamed JSON could not be
    parsed it is ``{}`` and ``partial_json`` keeps the text as received.
    """

    type: str = "text"
    text: str | None = None
    citations: list[Any] | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None
    partial_json: str | None = None


class Message(_Wire, frozen=True):
    """A whole ``/v1/messages`` reply: the non-streaming body, or what a stream assembles into."""

    id: str = ""
    type: str = "message"
    role: str = "assistant"
    model: str = ""
    content: list[ContentBlock] = msgspec.field(default_factory=list)
    #: ``end_turn``, ``tool_use``, ``max_tokens``, ``stop_sequence``, ``refusal``,
    #: ``model_context_window_exceeded``, or any other value the server sends
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: MessageUsage | None = None
    copilot_usage: CopilotUsage | None = None

    @property
    def text(self) -> str:
        """Every text block, joined."""
        return "".join(b.text or "" for b in self.content if b.type == "text")

    @property
    def tool_uses(self) -> list[ContentBlock]:
        """The ``tool_use`` blocks, in order."""
        return [b for b in self.content if b.type == "tool_use"]


class MessageDelta(_Wire, frozen=True):
    """``delta`` of ``content_block_delta`` (``text_delta``, ``input_json_delta``...) or of
    ``message_delta`` (``stop_reason``, ``stop_sequence``)."""

    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    citation: Any = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class MessageError(_Wire, frozen=True):
    type: str | None = None
    message: str | None = None


class MessageStreamEvent(_Wire, frozen=True):
    """One event of a ``/v1/messages`` stream (see the module docstring)."""

    type: str = ""
    message: Message | None = None
    index: int | None = None
    content_block: ContentBlock | None = None
    delta: MessageDelta | None = None
    usage: MessageUsage | None = None
    error: MessageError | None = None
    copilot_usage: CopilotUsage | None = None
    copilot_annotations: Any = None


#: One event from its JSON text, leniently; None if it is not a JSON object.
decode_message_event: Final = lenient_decoder(MessageStreamEvent)


#: A ``Message`` from JSON text, leniently; None if it is not a JSON object.
decode_message: Final = lenient_decoder(Message)


class _Block:
    __slots__ = ("done", "json", "signature", "start", "text", "thinking")

    def __init__(self, start: ContentBlock) -> None:
        self.start = start
        self.text: list[str] = []
        self.json: list[str] = []
        self.thinking: list[str] = []
        self.signature: list[str] = []
        self.done: ContentBlock | None = None

    def build(self) -> ContentBlock:
        if self.done is not None:
            return self.done
        start = self.start
        kind = start.type
        if kind == "text":
            return msgspec.structs.replace(start, text=(start.text or "") + "".join(self.text))
        if kind in ("tool_use", "server_tool_use"):
            text = "".join(self.json)
            if not text:
                return msgspec.structs.replace(
                    start, input=start.input if start.input is not None else {}
                )
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                return msgspec.structs.replace(start, input={}, partial_json=text)
            return msgspec.structs.replace(start, input=parsed)
        if kind == "thinking":
            return msgspec.structs.replace(
                start,
                thinking=(start.thinking or "") + "".join(self.thinking),
                signature="".join(self.signature) or start.signature,
            )
        return start

    def tool_call(self) -> ChatCompletionMessageToolCall:
        start = self.start
        arguments = "".join(self.json)
        if not arguments and start.input:
            arguments = json.dumps(start.input, separators=(",", ":"))
        return ChatCompletionMessageToolCall(
            id=start.id or "", function=Function(name=start.name or "", arguments=arguments)
        )


def _merge_usage(base: MessageUsage | None, update: MessageUsage) -> MessageUsage:
    """``message_delta`` usage over ``message_start`` usage: the delta's counts are cumulative,
    but it may leave out the input counts (they stay as ``message_start`` said)."""
    if base is None:
        return update
    return MessageUsage(
        input_tokens=update.input_tokens or base.input_tokens,
        output_tokens=update.output_tokens or base.output_tokens,
        cache_creation_input_tokens=(
            update.cache_creation_input_tokens
            if update.cache_creation_input_tokens is not None
            else base.cache_creation_input_tokens
        ),
        cache_read_input_tokens=(
            update.cache_read_input_tokens
            if update.cache_read_input_tokens is not None
            else base.cache_read_input_tokens
        ),
        server_tool_use=update.server_tool_use or base.server_tool_use,
        service_tier=update.service_tier or base.service_tier,
    )


class MessageAccumulator:
    """Folds the data strings of one ``/v1/messages`` stream into events and a ``Message``.

    Fits the pump's protocol (``feed``, ``completed``, ``partial_text``, ``partial_tool_calls``,
    ``finish``). Pure and synchronous; one instance per stream.
    """

    __slots__ = (
        "_blocks",
        "_copilot_usage",
        "_done",
        "_message",
        "_result",
        "_stop_reason",
        "_stop_sequence",
        "_text",
        "_usage",
        "events",
        "skipped",
    )

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._text: list[str] = []
        self._message: Message | None = None
        self._usage: MessageUsage | None = None
        self._copilot_usage: CopilotUsage | None = None
        self._stop_reason: str | None = None
        self._stop_sequence: str | None = None
        self._done = False
        self._result: Message | None = None
        #: events decoded so far
        self.events = 0
        #: payloads that were not JSON objects and were ignored
        self.skipped = 0

    @property
    def completed(self) -> bool:
        """True once ``message_stop`` (or ``[DONE]``) arrived."""
        return self._done

    @property
    def output_started(self) -> bool:
        """Has any content block begun?"""
        return bool(self._blocks)

    @property
    def partial_text(self) -> str:
        """Every text delta so far, joined."""
        return "".join(self._text)

    @property
    def partial_tool_calls(self) -> tuple[ChatCompletionMessageToolCall, ...]:
        """The ``tool_use`` blocks so far, as chat-style tool calls (``arguments`` is the input's
        JSON text, maybe cut short)."""
        return tuple(
            block.tool_call()
            for _, block in sorted(self._blocks.items())
            if block.start.type == "tool_use"
        )

    @property
    def usage(self) -> MessageUsage | None:
        return self._usage

    def feed(self, data: str) -> MessageStreamEvent | None:
        """Interpret one event's data: the event, or None for ``ping``, ``[DONE]`` and skipped
        payloads.

        Raises:
            StreamServerError: an ``error`` event; carries the partial text and tool calls.
        """
        if len(data) < 16 and data.strip() == _DONE:
            self._done = True
            return None
        event = decode_message_event(data)
        if event is None:
            self.skipped += 1
            return None
        self.events += 1
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            block = self._blocks.get(event.index or 0)
            if delta is None:
                return event
            if block is None:
                block = self._open(event.index or 0, ContentBlock(type=_block_type(delta.type)))
            dtype = delta.type
            if dtype == "text_delta":
                if delta.text:
                    block.text.append(delta.text)
                    self._text.append(delta.text)
            elif dtype == "input_json_delta":
                if delta.partial_json:
                    block.json.append(delta.partial_json)
            elif dtype == "thinking_delta":
                if delta.thinking:
                    block.thinking.append(delta.thinking)
            elif dtype == "signature_delta" and delta.signature:
                block.signature.append(delta.signature)
            return event
        if kind == "content_block_start":
            if event.content_block is not None:
                self._open(event.index or 0, event.content_block)
                if event.content_block.type == "text" and event.content_block.text:
                    self._text.append(event.content_block.text)
            return event
        if kind == "content_block_stop":
            block = self._blocks.get(event.index or 0)
            if block is not None:
                block.done = block.build()
            return event
        if kind == "message_start":
            if event.message is not None:
                self._message = event.message
                if event.message.usage is not None:
                    self._usage = event.message.usage
            return event
        if kind == "message_delta":
            if event.delta is not None:
                if event.delta.stop_reason is not None:
                    self._stop_reason = event.delta.stop_reason
                if event.delta.stop_sequence is not None:
                    self._stop_sequence = event.delta.stop_sequence
            if event.usage is not None:
                self._usage = _merge_usage(self._usage, event.usage)
            if event.copilot_usage is not None:
                self._copilot_usage = event.copilot_usage
            return event
        if kind == "message_stop":
            self._done = True
            if event.copilot_usage is not None:
                self._copilot_usage = event.copilot_usage
            return event
        if kind == "ping":
            return None
        if kind == "error":
            error = event.error
            message = (error.message or "").strip() if error is not None else ""
            raise StreamServerError(
                message or "the server reported an error in the stream",
                partial_text=self.partial_text,
                partial_tool_calls=self.partial_tool_calls,
                code=error.type if error is not None else None,
            )
        return event

    def finish(self) -> Message:
        """The assembled message.

        Raises:
            IncompleteStreamError: the body ended before ``message_stop`` and before any
                ``stop_reason``; carries the partial text and tool calls.
        """
        if self._result is not None:
            return self._result
        if not self._done and self._stop_reason is None:
            raise IncompleteStreamError(
                "the message ended before the server said it was finished",
                partial_text=self.partial_text,
                partial_tool_calls=self.partial_tool_calls,
            )
        base = self._message if self._message is not None else Message()
        self._result = msgspec.structs.replace(
            base,
            content=[block.build() for _, block in sorted(self._blocks.items())] or base.content,
            stop_reason=self._stop_reason or base.stop_reason,
            stop_sequence=self._stop_sequence or base.stop_sequence,
            usage=self._usage or base.usage,
            copilot_usage=self._copilot_usage or base.copilot_usage,
        )
        return self._result

    def _open(self, index: int, start: ContentBlock) -> _Block:
        block = self._blocks[index] = _Block(start)
        return block


def _block_type(delta_type: str | None) -> str:
    """The type of a block whose start was never seen, from its first delta."""
    if delta_type == "input_json_delta":
        return "tool_use"
    if delta_type in ("thinking_delta", "signature_delta"):
        return "thinking"
    return "text"
