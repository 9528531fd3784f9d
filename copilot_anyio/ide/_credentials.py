"""Where GitHub tokens for Copilot are found, and how the library's own store is laid out.

Pure: the environment, the platform (``sys.platform`` values) and the home directory are
arguments, and file contents come in as text; reading and writing files is the caller's (see
``_store.write_token_store`` for the one write).

The Copilot language server (copilot.vim, copilot.lua, editors built on it) keeps the GitHub
token it got from the device flow in ``github-copilot/apps.json`` (``hosts.json`` in older
versions) under the user's config directory: ``$XDG_CONFIG_HOME`` or ``~/.config`` on Linux and
macOS, ``%LOCALAPPDATA%`` on Windows (protocol.md §7). ``apps.json`` keys are
``"<host>:<client id>"``; ``hosts.json`` keys are the host. Only entries for the configured
host count (an enterprise's tokens do not open github.com, and the reverse).

The environment may hold a token too: ``GH_COPILOT_TOKEN``, ``GITHUB_COPILOT_TOKEN``, and
``GITHUB_TOKEN`` only inside Codespaces (elsewhere it is usually an Actions token or a personal
access token, which the exchange refuses).

The library's own store keeps GitHub tokens only (never Copilot tokens), per host::

    {"version": 1, "hosts": {"github.com": {"oauth_token": "...", "client_id": "Iv1...", "user": "octo"}}}

in ``copilot-anyio/credentials.json`` under ``$XDG_CONFIG_HOME`` (or ``~/.config``) on Linux,
``~/Library/Application Support`` on macOS and ``%LOCALAPPDATA%`` on Windows, the directories
platformdirs would choose for a user config, written with mode 0600.
``COPILOT_ANYIO_CONFIG_DIR``, when set, replaces that directory (the store is then
``$COPILOT_ANYIO_CONFIG_DIR/credentials.json``): one switch that moves every reader and writer
of the store, for tests, sandboxes and several accounts side by side.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Final, final
from urllib.parse import urlsplit

from ._wire import COPILOT_CLIENT_ID

__all__ = [
    "ENV_CONFIG_DIR",
    "STORE_VERSION",
    "FoundToken",
    "copilot_config_dirs",
    "credential_file_candidates",
    "encode_token_store",
    "env_token",
    "parse_apps_json",
    "parse_hosts_json",
    "parse_token_store",
    "remove_from_token_store",
    "store_host_key",
    "token_store_path",
]

STORE_VERSION: Final = 1
_APP_NAME: Final = "copilot-anyio"
_STORE_FILE: Final = "credentials.json"
_ENV_TOKENS: Final = ("GH_COPILOT_TOKEN", "GITHUB_COPILOT_TOKEN")
#: Overrides the directory of the library's own token store.
ENV_CONFIG_DIR: Final = "COPILOT_ANYIO_CONFIG_DIR"


@final
@dataclass(frozen=True, slots=True)
class FoundToken:
    """A GitHub token and where it came from (``source`` names a file or variable, never the
    token). The token is hidden from ``repr``."""

    token: str = field(repr=False)
    source: str
    user: str | None = None
    client_id: str | None = None


def _path_type(platform: str) -> type[PurePath]:
    return PureWindowsPath if platform.startswith("win") else PurePosixPath


def _config_home(env: Mapping[str, str], platform: str, home: str) -> PurePath:
    path = _path_type(platform)
    if platform.startswith("win"):
        local = env.get("LOCALAPPDATA", "")
        return (
            path(local) if local and path(local).is_absolute() else path(home, "AppData", "Local")
        )
    xdg = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec: a relative value is invalid and must be ignored.
    return path(xdg) if xdg and path(xdg).is_absolute() else path(home, ".config")


def copilot_config_dirs(
    env: Mapping[str, str], *, platform: str, home: str
) -> tuple[PurePath, ...]:
    """The ``github-copilot`` directories to look in, first match first."""
    primary = _config_home(env, platform, home) / "github-copilot"
    fallback = _path_type(platform)(home, ".config", "github-copilot")
    return (primary,) if primary == fallback else (primary, fallback)


def credential_file_candidates(
    env: Mapping[str, str], *, platform: str, home: str
) -> tuple[PurePath, ...]:
    """``apps.json`` then ``hosts.json`` in each directory, in the order to try them."""
    dirs = copilot_config_dirs(env, platform=platform, home=home)
    return tuple(d / "apps.json" for d in dirs) + tuple(d / "hosts.json" for d in dirs)


def _load(text: str) -> Mapping[str, Any]:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return obj if isinstance(obj, dict) else {}


def _entry_token(entry: Any, source: str, client_id: str | None = None) -> FoundToken | None:
    if not isinstance(entry, dict):
        return None
    token = entry.get("oauth_token")
    if not isinstance(token, str) or not token.strip():
        return None
    user = entry.get("user")
    app = entry.get("githubAppId")
    return FoundToken(
        token=token.strip(),
        source=source,
        user=user if isinstance(user, str) else None,
        client_id=app if isinstance(app, str) else client_id,
    )


def parse_apps_json(text: str, *, host: str = "github.com") -> FoundToken | None:
    """The first usable ``oauth_token`` among ``"<host>:<client id>"`` entries.

    An entry of Copilot's own client id is preferred to other apps' entries for the host.
    """
    data = _load(text)
    prefix = f"{host}:"
    keys = [k for k in data if k.startswith(prefix)]  # JSON object keys are strings
    keys.sort(key=lambda k: k != f"{prefix}{COPILOT_CLIENT_ID}")  # stable: file order otherwise
    for key in keys:
        found = _entry_token(data[key], "apps.json", key[len(prefix) :] or None)
        if found is not None:
            return found
    return None


def parse_hosts_json(text: str, *, host: str = "github.com") -> FoundToken | None:
    """The ``oauth_token`` of the host's entry in the legacy ``hosts.json``."""
    return _entry_token(_load(text).get(host), "hosts.json")


