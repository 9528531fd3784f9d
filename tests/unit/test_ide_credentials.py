"""Credential discovery, pure parts (protocol.md §7), and the atomic 0600 token-store write."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pytest

from copilot_anyio.ide._credentials import (
    FoundToken,
    copilot_config_dirs,
    credential_file_candidates,
    encode_token_store,
    env_token,
    parse_apps_json,
    parse_hosts_json,
    parse_token_store,
    token_store_path,
)
from copilot_anyio.ide._store import write_token_store

TOKEN = "ghu_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"
OTHER = "gho_OTHERotherOTHERotherOTHERother0000"
HOME = "/home/ada"


class TestDirectories:
    def test_linux_default(self) -> None:
        assert copilot_config_dirs({}, platform="linux", home=HOME) == (
            PurePosixPath("/home/ada/.config/github-copilot"),
        )

    def test_xdg_config_home_first(self) -> None:
        dirs = copilot_config_dirs({"XDG_CONFIG_HOME": "/xdg"}, platform="linux", home=HOME)
        assert dirs == (
            PurePosixPath("/xdg/github-copilot"),
            PurePosixPath("/home/ada/.config/github-copilot"),
        )

    def test_relative_xdg_ignored(self) -> None:
        dirs = copilot_config_dirs({"XDG_CONFIG_HOME": "rel"}, platform="darwin", home=HOME)
        assert dirs == (PurePosixPath("/home/ada/.config/github-copilot"),)

    def test_windows_localappdata(self) -> None:
        env = {"LOCALAPPDATA": "C:\\Users\\ada\\AppData\\Local"}
        dirs = copilot_config_dirs(env, platform="win32", home="C:\\Users\\ada")
        assert dirs[0] == PureWindowsPath("C:/Users/ada/AppData/Local/github-copilot")

    def test_windows_without_localappdata(self) -> None:
        dirs = copilot_config_dirs({}, platform="win32", home="C:\\Users\\ada")
        assert dirs[0] == PureWindowsPath("C:/Users/ada/AppData/Local/github-copilot")

    def test_candidates_apps_before_hosts(self) -> None:
        files = credential_file_candidates({"XDG_CONFIG_HOME": "/xdg"}, platform="linux", home=HOME)
        assert [str(f) for f in files] == [
            "/xdg/github-copilot/apps.json",
            "/home/ada/.config/github-copilot/apps.json",
            "/xdg/github-copilot/hosts.json",
            "/home/ada/.config/github-copilot/hosts.json",
        ]


class TestAppsJson:
    def test_copilot_entry(self) -> None:
        text = json.dumps(
            {
                "github.com:Iv1.b507a08c87ecfe98": {
                    "user": "ada",
                    "oauth_token": TOKEN,
                    "githubAppId": "Iv1.b507a08c87ecfe98",
                }
            }
        )
        found = parse_apps_json(text)
        assert found == FoundToken(
            token=TOKEN, source="apps.json", user="ada", client_id="Iv1.b507a08c87ecfe98"
        )

    def test_copilot_client_preferred_then_file_order(self) -> None:
        text = json.dumps(
            {
                "github.com:Ov23liOther": {"oauth_token": OTHER},
                "github.com:Iv1.b507a08c87ecfe98": {"oauth_token": TOKEN},
            }
        )
        found = parse_apps_json(text)
        assert found is not None
        assert found.token == TOKEN

    def test_unusable_entries_skipped(self) -> None:
        text = json.dumps(
            {
                "github.com:Iv1.b507a08c87ecfe98": {"oauth_token": ""},
                "github.com:Ov23liOther": {"oauth_token": OTHER, "user": 5},
            }
        )
        found = parse_apps_json(text)
        assert found is not None
        assert (found.token, found.user, found.client_id) == (OTHER, None, "Ov23liOther")

    def test_other_hosts_ignored(self) -> None:
        text = json.dumps({"acme.ghe.com:Iv1.b507a08c87ecfe98": {"oauth_token": OTHER}})
        assert parse_apps_json(text) is None
        found = parse_apps_json(text, host="acme.ghe.com")
        assert found is not None
        assert found.token == OTHER

    @pytest.mark.parametrize("text", ["", "{", "[]", '{"github.com:x": "tok"}', "null"])
    def test_unreadable(self, text: str) -> None:
        assert parse_apps_json(text) is None

    def test_repr_hides_the_token(self) -> None:
        found = parse_apps_json(json.dumps({"github.com:a": {"oauth_token": TOKEN}}))
        assert TOKEN not in repr(found)


class TestHostsJson:
    def test_entry(self) -> None:
        found = parse_hosts_json(json.dumps({"github.com": {"user": "ada", "oauth_token": TOKEN}}))
        assert found is not None
        assert (found.token, found.source, found.user) == (TOKEN, "hosts.json", "ada")

    @pytest.mark.parametrize(
        "data",
        [
            {},
            {"github.com": {}},
            {"github.com": {"oauth_token": 3}},
            {"api.github.com": {"oauth_token": TOKEN}},
        ],
    )
    def test_none(self, data: Any) -> None:
        assert parse_hosts_json(json.dumps(data)) is None


class TestEnvironment:
    @pytest.mark.parametrize("name", ["GH_COPILOT_TOKEN", "GITHUB_COPILOT_TOKEN"])
    def test_copilot_variables(self, name: str) -> None:
        assert env_token({name: f" {TOKEN}\n"}) == FoundToken(token=TOKEN, source=name)

    def test_order(self) -> None:
        found = env_token({"GITHUB_COPILOT_TOKEN": OTHER, "GH_COPILOT_TOKEN": TOKEN})
        assert found is not None
        assert found.source == "GH_COPILOT_TOKEN"

    def test_github_token_only_in_codespaces(self) -> None:
        assert env_token({"GITHUB_TOKEN": TOKEN}) is None
        found = env_token({"GITHUB_TOKEN": TOKEN, "CODESPACES": "true"})
        assert found is not None
        assert found.source == "GITHUB_TOKEN"

    def test_blank_is_absent(self) -> None:
        assert env_token({"GH_COPILOT_TOKEN": "  "}) is None


class TestStorePath:
    @pytest.mark.parametrize(
        ("env", "platform", "home", "expected"),
        [
            ({}, "linux", HOME, "/home/ada/.config/copilot-anyio/credentials.json"),
            ({"XDG_CONFIG_HOME": "/xdg"}, "linux", HOME, "/xdg/copilot-anyio/credentials.json"),
            (
                {},
                "darwin",
                "/Users/ada",
                "/Users/ada/Library/Application Support/copilot-anyio/credentials.json",
            ),
            (
                {"LOCALAPPDATA": "C:\\Users\\ada\\AppData\\Local"},
                "win32",
                "C:\\Users\\ada",
                "C:\\Users\\ada\\AppData\\Local\\copilot-anyio\\credentials.json",
            ),
        ],
    )
    def test_path(self, env: dict[str, str], platform: str, home: str, expected: str) -> None:
        assert str(token_store_path(env, platform=platform, home=home)) == expected


class TestStoreFormat:
    def test_round_trip(self) -> None:
        text = encode_token_store("github.com", TOKEN, user="ada")
        assert json.loads(text) == {
            "version": 1,
            "hosts": {
                "github.com": {
                    "oauth_token": TOKEN,
                    "client_id": "Iv1.b507a08c87ecfe98",
                    "user": "ada",
                }
            },
        }
        found = parse_token_store(text)
        assert found is not None
        assert (found.token, found.source, found.user) == (TOKEN, "token store", "ada")

    def test_other_hosts_kept(self) -> None:
        first = encode_token_store("acme.ghe.com", OTHER)
        both = encode_token_store("github.com", TOKEN, previous=first)
        acme = parse_token_store(both, host="acme.ghe.com")
        assert acme is not None
        assert acme.token == OTHER

    @pytest.mark.parametrize("previous", ["garbage", '{"version": 2, "hosts": {}}', "[]"])
    def test_unreadable_previous_replaced(self, previous: str) -> None:
        text = encode_token_store("github.com", TOKEN, previous=previous)
        assert list(json.loads(text)["hosts"]) == ["github.com"]

    @pytest.mark.parametrize(
        "text", ["", "{}", '{"version": 2, "hosts": {"github.com": {"oauth_token": "x"}}}']
    )
    def test_unknown_store(self, text: str) -> None:
        assert parse_token_store(text) is None


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX file modes")
class TestWriteTokenStore:
    def test_mode_0600_even_with_a_permissive_umask(self, tmp_path: Path) -> None:
        target = tmp_path / "cfg" / "copilot-anyio" / "credentials.json"
        old = os.umask(0)
        try:
            write_token_store(target, TOKEN)
        finally:
            os.umask(old)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
        found = parse_token_store(target.read_text())
        assert found is not None
        assert found.token == TOKEN

    def test_replaces_and_keeps_other_hosts(self, tmp_path: Path) -> None:
        target = tmp_path / "credentials.json"
        write_token_store(target, OTHER, host="acme.ghe.com")
        target.chmod(0o644)
        write_token_store(target, TOKEN)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        text = target.read_text()
        assert parse_token_store(text) is not None
        acme = parse_token_store(text, host="acme.ghe.com")
        assert acme is not None
        assert acme.token == OTHER
        assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]

    def test_failure_leaves_the_old_store_and_no_temp_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        target = tmp_path / "credentials.json"
        write_token_store(target, OTHER)
        before = target.read_text()
        seen: list[int] = []

        def failing_replace(src: str, dst: object) -> None:
            seen.append(stat.S_IMODE(os.stat(src).st_mode))
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(OSError, match="disk full"):
            write_token_store(target, TOKEN)
        assert seen == [0o600]  # the temporary file was private from its creation
        assert target.read_text() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]
