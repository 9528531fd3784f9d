"""What one ``/chat/completions`` chunk costs to turn from its data string into objects.

The IDE flavour decodes every SSE event of a reply into a ``ChatCompletionChunk``; at a few
tokens per chunk, that cost is paid thousands of times per reply. This benchmark prices the
ways of building chunk objects on the same seeded corpus of Copilot-shaped events (a leading
``prompt_filter_results`` chunk, text deltas carrying the per-choice content-filter objects
Copilot sends, tool-call pieces, a finishing chunk with usage):

* ``msgspec Struct`` (ours): a ``msgspec.json.Decoder`` bound to our Struct classes, from the
  ``str`` the SSE decoder yields, and from ``bytes``;
* ``json.loads`` alone: the floor any "parse, then wrap" design starts from;
* ``json.loads + slots``: dicts from ``json.loads``, then slotted plain classes set by hand (the
  alternative design, written here as it would be);
* ``orjson + slots``: the same with orjson, when it is installed;
* ``openai pydantic``: ``openai.types.chat.ChatCompletionChunk.model_validate_json``, a peer
  reference for what ported code pays today, when openai is installed;
* ``accumulator.feed``: our whole per-chunk path (decode plus folding into the reply).

Every option is checked first to read the same text out of the corpus; one that differs is
"not comparable" and not timed. Each option is timed ``--repeats`` times (options take turns,
garbage collector off, as ``timeit`` does) and the minimum is reported, with the ratio
option / ours: above 1 means ours is that many times cheaper.

Usage: ``python -m benchmarks.bench_ide_chunks [--events N] [--repeats N] [--seed N]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from copilot_anyio.ide._accumulate import ChatCompletionAccumulator
from copilot_anyio.ide._types import ChatCompletionChunk

__all__ = ["main"]

_FILTERS = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}
_WORDS = [
    "the",
    "a",
    "Copilot",
    "stream",
    "chunk",
    "reply",
    "token",
    "answer",
    "function",
    "call",
    "of",
    "to",
    "and",
    "in",
    "is",
]


def make_events(n: int, seed: int) -> list[str]:
    """``n`` event data strings of one reply: leading chunk, text, a tool call, the finish."""
    rng = random.Random(seed)
    events = [
        json.dumps(
            {
                "choices": [],
                "created": 0,
                "id": "",
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": _FILTERS}],
            }
        )
    ]
    offset = 0
    n_tool = max(2, n // 20)
    for i in range(n - n_tool - 2):
        text = " " + " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 4)))
        offset += len(text)
        delta: dict[str, Any] = {"content": text}
        if i == 0:
            delta["role"] = "assistant"
        events.append(
            json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "content_filter_offsets": {
                                "check_offset": 120,
                                "start_offset": offset - len(text),
                                "end_offset": offset,
                            },
                            "content_filter_results": _FILTERS,
                            "delta": delta,
                        }
                    ],
                    "created": 1750000000,
                    "id": "chatcmpl-Bx9",
                    "model": "gpt-4o-2024-11-20",
                    "system_fingerprint": "fp_ee1d74bde0",
                }
            )
        )
    for i in range(n_tool):
        piece: dict[str, Any] = {"index": 0, "function": {"arguments": f'{{"k": {i}'}}
        if i == 0:
            piece = {
                "index": 0,
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
        events.append(
            json.dumps(
                {
                    "choices": [{"index": 0, "delta": {"tool_calls": [piece]}}],
                    "created": 1750000000,
                    "id": "chatcmpl-Bx9",
                    "model": "gpt-4o-2024-11-20",
                }
            )
        )
    events.append(
        json.dumps(
            {
                "choices": [{"index": 0, "delta": {"content": None}, "finish_reason": "stop"}],
                "created": 1750000000,
                "id": "chatcmpl-Bx9",
                "usage": {"prompt_tokens": 900, "completion_tokens": n, "total_tokens": 900 + n},
            }
        )
    )
    return events


# --- the alternative design: json.loads, then slotted plain classes ---------------------------


class _Delta:
    __slots__ = ("content", "reasoning_opaque", "reasoning_text", "refusal", "role", "tool_calls")


class _Choice:
    __slots__ = ("delta", "finish_reason", "index", "logprobs")


class _Chunk:
    __slots__ = (
        "choices",
        "copilot_usage",
        "created",
        "error",
        "id",
        "model",
        "object",
        "prompt_filter_results",
        "system_fingerprint",
        "usage",
    )


def _slots_from(obj: dict[str, Any]) -> _Chunk:
    chunk = _Chunk()
    chunk.id = obj.get("id", "")
    chunk.created = obj.get("created", 0)
    chunk.model = obj.get("model", "")
    chunk.object = obj.get("object", "chat.completion.chunk")
    chunk.system_fingerprint = obj.get("system_fingerprint")
    chunk.usage = obj.get("usage")
    chunk.copilot_usage = obj.get("copilot_usage")
    chunk.prompt_filter_results = obj.get("prompt_filter_results")
    chunk.error = obj.get("error")
    choices = []
    for raw in obj.get("choices") or ():
        choice = _Choice()
        choice.index = raw.get("index", 0)
        choice.finish_reason = raw.get("finish_reason")
        choice.logprobs = raw.get("logprobs")
        d = raw.get("delta") or {}
        delta = _Delta()
        delta.role = d.get("role")
        delta.content = d.get("content")
        delta.refusal = d.get("refusal")
        delta.tool_calls = d.get("tool_calls")  # left as dicts: wrapping them costs more
        delta.reasoning_text = d.get("reasoning_text")
        delta.reasoning_opaque = d.get("reasoning_opaque")
        choice.delta = delta
        choices.append(choice)
    chunk.choices = choices
    return chunk


def _text_of(chunks: Sequence[Any]) -> str:
    """The text an option read, for the comparability check."""
    parts = []
    for chunk in chunks:
        choices = chunk["choices"] if isinstance(chunk, dict) else chunk.choices
        for choice in choices or ():
            delta = choice["delta"] if isinstance(choice, dict) else choice.delta
            content = delta.get("content") if isinstance(delta, dict) else delta.content
            if content:
                parts.append(content)
    return "".join(parts)


Option = Callable[[Any], Any]


def _options() -> dict[str, Option]:
    """Each option turns one event's data into chunk objects (and keeps nothing)."""
    decoder = msgspec.json.Decoder(ChatCompletionChunk)
    options: dict[str, Option] = {
        "msgspec Struct (ours)": decoder.decode,
        "msgspec Struct, bytes": decoder.decode,
        "json.loads alone": json.loads,
        "json.loads + slots": lambda e: _slots_from(json.loads(e)),
    }
    try:
        import orjson  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        pass
    else:
        loads = orjson.loads
        options["orjson + slots"] = lambda e: _slots_from(loads(e))
    try:
        from openai.types.chat import ChatCompletionChunk as OpenAIChunk
    except ImportError:
        pass
    else:

        def openai_chunk(e: str) -> Any:
            obj = json.loads(e)
            obj.setdefault("object", "chat.completion.chunk")  # Copilot omits these two,
            obj.setdefault("model", "")  # which openai's model requires
            return OpenAIChunk.model_validate(obj)

        options["openai pydantic"] = openai_chunk
    return options


