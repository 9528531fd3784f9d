"""Requests for ``/responses``, ``/v1/messages`` and ``/embeddings`` as data (protocol.md §3.7–§3.9,
§10.4–§10.6), their reply parsers, and routing every endpoint by the catalogue."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import (
    RemoteProtocolError,
    UnsupportedEndpointError,
    UsageError,
)
from copilot_anyio.ide._catalogue import parse_models, preferred_endpoint, route
from copilot_anyio.ide._versions import IdeVersions
from copilot_anyio.ide._wire import (
    ANTHROPIC_VERSION,
    embedding_batches,
    embeddings_request,
    messages_request,
    parse_embeddings,
    responses_request,
)

RID = "0f8fad5b-d9cb-469f-a165-70867728950e"
PINS = {
    "Copilot-Integration-Id",
    "Editor-Version",
    "Editor-Plugin-Version",
    "User-Agent",
    "X-GitHub-Api-Version",
}


class TestResponses:
    def test_string_input(self) -> None:
        request = responses_request(
            model="gpt-5-codex",
            input="hi",
            request_id=RID,
            instructions="be brief",
            reasoning={"effort": "low"},
        )
        assert (request.method, request.url) == ("POST", "/responses")
        assert request.json == {
            "model": "gpt-5-codex",
            "input": "hi",
            "stream": True,
            "instructions": "be brief",
            "reasoning": {"effort": "low"},
        }
        headers = request.headers
        assert set(headers) >= PINS
        assert headers["X-Request-Id"] == RID
        assert headers["Accept"] == "text/event-stream"
        assert headers["X-Initiator"] == "user"
        assert "Authorization" not in headers
        assert "Copilot-Vision-Request" not in headers

    def test_items_tools_previous_and_interaction_headers(self) -> None:
        items: list[dict[str, Any]] = [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": "data:image/png;base64,AA"},
                ],
            },
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "42"},
        ]
        chat_tool = {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object"}},
        }
        request = responses_request(
            model="gpt-5.4",
            input=items,
            request_id=RID,
            tools=[chat_tool],
            previous_response_id="resp_1",
            stream=False,
            interaction_id="conv-1",
            interaction_type="conversation-agent",
            versions=IdeVersions(api_version="2026-08-01"),
            store=None,
        )
        body = request.json
        assert body["tools"] == [
            {"type": "function", "name": "f", "parameters": {"type": "object"}}
        ]
        assert body["previous_response_id"] == "resp_1"
        assert "store" not in body
        headers = request.headers
        assert headers["X-Initiator"] == "agent"  # the last item is a tool result
        assert headers["Copilot-Vision-Request"] == "true"
        assert headers["Accept"] == "application/json"
        assert (headers["X-Interaction-Id"], headers["X-Interaction-Type"]) == (
            "conv-1",
            "conversation-agent",
        )
        assert headers["X-GitHub-Api-Version"] == "2026-08-01"

    @pytest.mark.parametrize(
        ("kwargs", "where"),
        [
            ({"input": ""}, "input"),
            ({"input": []}, "input"),
            ({"input": [3]}, "input[0]"),
            ({"input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
            ({"input": [{"type": "reasoning", "id": "rs"}]}, "encrypted_content"),
            ({"input": [{"type": "function_call_output", "output": "x"}]}, "call_id"),
            ({"input": "x", "previous_response_id": ""}, "previous_response_id"),
            ({"input": "x", "tools": [{"type": "function", "name": "bad name"}]}, "name"),
            ({"input": "x", "model": "bad model"}, "model"),
        ],
    )
    def test_refused_before_sending(self, kwargs: dict[str, Any], where: str) -> None:
        kwargs.setdefault("model", "gpt-5-codex")
        with pytest.raises(UsageError, match=where.replace("[", r"\[").replace("]", r"\]")):
            responses_request(request_id=RID, **kwargs)


CLAUDE_USER = {"role": "user", "content": "hi"}


class TestMessages:
    def test_headers_and_body(self) -> None:
        request = messages_request(
            model="claude-sonnet-4.5",
            messages=[CLAUDE_USER],
            max_tokens=1024,
            request_id=RID,
            system="be kind",
            thinking={"type": "enabled", "budget_tokens": 512},
            betas=["interleaved-thinking-2025-05-14", "interleaved-thinking-2025-05-14"],
            temperature=None,
        )
        assert (request.method, request.url) == ("POST", "/v1/messages")
        assert request.json == {
            "model": "claude-sonnet-4.5",
            "messages": [CLAUDE_USER],
            "max_tokens": 1024,
            "stream": True,
            "system": "be kind",
            "thinking": {"type": "enabled", "budget_tokens": 512},
        }
        headers = request.headers
        assert set(headers) >= PINS
        assert headers["anthropic-version"] == ANTHROPIC_VERSION
        assert headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
        assert headers["Openai-Intent"] == headers["X-Interaction-Type"] == "messages-proxy"
        assert headers["X-Initiator"] == "user"
        assert "Authorization" not in headers

    def test_tool_results_turn_is_the_agents_and_images_set_vision(self) -> None:
        messages: list[dict[str, Any]] = [
            CLAUDE_USER,
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t", "content": "1"},
                ],
            },
        ]
        headers = messages_request(
            model="claude-sonnet-4.5", messages=messages, max_tokens=5, request_id=RID
        ).headers
        assert headers["X-Initiator"] == "agent"
        assert "anthropic-beta" not in headers
        image = {
            "role": "user",
            "content": [
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                }
            ],
        }
        assert (
            messages_request(
                model="claude-sonnet-4.5", messages=[image], max_tokens=5, request_id=RID
            ).headers["Copilot-Vision-Request"]
            == "true"
        )

    def test_max_tokens_is_clamped(self) -> None:
        def sent(**kw: Any) -> int:
            request = messages_request(
                model="claude-sonnet-4.5", messages=[CLAUDE_USER], request_id=RID, **kw
            )
            return int(request.json["max_tokens"])

        assert sent(max_tokens=300_000) == 128_000
        assert sent(max_tokens=300_000, max_output_tokens=16_384) == 16_384
        assert sent(max_tokens=100, max_output_tokens=16_384) == 100

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"messages": []}, "messages"),
            ({"messages": [{"role": "system", "content": "x"}]}, "system="),
            (
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {
                                    "type": "image",
                                    "source": {"type": "url", "url": "https://x/y.png"},
                                }
                            ],
                        }
                    ]
                },
                "base64",
            ),
            ({"messages": [{"role": "user", "content": [{"type": "tool_result"}]}]}, "tool_use_id"),
            ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "web_search"),
            ({"tools": [{"description": "no name"}]}, "name"),
            ({"betas": ["output-300k-2025-08-01"]}, "output-300k"),
            ({"max_tokens": 0}, "max_tokens"),
            ({"max_tokens": True}, "max_tokens"),
        ],
    )
    def test_refused_before_sending(self, kwargs: dict[str, Any], match: str) -> None:
        kwargs.setdefault("messages", [CLAUDE_USER])
        kwargs.setdefault("max_tokens", 10)
        with pytest.raises(UsageError, match=match):
            messages_request(model="claude-sonnet-4.5", request_id=RID, **kwargs)

    def test_a_beta_outside_the_list_can_be_allowed(self) -> None:
        request = messages_request(
            model="claude-sonnet-4.5",
            messages=[CLAUDE_USER],
            max_tokens=10,
            request_id=RID,
            betas=["new-beta"],
            allowed_betas=frozenset({"new-beta"}),
        )
        assert request.headers["anthropic-beta"] == "new-beta"


class TestEmbeddings:
    def test_request(self) -> None:
        request = embeddings_request(
            model="text-embedding-3-small", input=["a", "b"], request_id=RID, dimensions=8
        )
        assert (request.method, request.url) == ("POST", "/embeddings")
        assert request.json == {
            "model": "text-embedding-3-small",
            "input": ["a", "b"],
            "dimensions": 8,
        }
        assert set(request.headers) >= PINS
        assert "Authorization" not in request.headers
        assert embeddings_request(model="m", input="one", request_id=RID).json["input"] == "one"

    @pytest.mark.parametrize(
        "kwargs",
        [{"input": ""}, {"input": []}, {"input": ["a", 1]}, {"input": "a", "dimensions": 0}],
    )
    def test_refused(self, kwargs: dict[str, Any]) -> None:
        with pytest.raises(UsageError):
            embeddings_request(model="m", request_id=RID, **kwargs)

    def test_batches_and_parse(self) -> None:
        assert embedding_batches(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
        assert embedding_batches(["a"], None) == [["a"]]
        parsed = parse_embeddings(
            json.dumps(
                {
                    "object": "list",
                    "model": "m",
                    "data": [
                        {"object": "embedding", "index": 1, "embedding": [0.5]},
                        {"object": "embedding", "index": 0, "embedding": [1, -0.5]},
                    ],
                    "usage": {"prompt_tokens": 2, "total_tokens": 2},
                }
            )
        )
        assert [e.index for e in parsed.data] == [0, 1]
        assert parsed.data[0].embedding == [1.0, -0.5]
        with pytest.raises(RemoteProtocolError):
            parse_embeddings(b"<html>")


CATALOGUE = parse_models(
    {
        "data": [
            {
                "id": "claude",
                "supported_endpoints": ["/chat/completions", "/v1/messages"],
                "capabilities": {"type": "chat"},
            },
            {
                "id": "codex",
                "supported_endpoints": ["/responses", "ws:/responses"],
                "capabilities": {"type": "chat"},
            },
            {"id": "plain", "capabilities": {"type": "chat"}},
            {"id": "embed", "capabilities": {"type": "embeddings"}},
        ]
    }
)


class TestRouting:
    def test_each_endpoint(self) -> None:
        assert route(CATALOGUE, "claude", "/v1/messages").id == "claude"
        assert route(CATALOGUE, "codex", "/responses").id == "codex"
        assert route(CATALOGUE, "embed", "/embeddings").id == "embed"
        with pytest.raises(UnsupportedEndpointError) as refused:
            route(CATALOGUE, "codex", "/chat/completions")
        assert refused.value.supported == ("/responses",)
        for model, endpoint in [
            ("plain", "/embeddings"),
            ("embed", "/chat/completions"),
            ("plain", "/v1/messages"),
        ]:
            with pytest.raises(UnsupportedEndpointError):
                route(CATALOGUE, model, endpoint)

    def test_preference(self) -> None:
        get = CATALOGUE.get
        assert [preferred_endpoint(get(m)) for m in ("claude", "codex", "plain", "embed")] == [  # type: ignore[arg-type]
            "/v1/messages",
            "/responses",
            "/chat/completions",
            None,
        ]
        assert preferred_endpoint(get("claude"), ("/chat/completions",)) == "/chat/completions"  # type: ignore[arg-type]