def env_token(env: Mapping[str, str]) -> FoundToken | None:
    """A token from ``GH_COPILOT_TOKEN`` / ``GITHUB_COPILOT_TOKEN``, or ``GITHUB_TOKEN`` in a
    Codespace (``CODESPACES=true``)."""
    names = _ENV_TOKENS + (("GITHUB_TOKEN",) if env.get("CODESPACES") == "true" else ())
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return FoundToken(token=value, source=name)
    return None


def store_host_key(github_url: str) -> str:
    """The store's key for a GitHub base URL: its host, with the port when the URL names one."""
    return urlsplit(github_url).netloc.rpartition("@")[2].lower()


def token_store_path(env: Mapping[str, str], *, platform: str, home: str) -> PurePath:
    """Where the library keeps its own GitHub tokens.

    ``COPILOT_ANYIO_CONFIG_DIR`` in ``env`` wins, taken as given (a relative value is relative
    to the working directory: unlike an invalid ``XDG_CONFIG_HOME`` it is not ignored, since
    falling back to the real store would defeat the reason it was set).
    """
    override = env.get(ENV_CONFIG_DIR, "")
    if override:
        return _path_type(platform)(override) / _STORE_FILE
    if platform == "darwin":
        base: PurePath = PurePosixPath(home, "Library", "Application Support")
    else:
        base = _config_home(env, platform, home)
    return base / _APP_NAME / _STORE_FILE


def parse_token_store(text: str, *, host: str = "github.com") -> FoundToken | None:
    """The stored token for ``host``; None for a missing entry or an unreadable file."""
    data = _load(text)
    if data.get("version") != STORE_VERSION:
        return None
    hosts = data.get("hosts")
    found = _entry_token(hosts.get(host) if isinstance(hosts, dict) else None, "token store")
    return found


def encode_token_store(
    host: str,
    token: str,
    *,
    previous: str | None = None,
    client_id: str = COPILOT_CLIENT_ID,
    user: str | None = None,
) -> str:
    """The store's new text: ``previous`` (if readable) with ``host``'s entry replaced."""
    hosts: dict[str, Any] = {}
    if previous is not None:
        old = _load(previous)
        if old.get("version") == STORE_VERSION and isinstance(old.get("hosts"), dict):
            hosts = dict(old["hosts"])
    entry: dict[str, Any] = {"oauth_token": token, "client_id": client_id}
    if user is not None:
        entry["user"] = user
    hosts[host] = entry
    return json.dumps({"version": STORE_VERSION, "hosts": hosts}, indent=2, sort_keys=True) + "\n"


def remove_from_token_store(previous: str, *, host: str) -> str | None:
    """The store's new text without ``host``'s entry; None when there is no such entry (or the
    text is not a store this version can read, which is then left alone)."""
    old = _load(previous)
    hosts = old.get("hosts")
    if old.get("version") != STORE_VERSION or not isinstance(hosts, dict) or host not in hosts:
        return None
    kept = {name: entry for name, entry in hosts.items() if name != host}
    return json.dumps({"version": STORE_VERSION, "hosts": kept}, indent=2, sort_keys=True) + "\n"
