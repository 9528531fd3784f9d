"""Chat requests are checked before any I/O; each error names the element's path and field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from copilot_anyio._errors import UsageError
from copilot_anyio.ide._validate import (
    validate_messages,
    validate_model,
    validate_tool_choice,
    validate_tools,
)

PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}


class TestValidMessages:
    @pytest.mark.parametrize(
        "messages",
        [
            [{"role": "user", "content": "hi"}],
            [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            [{"role": "developer", "content": [{"type": "text", "text": "rules"}]}],
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is it?"},
                        {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
                        {"type": "image_url", "image_url": {"url": "https://example.org/cat.jpg"}},
                        {
                            "type": "image_url",
                            "image_url": {
                                "url": "data:image/svg+xml;charset=utf-8;base64,PHN2Zy8+"
                            },
                        },
                    ],
                }
            ],
            [{"role": "assistant", "content": None, "tool_calls": [CALL]}],
            [
                {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [CALL],
                    "reasoning_opaque": "x",
                }
            ],
            [
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": "a"},
                        {"type": "refusal", "refusal": "no"},
                    ],
                }
            ],
            [{"role": "tool", "tool_call_id": "call_1", "content": "12 degrees"}],
            [
                {
                    "role": "tool",
                    "tool_call_id": "call_1",
                    "content": [{"type": "text", "text": "12"}],
                }
            ],
            [{"role": "user", "content": "hi", "name": "ada", "unknown_extra": {"kept": True}}],
            ({"role": "user", "content": ""},),
        ],
    )
    def test_accepted(self, messages: Any) -> None:
        validate_messages(messages)  # raises UsageError if refused


def rejected(messages: Any) -> str:
    with pytest.raises(UsageError) as caught:
        validate_messages(messages)
    return str(caught.value)


class TestRejectedMessages:
    @pytest.mark.parametrize(
        ("messages", "path"),
        [
            ([], "messages: "),
            ("hello", "messages: "),
            ({"role": "user"}, "messages: "),
            (None, "messages: "),
            ([{"role": "user", "content": "a"}, "b"], "messages[1]: "),
            ([{"content": "x"}], "messages[0].role: "),
            ([{"role": "bot", "content": "x"}], "messages[0].role: "),
            ([{"role": "function", "content": "x"}], "messages[0].role: "),
            ([{"role": "user"}], "messages[0].content: "),
            ([{"role": "user", "content": 5}], "messages[0].content: "),
            ([{"role": "user", "content": []}], "messages[0].content: "),
            ([{"role": "user", "content": ["text"]}], "messages[0].content[0]: "),
            ([{"role": "user", "content": [{"type": "video"}]}], "messages[0].content[0].type: "),
            (
                [{"role": "user", "content": [{"type": "text", "text": 3}]}],
                "messages[0].content[0].text: ",
            ),
            ([{"role": "user", "content": [{"type": "text"}]}], "messages[0].content[0].text: "),
            (
                [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": PNG}}]}],
                "messages[0].content[0].type: ",
            ),
            ([{"role": "user", "content": "x", "name": ""}], "messages[0].name: "),
            ([{"role": "assistant"}], "messages[0].content: "),
            (
                [{"role": "assistant", "content": None, "tool_calls": []}],
                "messages[0].tool_calls: ",
            ),
            ([{"role": "assistant", "tool_calls": ["x"]}], "messages[0].tool_calls[0]: "),
            (
                [{"role": "assistant", "tool_calls": [{**CALL, "id": ""}]}],
                "messages[0].tool_calls[0].id: ",
            ),
            (
                [{"role": "assistant", "tool_calls": [{**CALL, "type": "code"}]}],
                "messages[0].tool_calls[0].type: ",
            ),
            (
                [{"role": "assistant", "tool_calls": [{"id": "a", "function": None}]}],
                "messages[0].tool_calls[0].function: ",
            ),
            (
                [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "a", "function": {"name": "bad name", "arguments": "{}"}}
                        ],
                    }
                ],
                "messages[0].tool_calls[0].function.name: ",
            ),
            (
                [
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "a", "function": {"name": "f", "arguments": {"a": 1}}}
                        ],
                    }
                ],
                "messages[0].tool_calls[0].function.arguments: ",
            ),
            ([{"role": "tool", "content": "x"}], "messages[0].tool_call_id: "),
            ([{"role": "tool", "content": "x", "tool_call_id": 5}], "messages[0].tool_call_id: "),
        ],
    )
    def test_path_named(self, messages: Any, path: str) -> None:
        assert rejected(messages).startswith(path)

    def test_index_of_the_offending_message(self) -> None:
        messages = [
            {"role": "system", "content": "s"},
            {"role": "user", "content": "u"},
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}],
            },
        ]
        message = rejected(messages)
        assert message.startswith("messages[2].content[0].image_url.url: ")
        assert "https://" in message


class TestImageUrls:
    @pytest.mark.parametrize(
        ("image", "why"),
        [
            ("https://example.org/a.png", "must be an object"),
            ({"url": ""}, "non-empty"),
            ({"url": 7}, "non-empty"),
            ({"url": "http://example.org/a.png"}, "https://"),
            ({"url": "file:///etc/passwd"}, "https://"),
            ({"url": "example.org/a.png"}, "relative"),
            ({"url": "https://"}, "https://"),
            ({"url": "data:text/plain;base64,aGk="}, "data:image/"),
            ({"url": "data:image/png,rawbytes"}, "data:image/"),
            ({"url": "data:image/png;base64,"}, "no data"),
            ({"url": PNG, "detail": "max"}, "detail"),
        ],
    )
    def test_rejected(self, image: Any, why: str) -> None:
        message = rejected(
            [{"role": "user", "content": [{"type": "image_url", "image_url": image}]}]
        )
        assert message.startswith("messages[0].content[0].image_url")
        assert why in message

    def test_large_data_url_is_judged_by_its_header(self) -> None:
        big = "data:image/png;base64," + "A" * 10_000 + "!"
        # A valid header with data passes (payload bytes are the server's to judge).
        validate_messages(
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": big}}]}]
        )


class TestModel:
    @pytest.mark.parametrize(
        "model",
        ["gpt-4o", "claude-sonnet-4.5", "gpt-4o-2024-11-20", "accounts/msft/routers/x", "o3-mini"],
    )
    def test_accepted(self, model: str) -> None:
        validate_model(model)  # raises UsageError if refused

    @pytest.mark.parametrize("model", ["", None, 4, "gpt 4o", "-x", "a" * 300, "gpt-4o\n", "ü"])
    def test_rejected(self, model: Any) -> None:
        with pytest.raises(UsageError, match=r"^model: "):
            validate_model(model)


class TestTools:
    def test_names_returned(self) -> None:
        other = {"type": "function", "function": {"name": "lookup", "description": "d"}}
        assert validate_tools([TOOL, other]) == ("get_weather", "lookup")
        assert validate_tools(None) == ()

    @pytest.mark.parametrize(
        ("tools", "path"),
        [
            ("x", "tools: "),
            ([5], "tools[0]: "),
            ([{"type": "retrieval"}], "tools[0].type: "),
            ([{"type": "function"}], "tools[0].function: "),
            ([{"type": "function", "function": {"name": "a b"}}], "tools[0].function.name: "),
            ([{"type": "function", "function": {"name": "x" * 65}}], "tools[0].function.name: "),
            ([TOOL, TOOL], "tools[1].function.name: "),
            (
                [{"type": "function", "function": {"name": "f", "description": 1}}],
                "tools[0].function.description: ",
            ),
            (
                [{"type": "function", "function": {"name": "f", "parameters": "{}"}}],
                "tools[0].function.parameters: ",
            ),
        ],
    )
    def test_rejected(self, tools: Any, path: str) -> None:
        with pytest.raises(UsageError) as caught:
            validate_tools(tools)
        assert str(caught.value).startswith(path)

    def test_duplicate_names_the_first(self) -> None:
        with pytest.raises(UsageError, match=re.escape("already defined by tools[0]")):
            validate_tools([TOOL, TOOL])


class TestToolChoice:
    @pytest.mark.parametrize(
        "choice",
        [
            None,
            "none",
            "auto",
            "required",
            {"type": "function", "function": {"name": "get_weather"}},
        ],
    )
    def test_accepted(self, choice: Any) -> None:
        validate_tool_choice(choice, ("get_weather",))  # raises UsageError if refused

    @pytest.mark.parametrize(
        ("choice", "names", "path"),
        [
            ("any", ("f",), "tool_choice: "),
            ("required", (), "tool_choice: "),
            (
                {"type": "function", "function": {"name": "g"}},
                ("f",),
                "tool_choice.function.name: ",
            ),
            ({"type": "function"}, ("f",), "tool_choice.function.name: "),
            ({"type": "tool"}, ("f",), "tool_choice: "),
            (3, ("f",), "tool_choice: "),
        ],
    )
    def test_rejected(self, choice: Any, names: tuple[str, ...], path: str) -> None:
        with pytest.raises(UsageError) as caught:
            validate_tool_choice(choice, names)
        assert str(caught.value).startswith(path)
