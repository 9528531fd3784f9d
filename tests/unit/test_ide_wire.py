"""IDE-flavour requests as data (protocol.md §3.1–§3.6, §10.1, §10.4): headers, bodies, URLs,
and that no request ever holds a credential."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest

from copilot_anyio._errors import RemoteProtocolError, UsageError
from copilot_anyio._http import Request
from copilot_anyio.ide._versions import DEFAULT_VERSIONS, IdeVersions
from copilot_anyio.ide._wire import (
    COPILOT_CLIENT_ID,
    DEVICE_GRANT_TYPE,
    chat_completions_request,
    copilot_user_request,
    device_code_request,
    device_token_request,
    has_image,
    initiator,
    models_request,
    parse_chat_completion,
    token_exchange_request,
)

RID = "0f8fad5b-d9cb-469f-a165-70867728950e"
USER = {"role": "user", "content": "Hello"}
DEVICE_CODE = "3584d83530557fdd1f46af8289938c8ef79f9dc5"


def chat(**kwargs: Any) -> Request:
    kwargs.setdefault("model", "gpt-4o")
    kwargs.setdefault("messages", [USER])
    return chat_completions_request(request_id=RID, **kwargs)


class TestVersions:
    def test_current_pins(self) -> None:
        assert DEFAULT_VERSIONS.capi_headers() == {
            "Copilot-Integration-Id": "vscode-chat",
            "Editor-Version": "vscode/1.104.3",
            "Editor-Plugin-Version": "copilot-chat/0.50.1",
            "User-Agent": "GitHubCopilotChat/0.50.1",
            "X-GitHub-Api-Version": "2026-06-01",
        }

    def test_exchange_keeps_its_own_api_version_and_the_same_integration(self) -> None:
        headers = DEFAULT_VERSIONS.github_headers()
        assert headers["X-GitHub-Api-Version"] == "2025-04-01"
        assert headers["Copilot-Integration-Id"] == "vscode-chat"

    def test_override_reaches_every_capi_request(self) -> None:
        versions = IdeVersions(api_version="2026-08-01", editor_version="vscode/1.137.0")
        for request in (chat(versions=versions), models_request(request_id=RID, versions=versions)):
            assert request.headers["X-GitHub-Api-Version"] == "2026-08-01"
            assert request.headers["Editor-Version"] == "vscode/1.137.0"
            assert request.headers["Editor-Plugin-Version"] == "copilot-chat/0.50.1"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"api_version": ""},
            {"editor_version": "  "},
            {"user_agent": "x\r\nCookie: y"},
            {"integration_id": "a\nb"},
        ],
    )
    def test_bad_pins_refused(self, kwargs: dict[str, str]) -> None:
        with pytest.raises(UsageError, match="IdeVersions"):
            IdeVersions(**kwargs)

    def test_frozen(self) -> None:
        with pytest.raises(AttributeError):
            DEFAULT_VERSIONS.api_version = "x"  # type: ignore[misc]


class TestChatRequest:
    def test_relative_path_and_method(self) -> None:
        request = chat()
        assert (request.method, request.url) == ("POST", "/chat/completions")
        assert "Cookie" not in request.headers

    def test_headers(self) -> None:
        headers = chat().headers
        assert headers["X-Request-Id"] == RID
        assert headers["Content-Type"] == "application/json"
        assert headers["Accept"] == "text/event-stream"
        assert headers["Openai-Intent"] == "conversation-panel"
        assert headers["X-Initiator"] == "user"
        assert "Copilot-Vision-Request" not in headers
        assert "Authorization" not in headers
        for name, value in DEFAULT_VERSIONS.capi_headers().items():
            assert headers[name] == value

    def test_streaming_body(self) -> None:
        body = chat(temperature=0.2, max_tokens=100, top_p=None).json
        assert body == {
            "model": "gpt-4o",
            "messages": [USER],
            "stream": True,
            "temperature": 0.2,
            "max_tokens": 100,
            "stream_options": {"include_usage": True},
        }

    def test_non_streaming(self) -> None:
        request = chat(stream=False)
        assert request.json["stream"] is False
        assert "stream_options" not in request.json
        assert request.headers["Accept"] == "application/json"

    def test_caller_stream_options_kept(self) -> None:
        assert chat(stream_options={"include_usage": False}).json["stream_options"] == {
            "include_usage": False
        }

    def test_max_completion_tokens_sent_as_max_tokens(self) -> None:
        body = chat(max_completion_tokens=64).json
        assert body["max_tokens"] == 64
        assert "max_completion_tokens" not in body

    def test_both_token_limits_refused(self) -> None:
        with pytest.raises(UsageError, match="max_completion_tokens"):
            chat(max_completion_tokens=64, max_tokens=32)

    def test_copilot_intent_body_field_passes(self) -> None:
        request = chat(intent=True)
        assert request.json["intent"] is True
        assert request.headers["Openai-Intent"] == "conversation-panel"

    def test_passthrough_options(self) -> None:
        body = chat(
            n=2,
            stop=["\n"],
            seed=7,
            response_format={"type": "json_object"},
            reasoning_effort="low",
        ).json
        assert (body["n"], body["stop"], body["seed"], body["reasoning_effort"]) == (
            2,
            ["\n"],
            7,
            "low",
        )

    def test_tools_and_choice(self) -> None:
        tools = [
            {
                "type": "function",
                "function": {"name": "get_weather", "parameters": {"type": "object"}},
            }
        ]
        body = chat(tools=tools, tool_choice="auto").json
        assert body["tools"] == tools
        assert body["tool_choice"] == "auto"

    def test_validation_runs_first(self) -> None:
        with pytest.raises(UsageError, match=r"messages\[0\]\.role"):
            chat(messages=[{"role": "bot", "content": "x"}])
        with pytest.raises(UsageError, match="model"):
            chat(model="")

    def test_interaction_headers(self) -> None:
        headers = chat(
            interaction_id="conv-1",
            interaction_type="conversation-agent",
            openai_intent="conversation-agent",
        ).headers
        assert headers["X-Interaction-Id"] == "conv-1"
        assert headers["X-Interaction-Type"] == "conversation-agent"
        assert headers["Openai-Intent"] == "conversation-agent"

    def test_initiator_override(self) -> None:
        assert chat(initiator_override="agent").headers["X-Initiator"] == "agent"

    def test_vision_header_only_with_an_image(self) -> None:
        image = {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ],
        }
        assert chat(messages=[image]).headers["Copilot-Vision-Request"] == "true"
        text_parts = {"role": "user", "content": [{"type": "text", "text": "no image"}]}
        assert "Copilot-Vision-Request" not in chat(messages=[text_parts]).headers


class TestInitiator:
    @pytest.mark.parametrize(
        ("messages", "expected"),
        [
            ([USER], "user"),
            ([{"role": "system", "content": "s"}, USER], "user"),
            ([USER, {"role": "assistant", "content": "prefill"}], "agent"),
            (
                [
                    USER,
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "a",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "a", "content": "42"},
                ],
                "agent",
            ),
            # An assistant message earlier does not make a fresh user turn "agent" (§10.4).
            ([USER, {"role": "assistant", "content": "hi"}, USER], "user"),
            (
                [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result", "tool_use_id": "a", "content": "x"}],
                    }
                ],
                "agent",
            ),
            (
                [
                    {
                        "role": "user",
                        "content": [{"type": "tool_result"}, {"type": "text", "text": "and"}],
                    }
                ],
                "user",
            ),
            ([{"type": "function_call_output", "call_id": "a", "output": "x"}], "agent"),
            ([{"type": "message", "content": "x"}], "user"),
            ([{"role": "developer", "content": "d"}], "user"),
            ([], "user"),
        ],
    )
    def test_last_message_rule(self, messages: list[dict[str, Any]], expected: str) -> None:
        assert initiator(messages) == expected


class TestHasImage:
    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("text", False),
            ([{"type": "text", "text": "x"}], False),
            ([{"type": "image_url", "image_url": {"url": "https://e.org/a.png"}}], True),
            ([{"type": "input_image", "image_url": "https://e.org/a.png"}], True),
            ([{"type": "image", "source": {}}], True),
        ],
    )
    def test_parts(self, content: Any, expected: bool) -> None:
        assert has_image([{"role": "user", "content": content}]) is expected


class TestModelsRequest:
    def test_shape(self) -> None:
        request = models_request(request_id=RID)
        assert (request.method, request.url, request.json) == ("GET", "/models", None)
        assert request.headers["X-Interaction-Type"] == "model-access"
        assert request.headers["Openai-Intent"] == "model-access"
        assert request.headers["X-Request-Id"] == RID
        assert request.headers["Copilot-Integration-Id"] == "vscode-chat"


class TestGitHubRequests:
    @pytest.mark.parametrize("base", ["https://api.github.com", "https://api.github.com/"])
    def test_token_exchange(self, base: str) -> None:
        request = token_exchange_request(base, request_id=RID)
        assert (request.method, request.url) == (
            "GET",
            "https://api.github.com/copilot_internal/v2/token",
        )
        assert request.headers["X-GitHub-Api-Version"] == "2025-04-01"
        assert request.headers["Copilot-Integration-Id"] == "vscode-chat"
        assert request.headers["Accept"] == "application/json"
        assert request.headers["X-Request-Id"] == RID
        assert "Authorization" not in request.headers

    def test_enterprise_host(self) -> None:
        request = token_exchange_request("https://api.acme.ghe.com", request_id=RID)
        assert request.url == "https://api.acme.ghe.com/copilot_internal/v2/token"

    def test_copilot_user(self) -> None:
        request = copilot_user_request("https://api.github.com", request_id=RID)
        assert (request.method, request.url) == (
            "GET",
            "https://api.github.com/copilot_internal/user",
        )
        assert "Authorization" not in request.headers

    def test_device_code(self) -> None:
        request = device_code_request("https://github.com", request_id=RID)
        assert (request.method, request.url) == ("POST", "https://github.com/login/device/code")
        assert request.json == {"client_id": COPILOT_CLIENT_ID, "scope": "read:user"}
        assert request.headers["Accept"] == "application/json"
        assert request.headers["X-Request-Id"] == RID

    def test_device_token(self) -> None:
        request = device_token_request(
            "https://github.com", device_code=DEVICE_CODE, request_id=RID
        )
        assert (request.method, request.url) == (
            "POST",
            "https://github.com/login/oauth/access_token",
        )
        assert request.json == {
            "client_id": COPILOT_CLIENT_ID,
            "device_code": DEVICE_CODE,
            "grant_type": DEVICE_GRANT_TYPE,
        }
        assert DEVICE_CODE not in repr(request)
        assert DEVICE_CODE not in str(request)


class TestParseChatCompletion:
    BODY: ClassVar[dict[str, Any]] = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "content_filter_results": {},
            }
        ],
        "created": 1750000000,
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-11-20",
        "prompt_filter_results": [{"prompt_index": 0}],
        "usage": {
            "prompt_tokens": 3,
            "completion_tokens": 0,
            "total_tokens": 3,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }

    def test_parses(self) -> None:
        result = parse_chat_completion(json.dumps(self.BODY) + "\n")
        assert result.model == "gpt-4o-2024-11-20"
        assert result.object == "chat.completion"
        message = result.choices[0].message
        assert message.tool_calls is not None
        assert message.tool_calls[0].function.name == "f"
        assert result.usage is not None
        assert result.usage.total_tokens == 3

    def test_lenient_types(self) -> None:
        body = {**self.BODY, "created": "1750000000"}
        assert parse_chat_completion(json.dumps(body).encode()).created == 1750000000

    @pytest.mark.parametrize("body", ["nope", '{"choices": "x"}', "[]"])
    def test_not_a_completion(self, body: str) -> None:
        with pytest.raises(RemoteProtocolError):
            parse_chat_completion(body)
