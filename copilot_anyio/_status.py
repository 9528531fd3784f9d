"""HTTP error responses as typed errors: pure functions, no clock of their own.

Theory of operation
-------------------
Copilot error bodies are JSON more often than their ``Content-Type`` admits (``text/plain`` with
a trailing newline, protocol.md §5.1), sometimes nested (``{"error": {...}}``), sometimes plain
text (``unauthorized: token expired``), sometimes HTML. ``error_from_response`` tries JSON first,
unwraps a nested ``error``, falls back to the text, and builds the typed error for the status
with everything a caller needs to act: status, headers, body, ``code``, request id and, for
429/402/503, ``retry_after`` in seconds (from seconds *or* an HTTP date, given ``now``).

Beyond the status, a few bodies decide the class (protocol.md §5.2, §10):

* 400 ``model_not_supported`` → ``ModelNotSupportedError`` (refresh ``/models``);
  ``unsupported_api_for_model`` → ``UnsupportedAPIForModelError`` (route by
  ``supported_endpoints``); a prompt over the model's limit → ``ContextLengthExceededError``.
* 402 → ``QuotaExceededError`` with ``resets_at`` (Unix time) beside ``retry_after``.
* 403 naming a policy ("not authorized to use this Copilot feature, it requires an enterprise or
  organization policy") → ``PolicyDeniedError`` with the server's message.
* 421 → ``WrongHostError`` (with the host, when ``request`` has an absolute URL).
* 429 → ``RateLimitError`` whose ``window`` says which limit tripped. Codes may carry a plan
  suffix (``user_global_rate_limited:pro``): the part before ``:`` decides; failing a known code,
  the ``x-ratelimit-exceeded`` header's key names the window.
* 466 → ``ClientVersionUnsupportedError``, naming the version pins the request carried so the
  caller knows what to override.
"""

from __future__ import annotations

import datetime
import email.utils
import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientVersionUnsupportedError,
    ContextLengthExceededError,
    ModelNotSupportedError,
    NotFoundError,
    PermissionDeniedError,
    PolicyDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    UnsupportedAPIForModelError,
    WrongHostError,
)
from ._http import Request

__all__ = [
    "RATE_LIMIT_WINDOWS",
    "SECRET_HEADERS",
    "VERSION_PIN_HEADERS",
    "error_from_response",
    "error_parts",
    "parse_retry_after",
    "rate_limit_window",
    "unexpected_response",
]

_MAX_BODY_IN_MESSAGE: Final = 300
SECRET_HEADERS: Final = frozenset({"set-cookie", "cookie", "authorization", "proxy-authorization"})

#: 429 codes (the part before any ``:plan`` suffix) and the limit window each one names.
RATE_LIMIT_WINDOWS: Final[Mapping[str, str]] = {
    "user_global_rate_limited": "session",
    "user_weekly_rate_limited": "weekly",
    "user_model_rate_limited": "model",
    "integration_rate_limited": "integration",
}
#: Request headers that carry the version pins a 466 is about, and the setting to override.
VERSION_PIN_HEADERS: Final[Mapping[str, str]] = {
    "x-github-api-version": "api_version",
    "editor-version": "editor_version",
    "editor-plugin-version": "editor_plugin_version",
    "user-agent": "user_agent",
}
_CONTEXT_CODES: Final = frozenset(
    {"context_length_exceeded", "model_max_prompt_tokens_exceeded", "tokens_limit_reached"}
)
_CONTEXT_TEXT: Final = re.compile(
    r"prompt token count of \d+ exceeds the limit|maximum context length|context window",
    re.IGNORECASE,
)
_UNSUPPORTED_API_TEXT: Final = re.compile(
    r"is not accessible via the \S+ endpoint|is not supported via Responses API", re.IGNORECASE
)
_POLICY_TEXT: Final = re.compile(
    r"not authorized to use this Copilot feature|requires an enterprise or organization policy"
    r"|disabled by (?:your )?(?:organization|enterprise)",
    re.IGNORECASE,
)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``retry-after`` header: delta-seconds or an HTTP date.

    ``now`` is the current Unix time, used only for the date form. A date in the past gives 0.
    Anything unreadable gives None (the header is advice; a bad one must not raise).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:  # asctime form: an HTTP date is GMT by definition
                when = when.replace(tzinfo=datetime.UTC)
            return max(0.0, when.timestamp() - now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds) or seconds < 0 or math.isinf(seconds):
        return None
    return seconds


def rate_limit_window(code: str | None, exceeded: str | None) -> str | None:
    """Which limit a 429 reports: from its ``code`` (suffix after ``:`` ignored), else from the
    ``x-ratelimit-exceeded`` header's key; None for a plain ``rate_limited`` or no clue."""
    base = code.split(":", 1)[0].strip() if code else ""
    if base in RATE_LIMIT_WINDOWS:
        return RATE_LIMIT_WINDOWS[base]
    if exceeded:
        key = exceeded.lower()
        if "weekly" in key:
            return "weekly"
        if "5-hour" in key or "session" in key:
            return "session"
    if base and base != "rate_limited":
        return base
    return None


