"""github.com session cookies from the forms users have them in: a dict, a ``Cookie`` header
string, or a Netscape ``cookies.txt`` export. Pure parsing; reading the file is the caller's job.

Only cookies for github.com (or the configured GitHub host) are kept from a cookies.txt file:
browser exports hold every site's cookies, and none of them has any business in our requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from ._errors import CredentialsError

__all__ = [
    "SESSION_COOKIE",
    "parse_cookie_header",
    "parse_netscape_cookies",
    "require_header_safe_token",
    "require_session",
]

#: The cookie without which github.com does not know the user (protocol.md §2.1).
SESSION_COOKIE: Final = "user_session"
_HTTPONLY_PREFIX: Final = "#HttpOnly_"


def parse_cookie_header(header: str) -> dict[str, str]:
    """``"a=1; b=2"`` as ``{"a": "1", "b": "2"}``; pieces without ``=`` are ignored."""
    cookies: dict[str, str] = {}
    for piece in header.split(";"):
        name, sep, value = piece.strip().partition("=")
        if sep and name.strip():
            cookies[name.strip()] = value.strip()
    return cookies


def parse_netscape_cookies(text: str, *, host: str = "github.com") -> dict[str, str]:
    """The cookies for ``host`` in a Netscape/Mozilla ``cookies.txt`` file's text.

    Lines are ``domain  include_subdomains  path  secure  expiry  name  value`` separated by
    tabs; ``#`` starts a comment except for the ``#HttpOnly_`` domain prefix curl writes.
    A cookie applies when its domain is the host, or a parent domain with the subdomain flag.
    """
    host = host.lower()
    cookies: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip("\r\n")
        if line.startswith(_HTTPONLY_PREFIX):
            line = line[len(_HTTPONLY_PREFIX) :]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            continue
        domain, subdomains, _path, _secure, _expiry, name, value = fields
        domain = domain.lower().lstrip(".")
        # A host-only cookie (flag FALSE) applies to its exact host only (RFC 6265 §5.3).
        if host == domain or (subdomains.upper() == "TRUE" and host.endswith("." + domain)):
            cookies[name] = value
    return cookies


def require_session(cookies: Mapping[str, str]) -> None:
    """Raise CredentialsError (naming the cookie, never its value) when there is no session,
    or when a cookie cannot be sent in an HTTP header (only printable ASCII can)."""
    for name, value in cookies.items():
        if not _header_safe(name) or not _header_safe(value):
            raise CredentialsError(
                f"the cookie {name if _header_safe(name) else '(unnamed)'!r} holds characters "
                "that cannot be sent in an HTTP header: was it copied whole?"
            )
    if not cookies.get(SESSION_COOKIE):
        raise CredentialsError(
            f"the github.com cookies have no {SESSION_COOKIE!r}: sign in to github.com in a "
            "browser and export its cookies"
        )


def _header_safe(text: str) -> bool:
    return text.isascii() and text.isprintable()


def require_header_safe_token(token: str) -> None:
    """Raise CredentialsError (without the token) for a token that cannot go in a header."""
    if not token or not _header_safe(token) or " " in token:
        raise CredentialsError("the web token is empty or holds characters a header cannot carry")
