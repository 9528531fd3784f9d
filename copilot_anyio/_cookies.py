"""github.com session cookies from the forms users have them in: a dict, a ``Cookie`` header
string, or a Netscape ``cookies.txt`` export. Pure parsing; reading the file is the caller's job.

Only cookies for github.com (or the configured GitHub host) are kept from a cookies.txt file:
browser exports hold every site's cookies, and none of them has any business in our requests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from ._errors import CredentialsError
from ._http import header_safe

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


def require_session(cookies: Mapping[Any, Any]) -> None:
    """Raise CredentialsError (naming the cookie, never its value) when there is no session,
    or when a cookie cannot be sent as exactly one cookie of a ``Cookie`` header.

    Names and values must be strings of printable ASCII; a name cannot hold ``=``, ``;``, ``,``
    or white space, and a value cannot hold ``;`` (which would start another cookie).
    """
    for name, value in cookies.items():
        if not isinstance(name, str) or not _COOKIE_NAME.fullmatch(name):
            shown = name if isinstance(name, str) and header_safe(name) else "(unreadable)"
            raise CredentialsError(
                f"the cookie name {shown!r:.40} cannot be sent in a Cookie header"
            )
        if not isinstance(value, str):
            raise CredentialsError(
                f"the cookie {name!r} must have a string value, not {type(value).__name__}"
            )
        if not header_safe(value) or ";" in value:
            raise CredentialsError(
                f"the cookie {name!r} holds characters that cannot be sent in a Cookie header "
                "(a ';', a control character or non-ASCII): was it copied whole?"
            )
    if not cookies.get(SESSION_COOKIE):
        raise CredentialsError(
            f"the github.com cookies have no {SESSION_COOKIE!r}: sign in to github.com in a "
            "browser and export its cookies"
        )


#: An RFC 6265 cookie name: a token (no separators, no white space, no controls).
_COOKIE_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def require_header_safe_token(token: Any, *, what: str = "the web token") -> None:
    """Raise CredentialsError (without the token) for a token that cannot go in a header."""
    if not isinstance(token, str) or not token or not header_safe(token) or " " in token:
        raise CredentialsError(f"{what} is empty or holds characters a header cannot carry")
