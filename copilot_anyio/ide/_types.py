"""The IDE flavour's chat-completion vocabulary: results, stream chunks and usage.

The names and attributes follow the OpenAI Python library (``ChatCompletion``,
``ChatCompletionChunk``, ``choices[0].delta.content``, ``tool_calls[i].function.arguments``...)
so code written against it reads the same here. The classes are our own.

Why msgspec Structs
-------------------
A stream delivers one chunk per few tokens, so a chunk's cost is paid thousands of times per
reply. A ``msgspec.json.Decoder`` bound to these classes builds the objects straight from the
JSON text in C, skipping the fields we do not declare (per-choice content-filter verdicts and
offsets, which every Copilot chunk carries) without ever turning them into dicts. Measured in
``benchmarks/bench_ide_chunks.py``: several times cheaper than ``json.loads`` alone, and more
again than ``json.loads`` followed by building slotted classes by hand.

The decoder checks types as it goes (that is how it knows what to build), but there is no
validation pass beyond that. A chunk whose fields have unexpected types (``"choices": null`` on
reference chunks, a float ``created``) is rebuilt field by field by the accumulator's lenient
path instead of being dropped.

Every class is frozen, keyword-only and untracked by the garbage collector (decoded data holds
no reference cycles). ``to_dict()`` gives plain JSON-ready values back.

Copilot's additions ride along as optional fields: ``prompt_filter_results`` and
``copilot_usage`` (AI-credit billing, protocol.md §10.2) on chunks and results, and the reasoning
fields (``reasoning_text``, ``reasoning_opaque``, ``cot_summary``, ``cot_id``) on deltas, which a
client must echo back unchanged on replayed assistant messages (§3.5).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CopilotTokenDetail",
    "CopilotUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "PromptTokensDetails",
    "lenient_struct",
]

#: nano-AIU per AI credit (1 credit = 1 AIU = US$0.01; protocol.md §10.2).
NANO_AIU_PER_CREDIT = 1e9

_S = TypeVar("_S", bound=msgspec.Struct)


class _Wire(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    def to_dict(self) -> dict[str, Any]:
        """The object as plain JSON-ready values (``None`` fields included)."""
        value: dict[str, Any] = msgspec.to_builtins(self)
        return value


# --- usage -----------------------------------------------------------------------------------


class PromptTokensDetails(_Wire, frozen=True):
    cached_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionTokensDetails(_Wire, frozen=True):
    reasoning_tokens: int | None = None
    accepted_prediction_tokens: int | None = None
    rejected_prediction_tokens: int | None = None
    audio_tokens: int | None = None


class CompletionUsage(_Wire, frozen=True):
    """Token counts. Copilot reports them on the finishing chunk, a trailing one, or not at all."""

    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = None
    prompt_tokens_details: PromptTokensDetails | None = None


class CopilotTokenDetail(_Wire, frozen=True):
    """One line of a Copilot bill: ``token_count`` tokens of ``token_type`` at
    ``cost_per_batch`` nano-AIU per ``batch_size`` tokens."""

    token_type: str = ""
    token_count: float = 0
    batch_size: float = 0
    cost_per_batch: float = 0


class CopilotUsage(_Wire, frozen=True):
    """What a turn cost in AI credits (protocol.md §10.2); absent on accounts not billed so."""

    total_nano_aiu: float = 0
    token_details: list[CopilotTokenDetail] = []

    @property
    def nano_aiu(self) -> float:
        """``total_nano_aiu``, or, when the server left it out, the sum over ``token_details``
        (``token_count * cost_per_batch / batch_size``)."""
        if self.total_nano_aiu:
            return self.total_nano_aiu
        return sum(
            d.token_count * d.cost_per_batch / d.batch_size
            for d in self.token_details
            if d.batch_size > 0
        )

    @property
    def credits(self) -> float:
        """The cost in AI credits (one credit is US$0.01)."""
        return self.nano_aiu / NANO_AIU_PER_CREDIT


# --- a finished completion -------------------------------------------------------------------


class Function(_Wire, frozen=True):
    """The function a tool call invokes; ``arguments`` is JSON text, parse it yourself."""

    name: str = ""
    arguments: str = ""


class ChatCompletionMessageToolCall(_Wire, frozen=True):
    id: str = ""
    function: Function = msgspec.field(default_factory=Function)
    type: str = "function"
    #: Gemini's signature over the call; send it back unchanged with the call.
    thought_signature: str | None = None


class ChatCompletionMessage(_Wire, frozen=True):
    """The assistant's message. Copilot's Claude models may carry text *and* tool calls."""

    role: str = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    #: Reasoning that Claude and Gemini models stream; echo both back on replayed turns.
    reasoning_text: str | None = None
    reasoning_opaque: str | None = None


class Choice(_Wire, frozen=True):
    index: int = 0
    message: ChatCompletionMessage = msgspec.field(default_factory=ChatCompletionMessage)
    #: ``stop``, ``length``, ``tool_calls``, ``content_filter``, ``function_call``, or any other
    #: value the server sends (unknown ones pass through).
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletion(_Wire, frozen=True):
    """A whole reply: the non-streaming body, or what a stream assembles into."""

    id: str = ""
    choices: list[Choice] = []
    created: int = 0
    model: str = ""
    object: str = "chat.completion"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    #: Copilot's content-filter verdicts on the prompt, as sent.
    prompt_filter_results: list[Any] | None = None
    copilot_usage: CopilotUsage | None = None


# --- stream chunks ---------------------------------------------------------------------------


class ChoiceDeltaToolCallFunction(_Wire, frozen=True):
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(_Wire, frozen=True):
    """A piece of a tool call: the first names it, the rest add ``arguments`` text."""

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    thought_signature: str | None = None


class ChoiceDelta(_Wire, frozen=True):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    #: The legacy single ``function_call`` (Copilot's references stream), as sent.
    function_call: Any = None
    reasoning_text: str | None = None
    reasoning_opaque: str | None = None
    cot_summary: str | None = None
    cot_id: str | None = None


class ChunkChoice(_Wire, frozen=True):
    """One choice inside a chunk (the OpenAI library calls this ``Choice`` in its chunk module)."""

    index: int = 0
    delta: ChoiceDelta = msgspec.field(default_factory=ChoiceDelta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(_Wire, frozen=True):
    """One ``chat.completion.chunk`` event.

    Copilot's first chunk has empty ``choices`` and carries ``prompt_filter_results``; ``id`` and
    ``model`` may be ``""`` on any chunk.
    """

    id: str = ""
    choices: list[ChunkChoice] = []
    created: int = 0
    model: str = ""
    object: str = "chat.completion.chunk"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
    prompt_filter_results: list[Any] | None = None
    copilot_usage: CopilotUsage | None = None
    #: Top-level references (``@github`` web search results), as sent.
    copilot_references: list[Any] | None = None
    #: A mid-stream error object (the accumulator raises it; never set on a returned chunk).
    error: Any = None

    @property
    def text(self) -> str:
        """The first choice's content delta ("" when there is none): what ``text_deltas`` yields."""
        choices = self.choices
        if not choices:
            return ""
        return choices[0].delta.content or ""