def _read_all(option: Option, events: list[Any]) -> str:
    """The text an option read, for the comparability check."""
    return _text_of([option(e) for e in events])


def _time_option(option: Option, events: list[Any]) -> float:
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.process_time()
        for event in events:
            option(event)
        return time.process_time() - start
    finally:
        if gc_was_on:
            gc.enable()


def _time_accumulator(events: list[Any]) -> float:
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        start = time.process_time()
        acc = ChatCompletionAccumulator()
        feed = acc.feed
        for event in events:
            feed(event)
        acc.finish()
        return time.process_time() - start
    finally:
        if gc_was_on:
            gc.enable()


def run(n_events: int, repeats: int, seed: int) -> dict[str, Any]:
    events = make_events(n_events, seed)
    as_bytes: list[Any] = [e.encode() for e in events]
    options = _options()
    expected = _text_of([json.loads(e) for e in events])
    inputs: dict[str, list[Any]] = {
        name: (as_bytes if "bytes" in name else list(events)) for name in options
    }
    comparable: dict[str, Option] = {}
    skipped: dict[str, str] = {}
    for name, option in options.items():
        try:
            got = _read_all(option, inputs[name])
        except Exception as exc:  # a peer that cannot read the corpus is reported, not timed
            skipped[name] = f"not comparable ({type(exc).__name__})"
            continue
        if got != expected:
            skipped[name] = "not comparable (different text)"
            continue
        comparable[name] = option
    whole = "accumulator.feed (ours, whole path)"
    best: dict[str, float] = {name: float("inf") for name in [*comparable, whole]}
    for _ in range(repeats):
        for name, option in comparable.items():
            best[name] = min(best[name], _time_option(option, inputs[name]))
        best[whole] = min(best[whole], _time_accumulator(events))
    per_chunk = {name: seconds / len(events) * 1e6 for name, seconds in best.items()}
    return {
        "python": sys.version.split()[0],
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "events": len(events),
        "repeats": repeats,
        "per_chunk_us": per_chunk,
        "skipped": skipped,
        "orjson": "orjson + slots" in options,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_ide_chunks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=5_000, help="chunks in the reply (5,000)")
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per option (7)")
    parser.add_argument("--seed", type=int, default=2025, help="corpus seed")
    args = parser.parse_args(argv)
    report = run(args.events, args.repeats, args.seed)
    ours = report["per_chunk_us"]["msgspec Struct (ours)"]
    print(
        f"chunk construction, Python {report['python']} on {report['machine']}, "
        f"{report['events']} chunks, min of {report['repeats']} (CPU time)"
    )
    print(f"{'option':40} {'µs/chunk':>9} {'÷ ours':>8}")
    for name, micros in sorted(report["per_chunk_us"].items(), key=lambda kv: kv[1]):
        print(f"{name:40} {micros:9.3f} {micros / ours:8.2f}")
    for name, why in report["skipped"].items():
        print(f"{name:40} {why}")
    if not report["orjson"]:
        print(f"{'orjson + slots':40} not installed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