def _decode_error_body(body: str) -> tuple[str | None, str | None]:
    """(code, message) from an error body of any of the shapes Copilot sends."""
    try:
        obj: Any = json.loads(body)
    except (ValueError, RecursionError):
        text = body.strip()
        if not text or text.startswith("<"):  # HTML pages say nothing a caller can use
            return None, None
        return None, text[:_MAX_BODY_IN_MESSAGE]
    if isinstance(obj, dict):
        inner = obj.get("error")
        if isinstance(inner, dict):
            obj = inner
        elif isinstance(inner, str) and "message" not in obj:
            return None, inner
        code = obj.get("code")
        message = obj.get("message")
        return (
            None if code is None else str(code),
            None if message is None else str(message)[:_MAX_BODY_IN_MESSAGE],
        )
    return None, None


def error_parts(body: str) -> tuple[str | None, str | None]:
    """``(code, message)`` of an error body in any of Copilot's shapes (either may be None)."""
    return _decode_error_body(body)


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: str,
    *,
    now: float,
    request: Request | None = None,
) -> APIStatusError:
    """The typed error for an HTTP error response.

    Args:
        status, headers, body: the response (``body`` decoded as text).
        now: the current Unix time, for an HTTP-date ``retry-after`` and ``resets_at``.
        request: the request that failed, if at hand; only its URL's host (421) and its version
            pin headers (466) are read, never its ``Authorization``.
    """
    # Headers that can carry credentials are not kept on the error (a Set-Cookie on a failed
    # chat/token reply is a github.com session).
    lower = {k.lower(): v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    code, message = _decode_error_body(body)
    if not message:
        snippet = body.strip()[:_MAX_BODY_IN_MESSAGE]
        message = snippet if snippet and not snippet.startswith("<") else f"HTTP {status}"
    request_id = lower.get("x-request-id") or lower.get("x-github-request-id")
    common: dict[str, Any] = {
        "status_code": status,
        "headers": lower,
        "body": body,
        "code": code,
        "request_id": request_id,
    }
    retry_after = parse_retry_after(lower.get("retry-after"), now=now)
    if retry_after is None and status == 429:
        # The short-window 429s also say it per user (protocol.md §10.3).
        retry_after = parse_retry_after(lower.get("x-ratelimit-user-retry-after"), now=now)
    resets_at = None if retry_after is None else now + retry_after
    if status == 429 or (status == 503 and retry_after is not None):
        window = rate_limit_window(code, lower.get("x-ratelimit-exceeded"))
        return RateLimitError(
            message, retry_after=retry_after, window=window, resets_at=resets_at, **common
        )
    if status == 402:
        return QuotaExceededError(message, retry_after=retry_after, resets_at=resets_at, **common)
    if status == 421:
        return WrongHostError(message, host=_host_of(request), **common)
    if status == 466:
        return _version_error(message, request, common)
    cls: type[APIStatusError]
    if status == 400:
        cls = _bad_request_class(code, message)
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PolicyDeniedError if _POLICY_TEXT.search(message) else PermissionDeniedError
    elif status == 404:
        cls = NotFoundError
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIStatusError
    return cls(message, **common)


_TITLE: Final = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def unexpected_response(
    status: int, content_type: str, body: str, *, what: str
) -> UnexpectedResponseError:
    """The error for a 2xx answer that is not the event stream ``what`` asked for.

    The message says what came instead, with the server's own words where it gave any: a JSON
    error's message, an HTML page's title, or the start of a text body.
    """
    _, said = _decode_error_body(body)
    if said is None and body.lstrip().startswith("<"):
        title = _TITLE.search(body)
        if title is not None:
            said = " ".join(html.unescape(title.group(1)).split())[:_MAX_BODY_IN_MESSAGE]
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    message = f"{what} answered {status} with {kind}, not an event stream"
    if said:
        message += f": {said}"
    elif not body.strip():
        message += " (an empty body)"
    return UnexpectedResponseError(
        message,
        status_code=status,
        content_type=content_type,
        body=body[:_MAX_BODY_IN_MESSAGE],
    )


def _bad_request_class(code: str | None, message: str) -> type[BadRequestError]:
    base = code.split(":", 1)[0] if code else ""
    if base == "model_not_supported":
        return ModelNotSupportedError
    if base == "unsupported_api_for_model" or _UNSUPPORTED_API_TEXT.search(message):
        return UnsupportedAPIForModelError
    if base in _CONTEXT_CODES or _CONTEXT_TEXT.search(message):
        return ContextLengthExceededError
    return BadRequestError


def _host_of(request: Request | None) -> str | None:
    if request is None:
        return None
    try:
        return urlsplit(request.url).hostname
    except ValueError:
        return None


def _version_error(
    message: str, request: Request | None, common: dict[str, Any]
) -> ClientVersionUnsupportedError:
    sent = {k.lower(): v for k, v in (request.headers if request is not None else {}).items()}
    pins = {name: sent[name] for name in VERSION_PIN_HEADERS if name in sent}
    shown = ", ".join(f"{name}: {value}" for name, value in pins.items()) or "none recorded"
    settings = ", ".join(VERSION_PIN_HEADERS[name] for name in VERSION_PIN_HEADERS)
    text = (
        f"{message.rstrip()} (sent {shown}). Upgrade copilot-anyio, or override the version pins "
        f"in IdeVersions ({settings}); api_version is the usual one."
    )
    return ClientVersionUnsupportedError(text, pins=pins, **common)