# --- embeddings ------------------------------------------------------------------------------


class Embedding(_Wire, frozen=True):
    """One input's vector; ``index`` is its position in the request's ``input``."""

    embedding: list[float] = []
    index: int = 0
    object: str = "embedding"


class EmbeddingUsage(_Wire, frozen=True):
    prompt_tokens: int = 0
    total_tokens: int = 0


class CreateEmbeddingResponse(_Wire, frozen=True):
    """A ``POST /embeddings`` reply (``data`` in ``index`` order once parsed)."""

    data: list[Embedding] = []
    model: str = ""
    object: str = "list"
    usage: EmbeddingUsage | None = None
    copilot_usage: CopilotUsage | None = None


# --- reading objects whose fields have unexpected types ----------------------------------------


def lenient_struct(raw: Any, kind: type[_S]) -> _S | None:
    """``raw`` (decoded JSON) as ``kind``, keeping every field that converts and dropping the
    rest; None when ``raw`` is not an object.

    The slow path, for the rare object the typed decoder refuses: one wrongly typed field must
    not cost the others (a delta's text beside a ``null`` list, say).
    """
    if not isinstance(raw, dict):
        return None
    try:
        return msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError:
        pass
    kept: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            msgspec.convert({name: value}, kind, strict=False)
        except msgspec.ValidationError:
            continue
        kept[name] = value
    try:
        return msgspec.convert(kept, kind, strict=False)
    except msgspec.ValidationError:  # pragma: no cover - every kept field converted alone
        return None


def lenient_decoder(kind: type[_S]) -> Callable[[str | bytes], _S | None]:
    """A decoder of ``kind`` from JSON text: msgspec's typed decoder (C speed), and for the rare
    object it refuses, ``lenient_struct``; it returns None for text that is not a JSON object."""
    typed = msgspec.json.Decoder(kind)

    def decode(data: str | bytes) -> _S | None:
        try:
            return typed.decode(data)
        except msgspec.ValidationError:
            pass
        except msgspec.DecodeError:
            return None
        try:
            raw = json.loads(data)
        except (ValueError, RecursionError):
            return None
        return lenient_struct(raw, kind)

    return decode
