"""Tool-call history repair (protocol.md §10.7): every call gets exactly one result, in the chat,
Responses and Anthropic Messages shapes."""

from __future__ import annotations

from typing import Any

import pytest

from copilot_anyio._errors import UsageError
from copilot_anyio.ide._repair import (
    INTERRUPTED_RESULT,
    check_tool_history,
    repair_tool_history,
)


def call(cid: str, name: str = "f") -> dict[str, Any]:
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": "{}"}}


USER = {"role": "user", "content": "go"}


def test_well_formed_histories_pass_unchanged() -> None:
    histories: list[list[dict[str, Any]]] = [
        [
            USER,
            {"role": "assistant", "tool_calls": [call("a")]},
            {"role": "tool", "tool_call_id": "a", "content": "ok"},
        ],
        [
            USER,
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "a", "output": "ok"},
        ],
        [
            USER,
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "a", "content": "ok"}],
            },
        ],
    ]
    for messages in histories:
        repaired = repair_tool_history(messages)
        assert not repaired.changed
        assert all(x is y for x, y in zip(repaired.messages, messages, strict=True))
        check_tool_history(messages)


def test_chat_last_turn_interrupted() -> None:
    messages: list[dict[str, Any]] = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [call("a"), call("b")]},
        {"role": "tool", "tool_call_id": "a", "content": "done"},
    ]
    repaired = repair_tool_history(messages)
    assert repaired.messages[3] == {
        "role": "tool",
        "tool_call_id": "b",
        "content": INTERRUPTED_RESULT,
    }
    assert [(r.action, r.call_id, r.position) for r in repaired.repairs] == [
        ("placeholder_inserted", "b", 1)
    ]
    with pytest.raises(UsageError, match="'b'"):
        check_tool_history(messages)
    assert messages[2]["tool_call_id"] == "a"
    assert len(messages) == 3


def test_chat_mid_history_orphans_and_duplicates() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "tool", "tool_call_id": "zz", "content": "orphan"},
        USER,
        {"role": "assistant", "tool_calls": [call("a")]},
        {"role": "tool", "tool_call_id": "a", "content": "1"},
        {"role": "tool", "tool_call_id": "a", "content": "again"},
        {"role": "tool", "tool_call_id": "x", "content": "stray"},
        {"role": "user", "content": "next"},
        {"role": "assistant", "tool_calls": [call("c")]},
        {"role": "user", "content": "interrupted, continue"},
    ]
    repaired = repair_tool_history(messages, placeholder="cut")
    assert [m.get("role") for m in repaired.messages] == [
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
        "tool",
        "user",
    ]
    assert repaired.messages[5] == {"role": "tool", "tool_call_id": "c", "content": "cut"}
    assert [r.action for r in repaired.repairs] == [
        "orphan_result_dropped",
        "duplicate_result_dropped",
        "orphan_result_dropped",
        "placeholder_inserted",
    ]
    check_tool_history(repaired.messages)


def test_responses_items() -> None:
    items: list[dict[str, Any]] = [
        {"type": "function_call_output", "call_id": "early", "output": "x"},
        {"role": "user", "content": "go"},
        {"type": "reasoning", "id": "rs", "encrypted_content": "e"},
        {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "b", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "a", "output": "1"},
        {"role": "user", "content": "more"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
    ]
    repaired = repair_tool_history(items)
    kinds = [(m.get("type"), m.get("call_id")) for m in repaired.messages]
    assert kinds == [
        (None, None),
        ("reasoning", None),
        ("function_call", "a"),
        ("function_call", "b"),
        ("function_call_output", "a"),
        ("function_call_output", "b"),
        (None, None),
        ("function_call", "c"),
        ("function_call_output", "c"),
    ]
    assert repaired.messages[5]["output"] == INTERRUPTED_RESULT
    assert [(r.action, r.call_id) for r in repaired.repairs] == [
        ("orphan_result_dropped", "early"),
        ("placeholder_inserted", "b"),
        ("placeholder_inserted", "c"),
    ]


def test_anthropic_messages() -> None:
    use = {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": "a", "name": "f", "input": {}},
            {"type": "tool_use", "id": "b", "name": "f", "input": {}},
        ],
    }
    # the answer holds one result, a stray one and some text
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "go"},
        use,
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "a", "content": "1"},
                {"type": "tool_result", "tool_use_id": "zz", "content": "?"},
                {"type": "text", "text": "and then?"},
            ],
        },
    ]
    repaired = repair_tool_history(messages)
    content = repaired.messages[2]["content"]
    assert [(b["type"], b.get("tool_use_id")) for b in content] == [
        ("tool_result", "a"),
        ("tool_result", "b"),
        ("text", None),
    ]
    assert content[1]["is_error"] is True
    # interrupted as the last turn: a user message is added
    last = repair_tool_history([{"role": "user", "content": "go"}, use])
    assert last.messages[2]["role"] == "user"
    assert [b["tool_use_id"] for b in last.messages[2]["content"]] == ["a", "b"]
    # followed by plain user text: the results go first, the text stays
    text = repair_tool_history(
        [{"role": "user", "content": "go"}, use, {"role": "user", "content": "hm"}]
    )
    assert [b["type"] for b in text.messages[2]["content"]] == [
        "tool_result",
        "tool_result",
        "text",
    ]
    # an orphan result on its own is dropped with its message
    orphan = repair_tool_history(
        [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "q"}]}]
    )
    assert orphan.messages == []
    assert orphan.repairs[0].action == "orphan_result_dropped"
