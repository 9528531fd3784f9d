"""Folding a ``/chat/completions`` stream into chunks and one ``ChatCompletion``.

Theory of operation
-------------------
The pump hands ``feed`` the data string of each SSE event, in order. Each one is a
``chat.completion.chunk`` object, the string ``[DONE]``, or (rarely) something else. For every
chunk ``feed`` returns the decoded ``ChatCompletionChunk`` for the caller and folds it into a
per-choice state; ``finish()`` turns that state into the ``ChatCompletion`` a non-streaming call
would have returned (the OpenAI library's ``stream.get_final_completion()``).

Copilot's deviations from OpenAI's stream, and what we do (protocol.md §4.3):

* **Leading empty-choices chunk** with ``prompt_filter_results``, ``id: ""``, ``created: 0``:
  returned like any chunk; its filter results are kept for the final result. Not an empty reply.
* **Missing or empty** ``object``, ``model``, ``id``, ``system_fingerprint``: the final result takes
  the first non-empty ``model`` and ``created``, the last non-empty ``id`` (a references stream
  switches to a new id for the real answer) and ``system_fingerprint``.
* **Usage** may ride on the ``finish_reason`` chunk, on a trailing chunk, or be absent; the last
  one seen wins. ``copilot_usage`` likewise.
* **``[DONE]``** ends the stream (``completed`` becomes true and the pump stops reading), but the
  body may also simply end. ``finish()`` at end of body returns the result if any choice reported
  a ``finish_reason``, and raises ``IncompleteStreamError`` (with the partial text and tool calls)
  if none did: the reply was cut off, however cleanly the connection closed.
* **Tool calls** arrive in pieces: the first names the call (``index``, ``id``, ``function.name``,
  empty ``arguments``), the rest add ``arguments`` text under the same ``index``. Pieces are joined
  by ``index``; a piece that brings a *different* ``id`` under an index already in use starts a new
  call (some backends number parallel calls all ``0``), and a piece with no ``index`` joins the
  call with its ``id``, else the latest call. The result lists calls in ``index`` order.
  ``arguments`` stays text, as in OpenAI's types.
* **Several choices** (``n > 1``) interleave by ``index`` and finish separately.
  ``partial_text`` and ``partial_tool_calls`` describe the first choice.
* **A ``function`` role delta** (Copilot's references, a JSON list in ``content``) is not answer
  text and is left out of the message; the chunk still reaches the caller.
* **Errors inside the stream**: a chunk with a top-level ``error`` object, or a choice finishing
  with ``finish_reason: "error"``, raises ``StreamServerError`` carrying the text and tool calls
  so far (the text of that last chunk included).
* **Payloads that are not JSON objects** are counted in ``skipped`` and otherwise ignored
  (protocol.md §4.1 rule 7). A chunk whose fields have unexpected types is rebuilt leniently,
  field by field, rather than dropped: losing a piece of the answer is worse than a wrong type.

Framing is not this module's business: it takes event *data*, so it works the same whether the
events came separated by blank lines or by the single newlines of VS Code's captures (the web
flavour's ``SingleNewlineFraming`` restores the blank lines before the SSE decoder).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Final, TypeVar

import msgspec

from .._errors import IncompleteStreamError, StreamServerError
from ._types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChunkChoice,
    CompletionUsage,
    CopilotUsage,
    Function,
)

__all__ = ["ChatCompletionAccumulator", "decode_chunk"]

_CHUNK_DECODER: Final = msgspec.json.Decoder(ChatCompletionChunk)
_T = TypeVar("_T")
_DONE: Final = "[DONE]"


class _Call:
    """A tool call being assembled."""

    __slots__ = ("arguments", "id", "index", "name", "thought_signature", "type")

    def __init__(self, piece: ChoiceDeltaToolCall) -> None:
        self.index = piece.index
        self.id = piece.id or ""
        self.type = piece.type or "function"
        function = piece.function
        self.name = (function.name or "") if function is not None else ""
        self.arguments: list[str] = []
        self.thought_signature = piece.thought_signature

    def add(self, piece: ChoiceDeltaToolCall) -> None:
        if piece.id and not self.id:
            self.id = piece.id
        if piece.type and self.type != piece.type:
            self.type = piece.type
        function = piece.function
        if function is not None:
            if function.name and not self.name:
                # Names arrive whole on the first piece; a repeat is not a continuation.
                self.name = function.name
            if function.arguments:
                self.arguments.append(function.arguments)
        if piece.thought_signature:
            self.thought_signature = piece.thought_signature

    def build(self) -> ChatCompletionMessageToolCall:
        return ChatCompletionMessageToolCall(
            id=self.id,
            function=Function(name=self.name, arguments="".join(self.arguments)),
            type=self.type,
            thought_signature=self.thought_signature,
        )


def _call_order(call: _Call) -> tuple[bool, int]:
    return (call.index is None, call.index or 0)


class _ChoiceState:
    __slots__ = (
        "by_index",
        "calls",
        "finish_reason",
        "in_function",
        "reasoning_opaque",
        "reasoning_text",
        "refusal",
        "role",
        "text",
    )

    def __init__(self) -> None:
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.reasoning_text: list[str] = []
        self.reasoning_opaque: list[str] = []
        self.calls: list[_Call] = []
        self.by_index: dict[int, _Call] = {}
        self.finish_reason: str | None = None
        self.role = "assistant"
        self.in_function = False

    def add_tool_call(self, piece: ChoiceDeltaToolCall) -> None:
        index = piece.index
        call: _Call | None
        if index is None:
            call = None
            if piece.id:
                call = next((c for c in self.calls if c.id == piece.id), None)
            elif self.calls:
                call = self.calls[-1]
        else:
            call = self.by_index.get(index)
            if call is not None and piece.id and call.id and piece.id != call.id:
                call = None  # same index, another id: a parallel call numbered alike
        if call is None:
            call = _Call(piece)
            self.calls.append(call)
            if index is not None:
                self.by_index[index] = call
        call.add(piece)

    def built_calls(self) -> list[ChatCompletionMessageToolCall]:
        # In ``index`` order, as OpenAI's list positions are; calls numbered alike (or not at
        # all) keep the order they began in (the sort is stable).
        ordered = sorted(self.calls, key=_call_order) if len(self.calls) > 1 else self.calls
        return [c.build() for c in ordered]

    def message(self) -> ChatCompletionMessage:
        text = "".join(self.text)
        calls = self.built_calls() or None
        return ChatCompletionMessage(
            role=self.role,
            content=text if text or calls is None else None,
            refusal="".join(self.refusal) or None,
            tool_calls=calls,
            reasoning_text="".join(self.reasoning_text) or None,
            reasoning_opaque="".join(self.reasoning_opaque) or None,
        )


class ChatCompletionAccumulator:
    """Folds the data strings of one ``/chat/completions`` stream into chunks and a result.

    The pump calls ``feed`` per event until ``completed`` is true or the body ends, then
    ``finish()``. Pure and synchronous; one instance per stream.
    """

    __slots__ = (
        "_choices",
        "_copilot_usage",
        "_created",
        "_done",
        "_fingerprint",
        "_first",
        "_id",
        "_model",
        "_prompt_filter_results",
        "_result",
        "_usage",
        "chunks",
        "skipped",
    )

    def __init__(self) -> None:
        self._choices: dict[int, _ChoiceState] = {}
        self._first: _ChoiceState | None = None
        self._id = ""
        self._model = ""
        self._created = 0
        self._fingerprint: str | None = None
        self._usage: CompletionUsage | None = None
        self._copilot_usage: CopilotUsage | None = None
        self._prompt_filter_results: list[Any] | None = None
        self._done = False
        self._result: ChatCompletion | None = None
        #: chunks decoded so far
        self.chunks = 0
        #: payloads that were not JSON objects and were ignored (protocol.md §4.1 rule 7)
        self.skipped = 0

    # --- what the pump reads -----------------------------------------------------------------

    @property
    def completed(self) -> bool:
        """True once ``[DONE]`` arrived: nothing more is expected."""
        return self._done

    @property
    def partial_text(self) -> str:
        """The first choice's text so far."""
        first = self._first_choice()
        return "".join(first.text) if first is not None else ""

    @property
    def partial_tool_calls(self) -> tuple[ChatCompletionMessageToolCall, ...]:
        """The first choice's tool calls so far (``arguments`` possibly cut short)."""
        first = self._first_choice()
        return tuple(first.built_calls()) if first is not None else ()

    @property
    def usage(self) -> CompletionUsage | None:
        """The last usage report seen, if any."""
        return self._usage

    def feed(self, data: str) -> ChatCompletionChunk | None:
        """Interpret one event's data.

        Returns the chunk, or None for ``[DONE]`` and for payloads that are skipped.

        Raises:
            StreamServerError: the server reported an error inside the stream; carries the
                partial text and tool calls and the server's ``code``.
        """
        if len(data) < 16 and data.strip() == _DONE:
            self._done = True
            return None
        try:
            chunk = _CHUNK_DECODER.decode(data)
        except msgspec.ValidationError:
            lenient = _lenient_chunk(data)
            if lenient is None:
                self.skipped += 1
                return None
            chunk = lenient
        except msgspec.DecodeError:
            self.skipped += 1
            return None
        self.chunks += 1
        if chunk.error is not None:
            raise self._server_error(_error_message(chunk.error), _error_code(chunk.error))
        if chunk.id:
            self._id = chunk.id
        if chunk.model and not self._model:
            self._model = chunk.model
        if chunk.created and not self._created:
            self._created = chunk.created
        if chunk.system_fingerprint:
            self._fingerprint = chunk.system_fingerprint
        if chunk.usage is not None:
            self._usage = chunk.usage
        if chunk.copilot_usage is not None:
            self._copilot_usage = chunk.copilot_usage
        if chunk.prompt_filter_results is not None and self._prompt_filter_results is None:
            self._prompt_filter_results = chunk.prompt_filter_results
        failed = False
        for choice in chunk.choices:
            state = self._choices.get(choice.index)
            if state is None:
                state = self._choices[choice.index] = _ChoiceState()
                self._first = None
            delta = choice.delta
            role = delta.role
            if role is not None:
                state.in_function = role == "function"
                if role != "function":
                    state.role = role
            if delta.content and not state.in_function:
                state.text.append(delta.content)
            if delta.tool_calls:
                for piece in delta.tool_calls:
                    state.add_tool_call(piece)
            if delta.refusal:
                state.refusal.append(delta.refusal)
            if delta.reasoning_text:
                state.reasoning_text.append(delta.reasoning_text)
            if delta.reasoning_opaque:
                state.reasoning_opaque.append(delta.reasoning_opaque)
            if choice.finish_reason is not None:
                state.finish_reason = choice.finish_reason
                state.in_function = False
                if choice.finish_reason == "error":
                    failed = True
        if failed:
            raise self._server_error("the server ended the reply with finish_reason 'error'", None)
        return chunk

    def finish(self) -> ChatCompletion:
        """The assembled reply, at ``[DONE]`` or at the end of the body.

        Raises:
            IncompleteStreamError: the body ended without ``[DONE]`` and without any
                ``finish_reason``; carries the partial text and tool calls.
        """
        if self._result is not None:
            return self._result
        if not self._done and all(s.finish_reason is None for s in self._choices.values()):
            raise IncompleteStreamError(
                "the reply ended before the server said it was finished",
                partial_text=self.partial_text,
                partial_tool_calls=self.partial_tool_calls,
            )
        self._result = ChatCompletion(
            id=self._id,
            choices=[
                Choice(index=index, message=state.message(), finish_reason=state.finish_reason)
                for index, state in sorted(self._choices.items())
            ],
            created=self._created,
            model=self._model,
            system_fingerprint=self._fingerprint,
            usage=self._usage,
            prompt_filter_results=self._prompt_filter_results,
            copilot_usage=self._copilot_usage,
        )
        return self._result

    # --- internals ---------------------------------------------------------------------------

    def _first_choice(self) -> _ChoiceState | None:
        first = self._first
        if first is None and self._choices:
            first = self._first = self._choices[min(self._choices)]
        return first

    def _server_error(self, message: str, code: str | None) -> StreamServerError:
        return StreamServerError(
            message,
            partial_text=self.partial_text,
            partial_tool_calls=self.partial_tool_calls,
            code=code,
        )


