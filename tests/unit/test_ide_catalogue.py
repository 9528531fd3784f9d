"""``/models`` parsing and routing (protocol.md §3.6, §10.5)."""

from __future__ import annotations

from typing import Any

import pytest

from copilot_anyio._errors import (
    ModelRoutingError,
    UnknownModelError,
    UnsupportedEndpointError,
    UsageError,
)
from copilot_anyio.ide._catalogue import Model, parse_models, route

CLAUDE: dict[str, Any] = {
    "id": "claude-sonnet-4.5",
    "name": "Claude Sonnet 4.5",
    "object": "model",
    "vendor": "Anthropic",
    "version": "claude-sonnet-4.5",
    "preview": False,
    "model_picker_enabled": True,
    "model_picker_category": "versatile",
    "is_chat_default": False,
    "is_chat_fallback": False,
    "billing": {"is_premium": True, "multiplier": 1, "restricted_to": ["pro", "pro_plus"]},
    "policy": {"state": "enabled", "terms": "terms"},
    "supported_endpoints": ["/chat/completions", "/v1/messages"],
    "capabilities": {
        "type": "chat",
        "family": "claude-sonnet-4.5",
        "object": "model_capabilities",
        "tokenizer": "o200k_base",
        "limits": {
            "max_context_window_tokens": 200000,
            "max_output_tokens": 16384,
            "max_prompt_tokens": 128000,
            "vision": {
                "max_prompt_image_size": 3145728,
                "max_prompt_images": 1,
                "supported_media_types": ["image/jpeg", "image/png", "image/webp"],
            },
        },
        "supports": {
            "streaming": True,
            "tool_calls": True,
            "parallel_tool_calls": True,
            "vision": True,
        },
    },
}
GPT4O: dict[str, Any] = {
    "id": "gpt-4o",
    "name": "GPT-4o",
    "vendor": "Azure OpenAI",
    "model_picker_enabled": True,
    "is_chat_default": True,
    "capabilities": {"type": "chat", "supports": {"streaming": True, "tool_calls": True}},
}
CODEX: dict[str, Any] = {
    "id": "gpt-5-codex",
    "model_picker_enabled": True,
    "supported_endpoints": ["/responses", "ws:/responses"],
    "capabilities": {"type": "chat"},
}
EMBED: dict[str, Any] = {
    "id": "text-embedding-3-small",
    "capabilities": {"type": "embeddings", "limits": {"max_inputs": 512}},
}
GATED: dict[str, Any] = {
    "id": "o3",
    "model_picker_enabled": True,
    "policy": {"state": "requires_consent"},
    "capabilities": {"type": "chat"},
}


def catalogue(*entries: Any) -> Any:
    return parse_models({"data": list(entries), "object": "list"})


