"""The Copilot token exchange, decided: reply → ``CopilotToken`` (lease and API base URL), or the
error that says what to do.

Theory of operation
-------------------
``GET api.github.com/copilot_internal/v2/token`` with ``Authorization: token <GitHub token>``
answers (protocol.md §3.2.2) with the short-lived token, ``refresh_in`` (seconds), ``expires_at``
(Unix seconds) and ``endpoints.api``, the base URL of every Copilot API call until the next
exchange. The base URL is chosen, in order: ``endpoints.api`` (an http(s) URL); else the token
string's ``proxy-ep`` hint with ``proxy.`` turned into ``api.``; else the caller's default
(``https://api.githubcopilot.com``). ``api_url_source`` records which, because a 421 from a
fallback host means something else than one from ``endpoints.api`` (§10.8).

The lease follows ``_auth.copilot_token_lease`` (deadline ``t0 + refresh_in + 60``, bounded).

Failures (§5.3, §10.9), each its own class, none holding the GitHub token:

* 401 → ``GitHubTokenRejectedError``: bad or revoked; sign in again.
* 403/404 with Copilot's ``error_details`` envelope → ``CopilotAccessDeniedError`` with the
  server's message, ``notification_id`` and URL.
* 403 "Resource not accessible by personal access token" and a plain 404 →
  ``TokenNotUsableForCopilotError``: this kind of token is not exchanged; use the device flow
  with Copilot's client id. The message names the token's kind (from its prefix) and source.
* 403 "API rate limit exceeded" → ``RateLimitError`` (GitHub's REST limit).
* Other statuses → the usual ``error_from_response`` mapping.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final
from urllib.parse import urlsplit

from .._auth import TokenLease, copilot_token_lease, lifetime_seconds
from .._errors import (
    CopilotAccessDeniedError,
    CopilotError,
    GitHubTokenRejectedError,
    RateLimitError,
    RemoteProtocolError,
    TokenNotUsableForCopilotError,
)
from .._http import header_safe
from .._status import error_from_response, error_parts, parse_retry_after
from ._wire import COPILOT_CLIENT_ID

__all__ = [
    "DEFAULT_CAPI_URL",
    "CopilotToken",
    "exchange_error",
    "github_token_kind",
    "parse_copilot_token",
]

DEFAULT_CAPI_URL: Final = "https://api.githubcopilot.com"

#: GitHub token prefixes and what they are (github.blog, "Behind GitHub's new token formats").
_TOKEN_KINDS: Final = (
    ("github_pat_", "a fine-grained personal access token"),
    ("ghp_", "a classic personal access token"),
    ("gho_", "an OAuth app token (such as gh auth login's)"),
    ("ghu_", "a GitHub App user token"),
    ("ghs_", "a GitHub App installation token (such as GitHub Actions' GITHUB_TOKEN)"),
    ("ghr_", "a refresh token"),
)


def github_token_kind(token: str) -> str:
    """What kind of GitHub token this is, from its prefix alone (never the token itself)."""
    for prefix, kind in _TOKEN_KINDS:
        if token.startswith(prefix):
            return kind
    return "a token of unknown kind"


@final
@dataclass(frozen=True, slots=True)
class CopilotToken:
    """A Copilot token and what came with it.

    Attributes:
        lease: the token and its refresh times (monotonic, from ``now``).
        api_url: the Copilot API base URL (no trailing slash).
        api_url_source: ``"endpoints.api"``, ``"proxy-ep"`` or ``"default"``.
        sku: the plan (``free_limited_copilot``, ``copilot_for_business``...), if sent.
        expires_at: the server's expiry (Unix seconds), if it sent a number.
        chat_enabled: the ``chat_enabled`` flag, if sent.
        envelope: the whole reply except the token (feature flags, quotas, endpoints...).
    """

    lease: TokenLease
    api_url: str
    api_url_source: str
    sku: str | None = None
    expires_at: float | None = None
    chat_enabled: bool | None = None
    envelope: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def value(self) -> str:
        return self.lease.value


def _http_url(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None
    return value.strip().rstrip("/")


def _proxy_hint(token: str) -> str | None:
    # ``tid=...;exp=...;proxy-ep=proxy.individual.githubcopilot.com;...:<mac>``
    fields_part = token.split(":", 1)[0]
    for item in fields_part.split(";"):
        key, _, value = item.partition("=")
        if key.strip() == "proxy-ep" and value.strip():
            host = value.strip()
            if host.startswith("proxy."):
                host = "api." + host[len("proxy.") :]
            if all(c.isalnum() or c in ".-" for c in host):
                return f"https://{host}"
    return None


def parse_copilot_token(
    payload: Any,
    *,
    now: float,
    wall_now: float | None = None,
    default_api_url: str = DEFAULT_CAPI_URL,
) -> CopilotToken:
    """The successful exchange reply as a ``CopilotToken``.

    Args:
        payload: the decoded JSON reply.
        now: the monotonic clock reading at receipt (the lease's times are on it).
        wall_now: the current Unix time; only lets ``expires_at`` shorten the lease.
        default_api_url: the last-resort base URL (GHE.com: ``https://copilot-api.<domain>``).

    Raises:
        RemoteProtocolError: the reply carries no token.
    """
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise RemoteProtocolError("the Copilot token reply carried no token")
    if not header_safe(token) or " " in token:
        raise RemoteProtocolError(
            "the Copilot token reply carried a token that cannot be sent in an HTTP header "
            "(control characters, white space or non-ASCII)"
        )
    api_url = _http_url(_dict(payload.get("endpoints")).get("api"))
    source = "endpoints.api"
    if api_url is None:
        api_url = _proxy_hint(token)
        source = "proxy-ep"
    if api_url is None:
        api_url = default_api_url.rstrip("/")
        source = "default"
    expires_at = lifetime_seconds(payload.get("expires_at"))
    sku = payload.get("sku")
    chat = payload.get("chat_enabled")
    return CopilotToken(
        lease=copilot_token_lease(
            token,
            now,
            refresh_in=payload.get("refresh_in"),
            expires_at=payload.get("expires_at"),
            wall_now=wall_now,
        ),
        api_url=api_url,
        api_url_source=source,
        sku=sku if isinstance(sku, str) else None,
        expires_at=expires_at,
        chat_enabled=chat if isinstance(chat, bool) else None,
        envelope={k: v for k, v in payload.items() if k != "token"},
    )


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _sign_in_again() -> str:
    return f"sign in again (device flow, client id {COPILOT_CLIENT_ID})"


def exchange_error(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    now: float,
    token_kind: str | None = None,
    token_source: str | None = None,
) -> CopilotError:
    """The error for a failed exchange reply.

    Args:
        status, headers, body: the response.
        now: the current Unix time (for ``retry-after``).
        token_kind: ``github_token_kind(token)`` of the token that was refused, if known.
        token_source: where that token came from (``"apps.json"``, ``"GH_COPILOT_TOKEN"``,
            ``"argument"``...), if known. Both only shape the message.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    envelope = _parse(body)
    details = _dict(envelope.get("error_details"))
    _, server_message = error_parts(body)
    message_text = str(envelope.get("message") or server_message or "")
    described = _describe(token_kind, token_source)
    if status == 401:
        return GitHubTokenRejectedError(
            f"GitHub refused {described} (bad, expired or revoked): {_sign_in_again()}",
            status_code=status,
            body=body,
        )
    if status in (403, 404) and details:
        server = str(details.get("message") or message_text or "no Copilot access")
        url = details.get("url")
        signup = envelope.get("can_signup_for_limited")
        return CopilotAccessDeniedError(
            server + (f" (see {url})" if isinstance(url, str) and url else ""),
            status_code=status,
            body=body,
            notification_id=_str(details.get("notification_id")),
            url=url if isinstance(url, str) else None,
            can_signup_for_limited=signup if isinstance(signup, bool) else None,
        )
    if status == 403 and message_text.startswith("API rate limit exceeded"):
        retry_after = parse_retry_after(lower.get("retry-after"), now=now)
        return RateLimitError(
            message_text,
            status_code=status,
            headers=lower,
            body=body,
            retry_after=retry_after,
            resets_at=None if retry_after is None else now + retry_after,
            window="github-api",
        )
    if (status == 403 and "personal access token" in message_text.lower()) or status == 404:
        return TokenNotUsableForCopilotError(
            f"the Copilot token exchange does not accept {described}; "
            f"{_sign_in_again()} and use the token it gives",
            status_code=status,
            body=body,
            token_kind=token_kind,
            token_source=token_source,
        )
    return error_from_response(status, headers, body, now=now)


def _describe(kind: str | None, source: str | None) -> str:
    what = kind or "the GitHub token"
    return f"{what} from {source}" if source else what


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _parse(body: str) -> Mapping[str, Any]:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}
