"""Argument checks that run before any side effect, with errors that name the bad value's place.

Every public constructor and call checks what it is given here, so a mistake is a ``UsageError``
saying where it is (``Timeouts.idle``, ``messages[2].content``), raised before a thread is
created or a message is sent, never a bare ``TypeError`` from deep inside. Pure.
"""

from __future__ import annotations

import math
from typing import Any, Final
from urllib.parse import urlsplit

from ._errors import UsageError

__all__ = ["PROXY_SCHEMES", "http_url", "non_empty_str", "number", "whole_number"]

_HTTP_SCHEMES: Final = ("http", "https")
#: The proxy URLs httpx can use (SOCKS needs its ``socks`` extra).
PROXY_SCHEMES: Final = ("http", "https", "socks5", "socks5h")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number(
    value: Any,
    place: str,
    *,
    minimum: float = 0.0,
    allow_zero: bool = False,
    allow_inf: bool = False,
) -> float:
    """``value`` as a float: a real number above ``minimum`` (or equal, with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{place} must be a number of seconds, not {_shown(value)}")
    result = float(value)
    if math.isnan(result) or (math.isinf(result) and not allow_inf):
        raise UsageError(f"{place} must be a finite number, not {_shown(value)}")
    if result < minimum or (result == minimum and not allow_zero):
        bound = f">= {minimum:g}" if allow_zero else f"> {minimum:g}"
        raise UsageError(f"{place} must be {bound}, not {_shown(value)}")
    return result


def whole_number(value: Any, place: str, *, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{place} must be a whole number, not {_shown(value)}")
    if value < minimum:
        raise UsageError(f"{place} must be at least {minimum}, not {value}")
    return value


def non_empty_str(value: Any, place: str) -> str:
    """``value`` as a non-empty string."""
    if not isinstance(value, str):
        raise UsageError(f"{place} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise UsageError(f"{place} must not be empty")
    return value


def _without_userinfo(text: str) -> str:
    """``text`` with any ``user:password@`` of its authority hidden (a proxy URL may carry one)."""
    scheme, sep, rest = text.partition("://")
    authority, slash, path = rest.partition("/")
    if not sep or "@" not in authority:
        return text
    return f"{scheme}://<redacted>@{authority.rpartition('@')[2]}{slash}{path}"


def http_url(value: Any, place: str, *, schemes: tuple[str, ...] = _HTTP_SCHEMES) -> str:
    """``value`` as an absolute URL with one of ``schemes`` and a host, without a trailing slash,
    query or fragment. Error messages never repeat a password the URL holds."""
    text = non_empty_str(value, place).strip().rstrip("/")
    value = _without_userinfo(text)
    if any(c.isspace() or not c.isprintable() for c in text):
        raise UsageError(f"{place} holds white space or control characters: {_shown(value)}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise UsageError(f"{place} is not a URL: {_shown(value)}") from None
    if parts.scheme.lower() not in schemes or not parts.hostname:
        raise UsageError(
            f"{place} must be an absolute {' or '.join(schemes)} URL with a host, "
            f"not {_shown(value)}"
        )
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise UsageError(f"{place} must not have a query or fragment: {_shown(value)}")
    del port
    return text
