"""Seeded, reproducible SSE corpora shaped like real Copilot streams.

Four corpora (see the wire notes, sections 4.2 to 4.5):

* ``ide-lf``: IDE ``/chat/completions`` turns: the leading empty-choices chunk with
  ``prompt_filter_results``, content deltas (some carrying ``content_filter_results`` and
  ``content_filter_offsets``, as the service attaches them in batches), tool-call turns whose
  arguments arrive in fragments, a ``finish_reason`` chunk with usage, and ``data: [DONE]``.
  Events separated by ``\\n\\n``.
* ``ide-crlf``: the same bytes with every line ending written as CRLF.
* ``web``: the web thread stream: ``data: {"type":"content","body":...}`` deltas and a
  ``complete`` event per turn; no ``event:`` lines.
* ``event-data``: ``event:`` + ``data:`` streams, alternating OpenAI Responses turns and
  Anthropic Messages turns (including ``ping`` events).

Text deltas are drawn from a vocabulary that mixes prose, code and non-ASCII characters (so that
chunk boundaries fall inside multi-byte UTF-8 sequences), with Gaussian lengths. Every
generator returns the encoded stream and the ``(event, data)`` pairs a correct decoder must
produce, which the benchmark uses to check every peer before timing it.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["CORPORA", "Corpus", "chunk_fixed", "chunk_per_event", "make_corpus"]

_WORDS = (
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "this",
    "be",
    "you",
    "can",
    "are",
    "use",
    "by",
    "from",
    "or",
    "if",
    "function",
    "return",
    "value",
    "async",
    "await",
    "stream",
    "event",
    "server",
    "client",
    "request",
    "response",
    "token",
    "error",
    "retry",
    "timeout",
    "cancel",
    "task",
    "group",
    "lock",
    "queue",
    "buffer",
    "chunk",
    "line",
    "decoder",
    "parser",
    "Python",
    "AnyIO",
    "trio",
    "asyncio",
    "httpx",
    "socket",
    "bytes",
    "str",
    "list",
    "dict",
    "None",
    "True",
    "False",
    "import",
    "café",
    "naïve",
    "résumé",
    "—",
    "→",
    "✓",
    "…",
    "«",
    "»",
    "ü",
    "ö",
    "日本語",
    "中文",
    "한국어",
    "🙂",
    "🚀",
    "✅",
    "def",
    "class",
    "self",
    "await",
    "yield",
    "lambda",
    "print",
    "range",
    "len",
    "json",
    "loads",
    "dumps",
)
_CODE = (
    "```python\n",
    "```\n",
    "\n\n",
    "\n",
    "    ",
    "async def main() -> None:\n",
    '        print("hello")\n',
    "`SSEDecoder.feed()`",
    '{"key": "value"}',
    "\t",
    "1. ",
    "- ",
    "**",
)
_MODELS = ("gpt-4o-2024-11-20", "gpt-4.1-2025-04-14", "claude-sonnet-4", "o4-mini")
_TOOLS = ("get_weather", "read_file", "run_in_terminal", "semantic_search", "list_dir")
_FILTER_SAFE = {"filtered": False, "severity": "safe"}


def _dumps(obj: Any) -> str:
    # Services send compact JSON with raw (unescaped) non-ASCII characters.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _delta(rng: random.Random) -> str:
    """One text delta, roughly the size of one to a few model tokens."""
    n = max(1, round(rng.gauss(2.2, 1.4)))
    parts: list[str] = []
    for _ in range(n):
        if rng.random() < 0.08:
            parts.append(rng.choice(_CODE))
        else:
            word = rng.choice(_WORDS)
            parts.append(word if rng.random() < 0.15 else " " + word)
    return "".join(parts)


def _chatcmpl_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "chatcmpl-" + "".join(rng.choice(alphabet) for _ in range(29))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _content_filter_results() -> dict[str, Any]:
    return {
        "error": {"code": "", "message": ""},
        "hate": _FILTER_SAFE,
        "self_harm": _FILTER_SAFE,
        "sexual": _FILTER_SAFE,
        "violence": _FILTER_SAFE,
    }


# --- (a) and (b): IDE chat completions --------------------------------------------------------


def _ide_turn(rng: random.Random) -> Iterator[str]:
    """The data payloads of one ``/chat/completions`` turn."""
    yield _dumps(
        {
            "choices": [],
            "created": 0,
            "id": "",
            "prompt_filter_results": [
                {
                    "prompt_index": 0,
                    "content_filter_results": {
                        "hate": _FILTER_SAFE,
                        "jailbreak": {"filtered": False, "detected": False},
                        "self_harm": _FILTER_SAFE,
                        "sexual": _FILTER_SAFE,
                        "violence": _FILTER_SAFE,
                    },
                }
            ],
        }
    )
    cid = _chatcmpl_id(rng)
    created = 1_750_000_000 + rng.randrange(10_000_000)
    model = rng.choice(_MODELS)
    fingerprint = "fp_" + f"{rng.getrandbits(40):010x}"
    common = {"created": created, "id": cid, "model": model, "system_fingerprint": fingerprint}
    newer = rng.random() < 0.5  # newer captures add "object" and "usage": null to every chunk
    if newer:
        common = {**common, "object": "chat.completion.chunk", "usage": None}
    offset = 0

    def chunk(choice: dict[str, Any], **extra: Any) -> str:
        return _dumps({"choices": [choice], **common, **extra})

    yield chunk({"index": 0, "delta": {"role": "assistant", "content": ""}})
    for _ in range(max(3, round(rng.gauss(60, 30)))):
        text = _delta(rng)
        choice: dict[str, Any] = {"index": 0, "delta": {"content": text}}
        if rng.random() < 0.3:
            end = offset + len(text.encode())
            choice = {
                "index": 0,
                "content_filter_offsets": {
                    "check_offset": offset,
                    "start_offset": offset,
                    "end_offset": end,
                },
                "content_filter_results": _content_filter_results(),
                "delta": {"content": text},
            }
        offset += len(text.encode())
        yield chunk(choice)
    finish = "stop"
    if rng.random() < 0.3:
        # A tool call: the first fragment names it, the rest carry argument pieces.
        finish = "tool_calls"
        call_id = "call_" + "".join(rng.choice("ABCDEFGHabcdefgh0123456789") for _ in range(24))
        arguments = _dumps(
            {
                "filePath": "/home/user/project/src/" + rng.choice(_WORDS) + ".py",
                "query": " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 12))),
                "startLine": rng.randint(1, 400),
            }
        )
        yield chunk(
            {
                "index": 0,
                "delta": {
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": rng.choice(_TOOLS), "arguments": ""},
                        }
                    ],
                },
            }
        )
        pos = 0
        while pos < len(arguments):
            step = rng.randint(2, 12)
            yield chunk(
                {
                    "index": 0,
                    "delta": {
                        "tool_calls": [
                            {"index": 0, "function": {"arguments": arguments[pos : pos + step]}}
                        ]
                    },
                }
            )
            pos += step
    prompt_tokens = rng.randint(200, 9000)
    completion_tokens = rng.randint(10, 900)
    yield chunk(
        {"index": 0, "delta": {"content": None}, "finish_reason": finish},
        usage={
            "completion_tokens": completion_tokens,
            "prompt_tokens": prompt_tokens,
            "prompt_tokens_details": {"cached_tokens": rng.randrange(prompt_tokens)},
            "total_tokens": prompt_tokens + completion_tokens,
        },
    )
    yield "[DONE]"


def _ide(rng: random.Random, n_events: int) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    while len(events) < n_events:
        events.extend(("message", payload) for payload in _ide_turn(rng))
    return events


# --- (c): the web thread stream --------------------------------------------------------------


def _web(rng: random.Random, n_events: int) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    while len(events) < n_events:
        events.extend(
            ("message", _dumps({"type": "content", "body": _delta(rng)}))
            for _ in range(max(1, round(rng.gauss(80, 40))))
        )
        events.append(
            (
                "message",
                _dumps(
                    {
                        "type": "complete",
                        "id": _uuid(rng),
                        "parentMessageID": _uuid(rng),
                        "model": "",
                        "turnId": "",
                        "createdAt": f"2025-06-01T12:{rng.randrange(60):02d}:00.123456789Z",
                        "references": [],
                        "role": "assistant",
                        "intent": "conversation",
                        "copilotAnnotations": {"CodeVulnerability": [], "PublicCodeReference": []},
                    }
                ),
            )
        )
    return events


# --- (d): event: + data: (Responses and Anthropic Messages) -----------------------------------


def _responses_turn(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    resp_id = "resp_" + f"{rng.getrandbits(96):024x}"
    item_id = "msg_" + f"{rng.getrandbits(96):024x}"
    model = rng.choice(_MODELS)
    seq = iter(range(1_000_000))
    response = {"id": resp_id, "object": "response", "model": model, "status": "in_progress"}
    yield "response.created", {"response": response, "sequence_number": next(seq)}
    yield "response.in_progress", {"response": response, "sequence_number": next(seq)}
    item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
    yield (
        "response.output_item.added",
        {"item": {**item, "content": []}, "output_index": 0, "sequence_number": next(seq)},
    )
    text: list[str] = []
    for _ in range(max(3, round(rng.gauss(60, 30)))):
        delta = _delta(rng)
        text.append(delta)
        yield (
            "response.output_text.delta",
            {
                "content_index": 0,
                "delta": delta,
                "item_id": item_id,
                "logprobs": [],
                "output_index": 0,
                "sequence_number": next(seq),
            },
        )
    full = "".join(text)
    yield (
        "response.output_text.done",
        {"content_index": 0, "item_id": item_id, "output_index": 0, "text": full},
    )
    done_item = {
        **item,
        "status": "completed",
        "content": [{"type": "output_text", "annotations": [], "text": full}],
    }
    yield "response.output_item.done", {"item": done_item, "output_index": 0}
    yield (
        "response.completed",
        {
            "response": {
                **response,
                "status": "completed",
                "output": [done_item],
                "usage": {"input_tokens": 812, "output_tokens": 377, "total_tokens": 1189},
            },
            "sequence_number": next(seq),
        },
    )


def _messages_turn(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    msg_id = "msg_" + f"{rng.getrandbits(96):024x}"
    yield (
        "message_start",
        {
            "message": {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4",
                "content": [],
                "stop_reason": None,
                "usage": {"input_tokens": rng.randint(100, 9000), "output_tokens": 1},
            }
        },
    )
    yield (
        "content_block_start",
        {"index": 0, "content_block": {"type": "text", "text": ""}},
    )
    yield "ping", {}
    for _ in range(max(3, round(rng.gauss(60, 30)))):
        yield (
            "content_block_delta",
            {"index": 0, "delta": {"type": "text_delta", "text": _delta(rng)}},
        )
    yield "content_block_stop", {"index": 0}
    yield (
        "message_delta",
        {
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": rng.randint(10, 900)},
        },
    )
    yield "message_stop", {}


def _event_data(rng: random.Random, n_events: int) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    while len(events) < n_events:
        turn = _responses_turn if rng.random() < 0.5 else _messages_turn
        for name, body in turn(rng):
            events.append((name, _dumps({"type": name, **body})))
    return events


# --- encoding and chunking -------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    name: str
    description: str
    stream: bytes
    expected: list[tuple[str, str]]
    event_ends: list[int]  # offset just past each event's blank line


def _encode(events: list[tuple[str, str]], newline: str) -> tuple[bytes, list[int]]:
    parts: list[bytes] = []
    ends: list[int] = []
    pos = 0
    for name, data in events:
        # Written by hand, not with copilot_anyio's encoder, so the decoder is not checked
        # against its own twin. Payloads here never hold a line break.
        text = "" if name == "message" else f"event: {name}{newline}"
        raw = (text + f"data: {data}{newline}{newline}").encode()
        parts.append(raw)
        pos += len(raw)
        ends.append(pos)
    return b"".join(parts), ends


_Generator = Callable[[random.Random, int], list[tuple[str, str]]]

CORPORA: dict[str, tuple[str, _Generator, str]] = {
    "ide-lf": ("IDE chat.completion.chunk, LF", _ide, "\n"),
    "ide-crlf": ("IDE chat.completion.chunk, CRLF", _ide, "\r\n"),
    "web": ('web thread data: {"type":"content"}', _web, "\n"),
    "event-data": ("event:+data: Responses/Messages", _event_data, "\n"),
}


def make_corpus(name: str, n_events: int, seed: int = 2025) -> Corpus:
    """Build the corpus ``name`` with at least ``n_events`` events, reproducibly."""
    description, generate, newline = CORPORA[name]
    # Each corpus has its own stream of random numbers, so adding one changes no other.
    rng = random.Random(f"{seed}:{name.split('-')[0]}")
    expected = generate(rng, n_events)
    stream, ends = _encode(expected, newline)
    return Corpus(name, description, stream, expected, ends)


def chunk_fixed(stream: bytes, size: int) -> list[bytes]:
    """``stream`` cut every ``size`` bytes, regardless of lines or characters."""
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def chunk_per_event(corpus: Corpus) -> list[bytes]:
    """One chunk per event, as a server that flushes after every event sends them."""
    starts = [0, *corpus.event_ends[:-1]]
    return [corpus.stream[a:b] for a, b in zip(starts, corpus.event_ends, strict=True)]
