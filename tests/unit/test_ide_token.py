"""The token exchange (protocol.md §3.2, §5.3, §10.9): the reply as a CopilotToken, and each
failure as an error that says what to do, never showing a token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from copilot_anyio._errors import (
    CopilotAccessDeniedError,
    CopilotError,
    GitHubTokenRejectedError,
    RateLimitError,
    RemoteProtocolError,
    ServerError,
    TokenExchangeError,
    TokenNotUsableForCopilotError,
)
from copilot_anyio.ide._token import (
    CopilotToken,
    exchange_error,
    github_token_kind,
    parse_copilot_token,
)

NOW = 100.0
WALL = 1_750_000_000.0
TOKEN = "tid=abc;exp=1750001800;sku=free_limited_copilot;proxy-ep=proxy.business.githubcopilot.com;ip=203.0.113.9:mac"
ENVELOPE: dict[str, Any] = {
    "token": TOKEN,
    "expires_at": 1750001800,
    "refresh_in": 1500,
    "sku": "free_limited_copilot",
    "chat_enabled": True,
    "endpoints": {
        "api": "https://api.individual.githubcopilot.com/",
        "proxy": "https://proxy.individual.githubcopilot.com",
    },
    "limited_user_quotas": None,
}
GH_TOKEN = "gho_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"


class TestParse:
    def test_envelope(self) -> None:
        token = parse_copilot_token(ENVELOPE, now=NOW)
        assert isinstance(token, CopilotToken)
        assert token.value == TOKEN
        assert (token.api_url, token.api_url_source) == (
            "https://api.individual.githubcopilot.com",
            "endpoints.api",
        )
        assert (token.sku, token.expires_at, token.chat_enabled) == (
            "free_limited_copilot",
            1750001800.0,
            True,
        )
        assert (token.lease.refresh_at, token.lease.expires) == (NOW + 1260, NOW + 1560)
        assert "token" not in token.envelope
        assert token.envelope["sku"] == "free_limited_copilot"

    def test_repr_hides_the_token(self) -> None:
        token = parse_copilot_token(ENVELOPE, now=NOW)
        assert TOKEN not in repr(token)
        assert "203.0.113.9" not in repr(token)

    def test_expires_at_bounds_the_lease_with_a_wall_clock(self) -> None:
        token = parse_copilot_token({**ENVELOPE, "expires_at": WALL + 600}, now=NOW, wall_now=WALL)
        assert token.lease.expires == NOW + 600

    def test_proxy_ep_fallback(self) -> None:
        token = parse_copilot_token({**ENVELOPE, "endpoints": {}}, now=NOW)
        assert (token.api_url, token.api_url_source) == (
            "https://api.business.githubcopilot.com",
            "proxy-ep",
        )

    @pytest.mark.parametrize("api", [None, "", "not a url", "ftp://x", 5, "https://"])
    def test_bad_endpoints_api_falls_back(self, api: Any) -> None:
        token = parse_copilot_token({**ENVELOPE, "endpoints": {"api": api}}, now=NOW)
        assert token.api_url_source == "proxy-ep"

    def test_default_url_last(self) -> None:
        token = parse_copilot_token({"token": "opaque", "refresh_in": 1500}, now=NOW)
        assert (token.api_url, token.api_url_source) == ("https://api.githubcopilot.com", "default")
        enterprise = parse_copilot_token(
            {"token": "opaque"}, now=NOW, default_api_url="https://copilot-api.acme.ghe.com/"
        )
        assert enterprise.api_url == "https://copilot-api.acme.ghe.com"

    def test_loopback_emulator_url_accepted(self) -> None:
        token = parse_copilot_token(
            {**ENVELOPE, "endpoints": {"api": "http://127.0.0.1:8765"}}, now=NOW
        )
        assert token.api_url == "http://127.0.0.1:8765"

    @pytest.mark.parametrize("refresh_in", [0, -5, "soon", None, 1e308, float("nan")])
    def test_odd_lifetimes_give_a_bounded_lease(self, refresh_in: Any) -> None:
        lease = parse_copilot_token({**ENVELOPE, "refresh_in": refresh_in}, now=NOW).lease
        assert lease.refresh_at - NOW >= 30
        assert lease.expires - NOW <= 86_460

    @pytest.mark.parametrize("payload", [None, {}, {"token": ""}, {"token": 5}, [TOKEN]])
    def test_no_token(self, payload: Any) -> None:
        with pytest.raises(RemoteProtocolError) as caught:
            parse_copilot_token(payload, now=NOW)
        assert TOKEN not in str(caught.value)


class TestTokenKind:
    @pytest.mark.parametrize(
        ("prefix", "word"),
        [
            ("ghp_", "classic personal access token"),
            ("github_pat_", "fine-grained"),
            ("gho_", "OAuth app"),
            ("ghu_", "GitHub App user"),
            ("ghs_", "installation"),
            ("xyz", "unknown"),
        ],
    )
    def test_kind(self, prefix: str, word: str) -> None:
        secret = prefix + "SECRETsecret123"
        kind = github_token_kind(secret)
        assert word in kind
        assert "SECRET" not in kind


def failure(status: int, body: Any, **kwargs: Any) -> CopilotError:
    text = body if isinstance(body, str) else json.dumps(body)
    return exchange_error(status, kwargs.pop("headers", {}), text, now=WALL, **kwargs)


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error), *map(str, error.args)):
        assert GH_TOKEN not in text
        assert TOKEN not in text


class TestExchangeErrors:
    def test_401_sign_in_again(self) -> None:
        error = failure(
            401,
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
            token_kind=github_token_kind(GH_TOKEN),
            token_source="apps.json",
        )
        assert type(error) is GitHubTokenRejectedError
        assert isinstance(error, TokenExchangeError)
        assert "sign in again" in str(error)
        assert "apps.json" in str(error)
        assert error.status_code == 401
        assert_no_secret(error)

    def test_envelope_no_copilot_access(self) -> None:
        body = {
            "error_details": {
                "url": "https://github.com/github-copilot/signup?editor=vscode",
                "message": "No access to GitHub Copilot found. You are currently logged in as octo.",
                "title": "Signup for GitHub Copilot",
                "notification_id": "no_copilot_access",
            },
            "message": "Resource not accessible by integration",
            "can_signup_for_limited": True,
        }
        for status in (403, 404):
            error = failure(status, body)
            assert type(error) is CopilotAccessDeniedError
            assert error.notification_id == "no_copilot_access"
            assert error.url == "https://github.com/github-copilot/signup?editor=vscode"
            assert error.can_signup_for_limited is True
            assert str(error).startswith("No access to GitHub Copilot found.")
            assert_no_secret(error)

    def test_policy_notification(self) -> None:
        body = {
            "error_details": {
                "message": "Blocked by policy",
                "notification_id": "feature_flag_blocked",
            }
        }
        error = failure(403, body)
        assert isinstance(error, CopilotAccessDeniedError)
        assert (error.notification_id, error.url, error.can_signup_for_limited) == (
            "feature_flag_blocked",
            None,
            None,
        )
        assert str(error) == "Blocked by policy"

    def test_personal_access_token_refused(self) -> None:
        error = failure(
            403,
            {"message": "Resource not accessible by personal access token"},
            token_kind=github_token_kind("ghp_" + "x" * 36),
            token_source="GITHUB_TOKEN",
        )
        assert type(error) is TokenNotUsableForCopilotError
        assert error.token_kind == "a classic personal access token"
        assert error.token_source == "GITHUB_TOKEN"
        text = str(error)
        assert "classic personal access token from GITHUB_TOKEN" in text
        assert "Iv1.b507a08c87ecfe98" in text
        assert "device flow" in text

    def test_plain_404_is_a_token_of_the_wrong_app(self) -> None:
        error = failure(
            404,
            {"message": "Not Found"},
            token_kind=github_token_kind(GH_TOKEN),
            token_source="gh auth token",
        )
        assert type(error) is TokenNotUsableForCopilotError
        assert "OAuth app token" in str(error)
        assert_no_secret(error)

    def test_github_rate_limit(self) -> None:
        body = {"message": "API rate limit exceeded for user ID 1. See docs.", "status": "403"}
        error = failure(403, body, headers={"Retry-After": "60"})
        assert isinstance(error, RateLimitError)
        assert (error.retry_after, error.window, error.resets_at) == (60.0, "github-api", WALL + 60)

    def test_other_403_and_5xx_use_the_usual_mapping(self) -> None:
        assert type(failure(502, "bad gateway")) is ServerError
        other = failure(403, {"message": "Forbidden"})
        assert not isinstance(other, TokenExchangeError)
        assert getattr(other, "status_code", None) == 403
