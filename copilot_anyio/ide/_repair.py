"""Tool-call history repair: every tool call gets exactly one result (protocol.md §10.7).

Why
---
Interrupting a running tool (a cancelled task, a crash, a closed terminal) can leave a tool call
in the history without its result. Copilot's backends then refuse *every* later request with a
400, until the history changes; a result without its call fails the same way. So, before each
request, ``repair_tool_history`` makes the history well-formed:

* a call without a result gets a placeholder result right after it, saying it was interrupted
  (as an error where the shape has a flag for that);
* a result whose call is not where it must be (orphan), or a second result for one call, is
  dropped;
* everything else is passed through as the same objects, in the same order.

It returns the new list and what it changed (``RepairedHistory.repairs``), so a caller can log
or show it. ``check_tool_history`` raises instead, for code that must never build such a history
itself (the client checks its own follow-up turns with it).

The three shapes
----------------
* **Chat completions**: an ``assistant`` message with ``tool_calls`` (``id``) must be followed
  directly by one ``tool`` message per call (``tool_call_id``). Placeholders go after the tool
  messages that are there.
* **Responses** input items: a ``function_call`` (``call_id``) needs a ``function_call_output``
  with its ``call_id`` somewhere after it. Placeholders go right after the run of call, output
  and reasoning items that holds the call.
* **Anthropic Messages**: an ``assistant`` message whose content has ``tool_use`` blocks
  (``id``) must be followed by a ``user`` message starting with one ``tool_result`` block
  (``tool_use_id``) per call. Placeholders join that message at the front of its content (a
  new ``user`` message is inserted when the next one is not a user's).

A list may mix the shapes; each message is read by its own keys. Pure; the input is not changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, final

from .._errors import UsageError

__all__ = [
    "INTERRUPTED_RESULT",
    "RepairedHistory",
    "ToolHistoryRepair",
    "check_tool_history",
    "repair_tool_history",
]

#: The placeholder result's text.
INTERRUPTED_RESULT: Final = (
    "Error: this tool call was interrupted before it returned a result; it did not complete."
)
_RESPONSES_RUN: Final = frozenset({"function_call", "function_call_output", "reasoning"})

Action = Literal["placeholder_inserted", "orphan_result_dropped", "duplicate_result_dropped"]


@final
@dataclass(frozen=True, slots=True)
class ToolHistoryRepair:
    """One change: ``action`` on the call ``call_id``; ``position`` is the index, in the list
    given, of the calling message (placeholders) or of the message holding the dropped result."""

    action: Action
    call_id: str
    position: int

    def describe(self) -> str:
        if self.action == "placeholder_inserted":
            return (
                f"the tool call {self.call_id!r} (message {self.position}) has no result; "
                "a placeholder result was added"
            )
        if self.action == "orphan_result_dropped":
            return (
                f"message {self.position} holds a result for {self.call_id!r}, which no "
                "preceding call made; it was dropped"
            )
        return f"message {self.position} holds a second result for {self.call_id!r}; dropped"


@final
@dataclass(frozen=True, slots=True)
class RepairedHistory:
    """The repaired list and the changes made (none: the list was already well-formed)."""

    messages: list[Mapping[str, Any]]
    repairs: tuple[ToolHistoryRepair, ...]

    @property
    def changed(self) -> bool:
        return bool(self.repairs)


def _blocks(content: Any) -> list[Any] | None:
    return content if isinstance(content, list) else None


def _tool_use_ids(message: Mapping[str, Any]) -> list[str]:
    blocks = _blocks(message.get("content")) or []
    return [
        str(b.get("id"))
        for b in blocks
        if isinstance(b, Mapping) and b.get("type") == "tool_use" and b.get("id")
    ]


def _is_tool_result(block: Any) -> bool:
    return isinstance(block, Mapping) and block.get("type") == "tool_result"


def _chat_call_ids(message: Mapping[str, Any]) -> list[str]:
    calls = message.get("tool_calls")
    if not isinstance(calls, list):
        return []
    return [str(c.get("id")) for c in calls if isinstance(c, Mapping) and c.get("id")]


def repair_tool_history(
    messages: Sequence[Mapping[str, Any]], *, placeholder: str = INTERRUPTED_RESULT
) -> RepairedHistory:
    """Give every tool call exactly one result; see the module docstring.

    Args:
        messages: chat messages, Responses input items or Anthropic messages (or a mix).
        placeholder: the text of an inserted result.
    """
    repairs: list[ToolHistoryRepair] = []
    out: list[Mapping[str, Any]] = []
    calls_seen: set[str] = set()
    # Responses: the calls (by position) that have an output somewhere after them.
    answered_later: set[int] = set()
    outputs_after: set[str] = set()
    for index in range(len(messages) - 1, -1, -1):
        item = messages[index]
        if item.get("type") == "function_call_output":
            outputs_after.add(str(item.get("call_id")))
        elif item.get("type") == "function_call" and str(item.get("call_id")) in outputs_after:
            answered_later.add(index)
    pending: list[tuple[str, int]] = []  # Responses calls of the current run lacking an output
    answered: set[str] = set()

    def flush() -> None:
        for cid, position in pending:
            out.append({"type": "function_call_output", "call_id": cid, "output": placeholder})
            repairs.append(ToolHistoryRepair("placeholder_inserted", cid, position))
            answered.add(cid)
        pending.clear()

    n = len(messages)
    i = 0
    while i < n:
        message = messages[i]
        kind = message.get("type")
        role = message.get("role")
        if pending and kind not in _RESPONSES_RUN:
            flush()
        if kind == "function_call":
            cid = str(message.get("call_id"))
            calls_seen.add(cid)
            out.append(message)
            if i not in answered_later:
                pending.append((cid, i))
        elif kind == "function_call_output":
            cid = str(message.get("call_id"))
            if cid not in calls_seen:
                repairs.append(ToolHistoryRepair("orphan_result_dropped", cid, i))
            elif cid in answered:
                repairs.append(ToolHistoryRepair("duplicate_result_dropped", cid, i))
            else:
                answered.add(cid)
                out.append(message)
        elif role == "assistant" and _chat_call_ids(message):
            ids = _chat_call_ids(message)
            out.append(message)
            position = i
            i += 1
            got: set[str] = set()
            while i < n and messages[i].get("role") == "tool":
                tid = str(messages[i].get("tool_call_id"))
                if tid not in ids:
                    repairs.append(ToolHistoryRepair("orphan_result_dropped", tid, i))
                elif tid in got:
                    repairs.append(ToolHistoryRepair("duplicate_result_dropped", tid, i))
                else:
                    got.add(tid)
                    out.append(messages[i])
                i += 1
            for cid in ids:
                if cid not in got:
                    got.add(cid)
                    out.append({"role": "tool", "tool_call_id": cid, "content": placeholder})
                    repairs.append(ToolHistoryRepair("placeholder_inserted", cid, position))
            continue
        elif role == "tool":
            repairs.append(
                ToolHistoryRepair("orphan_result_dropped", str(message.get("tool_call_id")), i)
            )
        elif role == "assistant" and _tool_use_ids(message):
            ids = _tool_use_ids(message)
            out.append(message)
            position = i
            i += 1
            following = messages[i] if i < n else None
            if following is not None and following.get("role") == "user":
                out.append(_answer(following, ids, i, position, placeholder, repairs))
                i += 1
            else:
                out.append(
                    {
                        "role": "user",
                        "content": [_tool_result(cid, placeholder) for cid in ids],
                    }
                )
                repairs.extend(
                    ToolHistoryRepair("placeholder_inserted", cid, position) for cid in ids
                )
            continue
        elif role == "user" and any(
            _is_tool_result(b) for b in _blocks(message.get("content")) or []
        ):
            kept = [b for b in message["content"] if not _is_tool_result(b)]
            repairs.extend(
                ToolHistoryRepair("orphan_result_dropped", str(b.get("tool_use_id")), i)
                for b in message["content"]
                if _is_tool_result(b)
            )
            if kept:
                out.append({**message, "content": kept})
        else:
            out.append(message)
        i += 1
    flush()
    return RepairedHistory(out, tuple(repairs))


def _tool_result(call_id: str, placeholder: str) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": placeholder, "is_error": True}


def _answer(
    message: Mapping[str, Any],
    ids: list[str],
    index: int,
    position: int,
    placeholder: str,
    repairs: list[ToolHistoryRepair],
) -> Mapping[str, Any]:
    """The user message after a ``tool_use`` turn, with exactly one result per call, first."""
    content = message.get("content")
    blocks = _blocks(content)
    if blocks is None:
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) and content else []
    results: list[Any] = []
    others: list[Any] = []
    got: set[str] = set()
    for block in blocks:
        if not _is_tool_result(block):
            others.append(block)
            continue
        tid = str(block.get("tool_use_id"))
        if tid not in ids:
            repairs.append(ToolHistoryRepair("orphan_result_dropped", tid, index))
        elif tid in got:
            repairs.append(ToolHistoryRepair("duplicate_result_dropped", tid, index))
        else:
            got.add(tid)
            results.append(block)
    missing = [cid for cid in ids if cid not in got]
    repairs.extend(ToolHistoryRepair("placeholder_inserted", cid, position) for cid in missing)
    new_content = results + [_tool_result(cid, placeholder) for cid in missing] + others
    if new_content == blocks and blocks is content:
        return message
    return {**message, "content": new_content}


def check_tool_history(messages: Sequence[Mapping[str, Any]]) -> None:
    """Raise ``UsageError`` if ``messages`` has a tool call without exactly one result, or a
    result without its call (what ``repair_tool_history`` would change).

    Raises:
        UsageError: naming the first problem and how many there are.
    """
    repairs = repair_tool_history(messages).repairs
    if repairs:
        more = f" (and {len(repairs) - 1} more)" if len(repairs) > 1 else ""
        raise UsageError(
            f"unpaired tool calls: {repairs[0].describe()}{more}; every call needs exactly one "
            "result (repair_tool_history fixes this)"
        )
