"""Credentials from arguments, the environment and files: decided once, for client and facade.

Two flavours, two chains. The web flavour (github.com cookies) and the IDE flavour (a GitHub
token, or an already exchanged Copilot token) may both be configured; each namespace of the
client uses its own, and one whose credential is missing says where it would have been found.

``resolve_web`` runs when a client (or a facade call) is constructed: it picks the first
credential found, validates it, and raises ``CredentialsError`` naming what is missing, before
any I/O. ``WebCredentials.load_cookies`` does the one piece of I/O (reading a cookies file) off
the event loop, and can be cancelled even when the file blocks (a FIFO).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import PurePath
from typing import Final

import anyio

from ._cookies import (
    parse_cookie_header,
    parse_netscape_cookies,
    require_header_safe_token,
    require_session,
)
from ._errors import CredentialsError
from ._http import header_safe
from .ide._credentials import (
    ENV_CONFIG_DIR,
    FoundToken,
    credential_file_candidates,
    parse_apps_json,
    parse_hosts_json,
    parse_token_store,
    store_host_key,
    token_store_path,
)

__all__ = [
    "ENV_COOKIES",
    "ENV_COOKIES_FILE",
    "ENV_GITHUB_TOKENS",
    "IdeCredentials",
    "NoCredentialsError",
    "WebCredentials",
    "discover_github_token",
    "resolve_ide",
    "resolve_web",
]

#: github.com cookies as a ``Cookie`` header string ("user_session=...; ...").
ENV_COOKIES: Final = "COPILOT_COOKIES"
#: Path of a Netscape ``cookies.txt`` export holding the github.com cookies.
ENV_COOKIES_FILE: Final = "COPILOT_COOKIES_FILE"
#: Environment variables holding a GitHub token, in the order they are read.
ENV_GITHUB_TOKENS: Final = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")


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


class NoCredentialsError(CredentialsError):
    """Neither flavour has a credential (the message says where each would be found)."""


WEB_WHERE: Final = (
    f"pass cookies=, cookies_file= or web_token=, or set {ENV_COOKIES} or {ENV_COOKIES_FILE}"
)


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
    ``COPILOT_COOKIES`` and ``COPILOT_COOKIES_FILE``. Validated; nothing is read yet.

    Raises CredentialsError when there is none (``web_or_none`` returns None instead)."""
    found = web_or_none(env, web_token=web_token, cookies=cookies, cookies_file=cookies_file)
    if found is None:
        raise CredentialsError(
            f"no credentials: pass {who} {arguments}, or set {ENV_COOKIES} or {ENV_COOKIES_FILE}"
        )
    return found


def web_or_none(
    env: Mapping[str, str],
    *,
    web_token: str | None = None,
    cookies: Mapping[str, str] | str | None = None,
    cookies_file: str | PathLike[str] | None = None,
) -> WebCredentials | None:
    """``resolve_web``'s chain; None when nothing is configured."""
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
    return None


@dataclass(frozen=True, slots=True)
class IdeCredentials:
    """What signs the IDE flavour in: a GitHub token (and where it was found), or a Copilot
    token given as it is."""

    github_token: FoundToken | None = None
    copilot_token: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        if self.github_token is not None:
            return f"IdeCredentials(github_token from {self.github_token.source})"
        return "IdeCredentials(copilot_token)"


def resolve_ide(
    env: Mapping[str, str],
    *,
    github_token: str | None = None,
    copilot_token: str | None = None,
) -> IdeCredentials | None:
    """The arguments, then ``COPILOT_GITHUB_TOKEN``, ``GH_TOKEN``, ``GITHUB_TOKEN``: validated,
    without I/O. None when none of them is set (then the files are looked at, on entry)."""
    if github_token is not None:
        require_header_safe_token(github_token, what="github_token")
        return IdeCredentials(github_token=FoundToken(token=github_token, source="github_token="))
    if copilot_token is not None:
        require_header_safe_token(copilot_token, what="copilot_token")
        return IdeCredentials(copilot_token=copilot_token)
    for name in ENV_GITHUB_TOKENS:
        value = env.get(name, "").strip()
        if value:
            require_header_safe_token(value, what=f"the token in {name}")
            return IdeCredentials(github_token=FoundToken(token=value, source=name))
    return None


def ide_where(env: Mapping[str, str], github_url: str) -> str:
    """Where a GitHub token would have been found, for the CredentialsError that says so."""
    files = [str(path) for path in _candidate_files(env, github_url)]
    return (
        "pass github_token= (or copilot_token=), set "
        + ", ".join(ENV_GITHUB_TOKENS)
        + ", sign in with `copilot-anyio login`, or sign in to Copilot in an editor (looked in: "
        + (", ".join(files) or "no config directory: HOME is not set")
        + ")"
    )


def _home(env: Mapping[str, str]) -> str | None:
    return env.get("HOME") or env.get("USERPROFILE") or None


def _candidate_files(env: Mapping[str, str], github_url: str) -> list[PurePath]:
    """The editors' files, then the library's store, as far as the environment locates them
    (a mapping without HOME or a config directory locates none: nothing is guessed)."""
    home = _home(env)
    located = home is not None or bool(env.get("XDG_CONFIG_HOME") or env.get("LOCALAPPDATA"))
    files: list[PurePath] = []
    if located:
        files += credential_file_candidates(env, platform=sys.platform, home=home or "/")
    if located or env.get(ENV_CONFIG_DIR):
        files.append(token_store_path(env, platform=sys.platform, home=home or "/"))
    return files


async def discover_github_token(env: Mapping[str, str], github_url: str) -> FoundToken | None:
    """A GitHub token from the editors' ``apps.json`` / ``hosts.json``, then the library's own
    store (``copilot-anyio login``), for the GitHub host of ``github_url``; read in a worker
    thread. None when none holds one."""
    host = _host_of(github_url)
    files = _candidate_files(env, github_url)
    return await anyio.to_thread.run_sync(
        _first_token, files, host, store_host_key(github_url), abandon_on_cancel=True
    )


def _first_token(files: list[PurePath], host: str, store_key: str) -> FoundToken | None:
    for path in files:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            continue
        if path.name == "apps.json":
            found = parse_apps_json(text, host=host)
        elif path.name == "hosts.json":
            found = parse_hosts_json(text, host=host)
        else:
            found = parse_token_store(text, host=store_key)
        if found is not None:
            if not header_safe(found.token) or " " in found.token:
                raise CredentialsError(f"the GitHub token in {path} cannot be sent in a header")
            return FoundToken(
                token=found.token, source=str(path), user=found.user, client_id=found.client_id
            )
    return None


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
