"""Files an editor leaves behind, for tests of credential discovery (protocol.md §7)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ._state import make_user_token

#: The client id of Copilot's GitHub App, which editors key their ``apps.json`` entries by.
COPILOT_CLIENT_ID = "Iv1.b507a08c87ecfe98"


def _merge_json(path: Path, key: str, entry: dict[str, str]) -> None:
    existing: Any = {}
    if path.is_file():
        try:
            existing = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            existing = {}
    data = existing if isinstance(existing, dict) else {}
    data[key] = entry
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def write_editor_credentials(
    config_dir: str | os.PathLike[str],
    token: str | None = None,
    *,
    user: str = "octocat",
    host: str = "github.com",
    client_id: str = COPILOT_CLIENT_ID,
    apps_json: bool = True,
    hosts_json: bool = False,
) -> str:
    """Write a GitHub user token where Copilot editor plugins keep it, and return the token.

    Creates ``<config_dir>/github-copilot/apps.json`` with the entry
    ``"<host>:<client_id>": {"user", "oauth_token", "githubAppId"}`` and, with ``hosts_json``,
    the legacy ``hosts.json`` entry ``"<host>": {"user", "oauth_token"}``. Entries already in
    those files are kept (an unreadable file is replaced); files are written with mode 0600.
    Point the code under test at it with ``XDG_CONFIG_HOME=<config_dir>``.

    Args:
        config_dir: The configuration directory (what ``XDG_CONFIG_HOME`` would name); created
            if missing.
        token: The user token to store. ``None`` mints a well-formed ``ghu_…`` token, which an
            emulator accepts unless its ``accounts`` setting restricts them; with ``accounts``
            set, pass ``emu.issue_user_token()`` or one of the listed tokens.
        user: The login recorded beside the token.
        host: The GitHub host the entry belongs to (an enterprise domain for GHE).
        client_id: The OAuth app of the entry.
        apps_json: Write ``apps.json``.
        hosts_json: Write the legacy ``hosts.json``.

    Returns:
        The stored token.

    Raises:
        OSError: a file could not be written. This is blocking file I/O: call it outside the
        event loop, or through ``anyio.to_thread.run_sync``.
    """
    value = token if token is not None else make_user_token()
    directory = Path(config_dir) / "github-copilot"
    directory.mkdir(parents=True, exist_ok=True)
    if apps_json:
        _merge_json(
            directory / "apps.json",
            f"{host}:{client_id}",
            {"user": user, "oauth_token": value, "githubAppId": client_id},
        )
    if hosts_json:
        _merge_json(directory / "hosts.json", host, {"user": user, "oauth_token": value})
    return value
