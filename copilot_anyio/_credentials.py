"""Credentials from arguments, the environment and files: decided once, for client and facade.

``resolve_web`` runs when a client (or a facade call) is constructed: it picks the first
credential found, validates it, and raises ``CredentialsError`` naming what is missing, before
any I/O. ``WebCredentials.load_cookies`` does the one piece of I/O (reading a cookies file) off
the event loop, and can be cancelled even when the file blocks (a FIFO).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Final

import anyio

from ._cookies import (
    parse_cookie_header,
    parse_netscape_cookies,
    require_header_safe_token,
    require_session,
)
from ._errors import CredentialsError

__all__ = ["ENV_COOKIES", "ENV_COOKIES_FILE", "WebCredentials", "resolve_web"]

#: github.com cookies as a ``Cookie`` header string ("user_session=...; ...").
ENV_COOKIES: Final = "COPILOT_COOKIES"
#: Path of a Netscape ``cookies.txt`` export holding the github.com cookies.
ENV_COOKIES_FILE: Final = "COPILOT_COOKIES_FILE"


@dataclass(frozen=True, slots=True, repr=False)
class WebCredentials:
    """What signs the web flavour in: a web token, cookies, or a cookies file to read."""

    web_token: str | None = None
    cookies: Mapping[str, str] | None = None
    cookies_file: str | None = None

    def __repr__(self) -> str:
        kind = (
            "web_token"
            if self.web_token is not None
            else "cookies"
            if self.cookies is not None
            else "cookies_file"
        )
        return f"WebCredentials({kind})"

    async def load_cookies(self, github_url: str) -> dict[str, str]:
        """The session cookies (read from the file if that is where they are); {} for a token."""
        if self.cookies is not None:
            return dict(self.cookies)
        if self.cookies_file is None:
            return {}
        text = await _read_text(self.cookies_file)
        cookies = parse_netscape_cookies(text, host=_host_of(github_url))
        require_session(cookies)
        return cookies


def resolve_web(
    env: Mapping[str, str],
    *,
    web_token: str | None = None,
    cookies: Mapping[str, str] | str | None = None,
    cookies_file: str | PathLike[str] | None = None,
    who: str = "CopilotClient",
    arguments: str = "cookies=, cookies_file= or web_token=",
) -> WebCredentials:
    """The first credential found: ``web_token``, ``cookies``, ``cookies_file``, then
    ``COPILOT_COOKIES`` and ``COPILOT_COOKIES_FILE``. Validated; nothing is read yet."""
    if web_token is not None:
        require_header_safe_token(web_token)
        return WebCredentials(web_token=web_token)
    if cookies is not None:
        if not isinstance(cookies, str | Mapping):
            # dict() of a list or bytes raises ValueError/TypeError: not the caller's contract
            raise CredentialsError(
                f"cookies must be a dict or a Cookie header string, not {type(cookies).__name__}"
            )
        parsed = parse_cookie_header(cookies) if isinstance(cookies, str) else dict(cookies)
        require_session(parsed)
        return WebCredentials(cookies=parsed)
    if cookies_file is not None:
        return WebCredentials(cookies_file=os.fspath(cookies_file))
    if env.get(ENV_COOKIES):
        parsed = parse_cookie_header(env[ENV_COOKIES])
        require_session(parsed)
        return WebCredentials(cookies=parsed)
    if env.get(ENV_COOKIES_FILE):
        return WebCredentials(cookies_file=env[ENV_COOKIES_FILE])
    raise CredentialsError(
        f"no credentials: pass {who} {arguments}, or set {ENV_COOKIES} or {ENV_COOKIES_FILE}"
    )


async def _read_text(path: str) -> str:
    """A cookies file's text, read in a worker thread that a cancel does not wait for."""
    try:
        return await anyio.to_thread.run_sync(_read_file, path, abandon_on_cancel=True)
    except (OSError, UnicodeDecodeError) as exc:
        error = CredentialsError(f"cannot read the cookies file {path!r}: {type(exc).__name__}")
    raise error  # outside the except block: the OS error must not ride along


def _read_file(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _host_of(url: str) -> str:
    """The host of an http(s) URL (``Hosts`` has validated its shape)."""
    authority = url.split("://", 1)[-1].split("/", 1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.split(":", 1)[0].lower()