def decode_chunk(data: str | bytes) -> ChatCompletionChunk | None:
    """One chunk from its JSON text, leniently; None if it is not a JSON object."""
    try:
        return _CHUNK_DECODER.decode(data)
    except msgspec.ValidationError:
        return _lenient_chunk(data)
    except msgspec.DecodeError:
        return None


# --- the lenient path ------------------------------------------------------------------------


def _lenient_chunk(data: str | bytes) -> ChatCompletionChunk | None:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    try:
        return msgspec.convert(obj, ChatCompletionChunk, strict=False)
    except msgspec.ValidationError:
        pass
    raw_choices = obj.get("choices")
    choices = [
        choice
        for choice in map(_lenient_choice, raw_choices if isinstance(raw_choices, list) else ())
        if choice is not None
    ]
    filters = obj.get("prompt_filter_results")
    references = obj.get("copilot_references")
    return ChatCompletionChunk(
        id=_text(obj.get("id")) or "",
        choices=choices,
        created=_integer(obj.get("created")) or 0,
        model=_text(obj.get("model")) or "",
        object=_text(obj.get("object")) or "chat.completion.chunk",
        system_fingerprint=_text(obj.get("system_fingerprint")),
        usage=_convert(obj.get("usage"), CompletionUsage),
        prompt_filter_results=filters if isinstance(filters, list) else None,
        copilot_usage=_convert(obj.get("copilot_usage"), CopilotUsage),
        copilot_references=references if isinstance(references, list) else None,
        error=obj.get("error"),
    )


