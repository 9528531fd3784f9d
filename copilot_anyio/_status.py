"""HTTP error responses as typed errors: pure functions, no clock of their own.

Theory of operation
-------------------
Copilot error bodies are JSON more often than their ``Content-Type`` admits (``text/plain`` with
a trailing newline, protocol.md §5.1), sometimes nested (``{"error": {...}}``), sometimes plain
text (``unauthorized: token expired``), sometimes HTML. ``error_from_response`` tries JSON first,
unwraps a nested ``error``, falls back to the text, and builds the typed error for the status
with everything a caller needs to act: status, headers, body, ``code``, request id and, for
429/402/503, ``retry_after`` in seconds (from seconds *or* an HTTP date, given ``now``).
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

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
)

__all__ = [
    "SECRET_HEADERS",
    "error_from_response",
    "parse_retry_after",
    "unexpected_response",
]

_MAX_BODY_IN_MESSAGE: Final = 300
SECRET_HEADERS: Final = frozenset({"set-cookie", "cookie", "authorization", "proxy-authorization"})


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


def error_from_response(
    status: int, headers: Mapping[str, str], body: str, *, now: float
) -> APIStatusError:
    """The typed error for an HTTP error response. ``now`` is Unix time (for ``retry-after``)."""
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
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimitError(message, retry_after=retry_after, **common)
    if status == 402:
        return QuotaExceededError(message, retry_after=retry_after, **common)
    cls: type[APIStatusError]
    if status == 400:
        cls = BadRequestError
    elif status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
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
