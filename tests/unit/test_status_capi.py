"""CAPI statuses whose body or number picks a finer error class (protocol.md §5.2, §10)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import (
    APIStatusError,
    BadRequestError,
    ClientVersionUnsupportedError,
    ContextLengthExceededError,
    IncompleteStreamError,
    ModelNotSupportedError,
    PermissionDeniedError,
    PolicyDeniedError,
    QuotaExceededError,
    RateLimitError,
    StreamError,
    StreamServerError,
    UnsupportedAPIForModelError,
    WrongHostError,
)
from copilot_anyio._http import Request
from copilot_anyio._status import error_from_response, rate_limit_window
from copilot_anyio.ide._types import ChatCompletionMessageToolCall, Function

NOW = 1_750_000_000.0
TOKEN = "tid=fake;exp=0;sku=free;ip=1.2.3.4:0"


def err(
    status: int,
    body: Any = "",
    headers: dict[str, str] | None = None,
    request: Request | None = None,
) -> APIStatusError:
    text = body if isinstance(body, str) else json.dumps(body) + "\n"
    return error_from_response(status, headers or {}, text, now=NOW, request=request)


class TestBadRequestCodes:
    @pytest.mark.parametrize(
        ("body", "cls"),
        [
            (
                {
                    "error": {
                        "message": "The requested model is not supported.",
                        "code": "model_not_supported",
                        "param": "model",
                        "type": "invalid_request_error",
                    }
                },
                ModelNotSupportedError,
            ),
            (
                {
                    "error": {
                        "message": 'model "gpt-5-codex" is not accessible via the /chat/completions endpoint',
                        "code": "unsupported_api_for_model",
                    }
                },
                UnsupportedAPIForModelError,
            ),
            (
                {"error": {"message": "model gpt-4o is not supported via Responses API."}},
                UnsupportedAPIForModelError,
            ),
            (
                {
                    "error": {
                        "message": "prompt token count of 140000 exceeds the limit of 128000",
                        "code": "model_max_prompt_tokens_exceeded",
                    }
                },
                ContextLengthExceededError,
            ),
            (
                {"error": {"message": "too long", "code": "context_length_exceeded"}},
                ContextLengthExceededError,
            ),
            (
                {"error": {"message": "prompt token count of 9 exceeds the limit of 8"}},
                ContextLengthExceededError,
            ),
            ("bad request: missing Editor-Version header for IDE auth", BadRequestError),
            ({"error": {"message": "nope", "code": "invalid_request_body"}}, BadRequestError),
        ],
    )
    def test_class(self, body: Any, cls: type[APIStatusError]) -> None:
        error = err(400, body)
        assert type(error) is cls
        assert isinstance(error, BadRequestError)
        assert error.status_code == 400

    def test_code_kept(self) -> None:
        error = err(400, {"error": {"message": "m", "code": "model_not_supported"}})
        assert error.code == "model_not_supported"


class TestQuota:
    def test_reset_time_from_seconds(self) -> None:
        error = err(
            402,
            {"error": {"message": "You have no quota", "code": "quota_exceeded"}},
            {"Retry-After": "3600"},
        )
        assert isinstance(error, QuotaExceededError)
        assert (error.retry_after, error.resets_at) == (3600.0, NOW + 3600.0)
        assert error.code == "quota_exceeded"

    def test_reset_time_from_http_date(self) -> None:
        error = err(402, {"error": {"code": "free_quota_exceeded"}}, {"retry-after": "x"})
        assert isinstance(error, QuotaExceededError)
        assert (error.retry_after, error.resets_at) == (None, None)
        dated = err(402, "", {"Retry-After": "Mon, 16 Jun 2025 15:06:40 GMT"})
        assert isinstance(dated, QuotaExceededError)
        assert dated.resets_at == pytest.approx(1_750_086_400.0)


class TestForbidden:
    def test_policy_message_is_policy_denied(self) -> None:
        message = (
            "You are not authorized to use this Copilot feature, it requires an enterprise or "
            "organization policy to be enabled."
        )
        error = err(403, {"error": {"message": message, "code": "forbidden"}})
        assert type(error) is PolicyDeniedError
        assert isinstance(error, PermissionDeniedError)
        assert error.message == message

    def test_other_403_is_plain_permission_denied(self) -> None:
        error = err(403, "access to this endpoint is forbidden")
        assert type(error) is PermissionDeniedError


class TestMisdirected:
    def test_421_is_wrong_host_with_the_host(self) -> None:
        request = Request("POST", "https://api.individual.githubcopilot.com/chat/completions")
        error = err(421, "Misdirected Request", request=request)
        assert type(error) is WrongHostError
        assert error.host == "api.individual.githubcopilot.com"
        assert error.message == "Misdirected Request"

    @pytest.mark.parametrize("request_", [None, Request("POST", "/chat/completions")])
    def test_host_unknown(self, request_: Request | None) -> None:
        error = err(421, "Misdirected Request", request=request_)
        assert isinstance(error, WrongHostError)
        assert error.host is None


class TestRateLimitWindows:
    @pytest.mark.parametrize(
        ("code", "window"),
        [
            ("user_global_rate_limited", "session"),
            ("user_global_rate_limited:pro", "session"),
            ("user_weekly_rate_limited", "weekly"),
            ("user_weekly_rate_limited:business", "weekly"),
            ("user_model_rate_limited", "model"),
            ("integration_rate_limited", "integration"),
            ("rate_limited", None),
            ("model_overloaded", "model_overloaded"),
            (None, None),
        ],
    )
    def test_window_from_code(self, code: str | None, window: str | None) -> None:
        body: Any = {"error": {"message": "Sorry", "code": code}} if code else "429 too many"
        error = err(429, body, {"retry-after": "2733"})
        assert isinstance(error, RateLimitError)
        assert error.window == window
        assert error.retry_after == 2733.0
        assert error.resets_at == NOW + 2733.0
        assert error.code == code

    @pytest.mark.parametrize(
        ("header", "window"),
        [
            ("global-chat:global-usage-5-hour-key:userID:COPILOT_PLAN_INDIVIDUAL", "session"),
            ("global-chat:global-usage-weekly-key:userID:COPILOT_PLAN_INDIVIDUAL", "weekly"),
            ("something-else", None),
        ],
    )
    def test_window_from_exceeded_header(self, header: str, window: str | None) -> None:
        error = err(
            429,
            {"message": "rate limit exceeded", "code": "rate_limited"},
            {"x-ratelimit-exceeded": header},
        )
        assert isinstance(error, RateLimitError)
        assert error.window == window

    def test_code_wins_over_header(self) -> None:
        assert rate_limit_window("user_weekly_rate_limited", "global-usage-5-hour-key") == "weekly"

    def test_no_retry_after(self) -> None:
        error = err(429, {"error": {"code": "user_weekly_rate_limited"}})
        assert isinstance(error, RateLimitError)
        assert (error.retry_after, error.resets_at, error.window) == (None, None, "weekly")


class TestVersionSunset:
    BODY = (
        '{"error":{"message":"bad request: the specified API version is no longer supported. '
        'You may need to update your client to a newer version.\\n","type":"error"}}\n'
    )

    def request(self) -> Request:
        return Request(
            "POST",
            "/chat/completions",
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "X-GitHub-Api-Version": "2025-04-01",
                "Editor-Version": "vscode/1.99.0",
                "Editor-Plugin-Version": "copilot-chat/0.26.7",
                "User-Agent": "GitHubCopilotChat/0.26.7",
            },
        )

    def test_466_names_the_pins(self) -> None:
        error = err(466, self.BODY, request=self.request())
        assert type(error) is ClientVersionUnsupportedError
        assert error.pins == {
            "x-github-api-version": "2025-04-01",
            "editor-version": "vscode/1.99.0",
            "editor-plugin-version": "copilot-chat/0.26.7",
            "user-agent": "GitHubCopilotChat/0.26.7",
        }
        text = str(error)
        assert "no longer supported" in text
        assert "2025-04-01" in text
        assert "api_version" in text
        assert "IdeVersions" in text

    def test_466_never_shows_the_token(self) -> None:
        error = err(466, self.BODY, request=self.request())
        assert isinstance(error, ClientVersionUnsupportedError)
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert all(TOKEN not in str(a) for a in error.args)
        assert TOKEN not in repr(error.pins)

    def test_466_without_request(self) -> None:
        error = err(466, self.BODY)
        assert isinstance(error, ClientVersionUnsupportedError)
        assert error.pins == {}
        assert error.status_code == 466
        assert "api_version" in str(error)


class TestPartialToolCalls:
    CALL = ChatCompletionMessageToolCall(
        id="call_1", function=Function(name="f", arguments='{"a"'), type="function"
    )

    @pytest.mark.parametrize("cls", [StreamError, IncompleteStreamError, StreamServerError])
    def test_default_empty(self, cls: type[StreamError]) -> None:
        assert cls("m", partial_text="x").partial_tool_calls == ()

    def test_kept_as_tuple(self) -> None:
        error = StreamServerError("m", partial_text="x", partial_tool_calls=[self.CALL], code="500")
        assert error.partial_tool_calls == (self.CALL,)
        assert (error.partial_text, error.code) == ("x", "500")