class TestParse:
    def test_full_entry(self) -> None:
        (model,) = catalogue(CLAUDE).models
        assert isinstance(model, Model)
        assert (model.id, model.name, model.vendor, model.version) == (
            "claude-sonnet-4.5",
            "Claude Sonnet 4.5",
            "Anthropic",
            "claude-sonnet-4.5",
        )
        assert (model.type, model.family, model.tokenizer) == (
            "chat",
            "claude-sonnet-4.5",
            "o200k_base",
        )
        assert model.limits.max_context_window_tokens == 200000
        assert model.limits.max_output_tokens == 16384
        assert model.limits.max_prompt_images == 1
        assert model.limits.supported_media_types == ("image/jpeg", "image/png", "image/webp")
        assert model.supports_tools
        assert model.supports_vision
        assert model.supports_streaming
        assert model.supports_parallel_tool_calls
        assert model.supported_endpoints == ("/chat/completions", "/v1/messages")
        assert model.policy is not None
        assert model.policy.state == "enabled"
        assert model.billing is not None
        assert (model.billing.is_premium, model.billing.multiplier) == (True, 1.0)
        assert model.billing.restricted_to == ("pro", "pro_plus")
        assert model.model_picker_category == "versatile"
        assert model.raw is CLAUDE

    def test_missing_optional_fields(self) -> None:
        (model,) = catalogue({"id": "bare"}).models
        assert (model.name, model.vendor, model.type) == ("", "", "")
        assert model.policy is None
        assert model.billing is None
        assert model.supported_endpoints is None
        assert model.endpoints == ("/chat/completions",)
        assert not model.supports_tools
        assert model.limits.max_output_tokens is None

    def test_wrong_types_are_treated_as_absent(self) -> None:
        entry = {
            "id": "odd",
            "vendor": 7,
            "billing": {
                "multiplier": "1x",
                "is_premium": "yes",
                "token_prices": {"batch_size": 1000000},
            },
            "policy": "enabled",
            "capabilities": {
                "limits": {"max_output_tokens": "lots"},
                "supports": {"vision": "true"},
            },
            "supported_endpoints": "/chat/completions",
        }
        (model,) = catalogue(entry).models
        assert model.vendor == ""
        assert model.billing is not None
        assert (model.billing.multiplier, model.billing.is_premium) == (None, None)
        assert model.billing.token_prices == {"batch_size": 1000000}
        assert model.policy is None
        assert model.limits.max_output_tokens is None
        assert not model.supports_vision
        assert model.supported_endpoints is None

    def test_billing_without_premium_fields(self) -> None:
        (model,) = catalogue({"id": "free", "billing": {"token_prices": {"input_price": 0}}}).models
        assert model.billing is not None
        assert (model.billing.is_premium, model.billing.multiplier) == (None, None)

    def test_unknown_fields_and_enum_values_kept(self) -> None:
        entry = {**GPT4O, "vendor": "NewCo", "policy": {"state": "brand_new"}, "future": {"x": 1}}
        (model,) = catalogue(entry).models
        assert model.vendor == "NewCo"
        assert model.policy is not None
        assert model.policy.state == "brand_new"
        assert model.raw["future"] == {"x": 1}

    def test_bad_entries_skipped_and_reported(self) -> None:
        result = catalogue(GPT4O, "junk", {"name": "no id"}, {"id": ""}, dict(GPT4O), CLAUDE)
        assert result.ids == ("gpt-4o", "claude-sonnet-4.5")
        assert [(s.index, s.id, s.reason) for s in result.skipped] == [
            (1, None, "not an object (str)"),
            (2, None, "no id"),
            (3, None, "no id"),
            (4, "gpt-4o", "duplicate id"),
        ]

    @pytest.mark.parametrize("payload", [None, {}, {"data": "x"}, "text"])
    def test_no_data_list(self, payload: Any) -> None:
        result = parse_models(payload)
        assert result.models == ()
        assert len(result.skipped) == 1

    def test_bare_list(self) -> None:
        assert parse_models([GPT4O]).ids == ("gpt-4o",)

    def test_picker_filter_and_order(self) -> None:
        result = catalogue(CLAUDE, CODEX, EMBED, GATED, GPT4O)
        assert [m.id for m in result.picker()] == ["gpt-4o", "claude-sonnet-4.5", "gpt-5-codex"]

    def test_endpoints_ignore_unknown_values(self) -> None:
        (model,) = catalogue(CODEX).models
        assert model.endpoints == ("/responses",)
        assert model.supported_endpoints == ("/responses", "ws:/responses")


class TestRoute:
    def test_served(self) -> None:
        result = catalogue(CLAUDE, GPT4O, CODEX)
        assert route(result, "gpt-4o").id == "gpt-4o"
        assert route(result, "claude-sonnet-4.5", "/v1/messages").id == "claude-sonnet-4.5"
        assert route(result, "gpt-5-codex", "/responses").id == "gpt-5-codex"

    def test_responses_only_model_on_chat_completions(self) -> None:
        with pytest.raises(UnsupportedEndpointError) as caught:
            route(catalogue(CODEX), "gpt-5-codex")
        error = caught.value
        assert (error.model, error.endpoint, error.supported) == (
            "gpt-5-codex",
            "/chat/completions",
            ("/responses",),
        )
        assert "/responses" in str(error)
        assert issubclass(UnsupportedEndpointError, ModelRoutingError)
        assert issubclass(ModelRoutingError, UsageError)

    def test_model_with_no_known_endpoint(self) -> None:
        entry = {"id": "ws-only", "supported_endpoints": ["ws:/responses"]}
        with pytest.raises(UnsupportedEndpointError) as caught:
            route(catalogue(entry), "ws-only")
        assert caught.value.supported == ()
        assert "no endpoint" in str(caught.value)

    def test_unknown_model_suggests_close_ids(self) -> None:
        with pytest.raises(UnknownModelError) as caught:
            route(catalogue(CLAUDE, GPT4O, CODEX), "gpt-4")
        assert caught.value.suggestions[0] == "gpt-4o"
        assert "did you mean" in str(caught.value)

    def test_unknown_model_without_close_ids(self) -> None:
        with pytest.raises(UnknownModelError) as caught:
            route(catalogue(GPT4O), "zzzzzzzz")
        assert caught.value.suggestions == ()
        assert "did you mean" not in str(caught.value)