def _lenient_choice(raw: Any) -> ChunkChoice | None:
    if not isinstance(raw, dict):
        return None
    converted = _convert(raw, ChunkChoice)
    if converted is not None:
        return converted
    delta = raw.get("delta")
    return ChunkChoice(
        index=_integer(raw.get("index")) or 0,
        delta=_lenient_delta(delta) if isinstance(delta, dict) else ChoiceDelta(),
        finish_reason=_text(raw.get("finish_reason")),
    )


def _lenient_delta(raw: Mapping[str, Any]) -> ChoiceDelta:
    converted = _convert(raw, ChoiceDelta)
    if converted is not None:
        return converted
    pieces = raw.get("tool_calls")
    calls = [
        call
        for call in (
            _convert(p, ChoiceDeltaToolCall) for p in (pieces if isinstance(pieces, list) else ())
        )
        if call is not None
    ]
    return ChoiceDelta(
        role=_text(raw.get("role")),
        content=_text(raw.get("content")),
        refusal=_text(raw.get("refusal")),
        tool_calls=calls or None,
        reasoning_text=_text(raw.get("reasoning_text")),
        reasoning_opaque=_text(raw.get("reasoning_opaque")),
        cot_summary=_text(raw.get("cot_summary")),
        cot_id=_text(raw.get("cot_id")),
    )


def _convert(value: Any, kind: type[_T]) -> _T | None:
    if value is None:
        return None
    try:
        return msgspec.convert(value, kind, strict=False)
    except msgspec.ValidationError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except (ValueError, OverflowError):
            return None
    return None


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        message = error.get("message")
        if message:
            return str(message).strip()
    elif isinstance(error, str) and error:
        return error
    return "the server reported an error in the stream"


def _error_code(error: Any) -> str | None:
    code = error.get("code") if isinstance(error, dict) else None
    return None if code is None else str(code)
