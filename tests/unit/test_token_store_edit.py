"""The token store's override directory and the removal of one host's entry (``logout``)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from copilot_anyio.ide._credentials import (
    encode_token_store,
    parse_token_store,
    remove_from_token_store,
    token_store_path,
)
from copilot_anyio.ide._store import remove_token_store_entry, write_token_store

TOKEN = "ghu_FAKEfakeFAKEfakeFAKEfakeFAKEfake0000"
OTHER = "gho_OTHERotherOTHERotherOTHERother0000"


class TestConfigDirOverride:
    @pytest.mark.parametrize(
        ("platform", "home", "expected"),
        [
            ("linux", "/home/ada", "/tmp/cfg/credentials.json"),
            ("darwin", "/Users/ada", "/tmp/cfg/credentials.json"),
        ],
    )
    def test_wins_over_the_platform_rules(self, platform: str, home: str, expected: str) -> None:
        env = {"COPILOT_ANYIO_CONFIG_DIR": "/tmp/cfg", "XDG_CONFIG_HOME": "/xdg"}
        assert str(token_store_path(env, platform=platform, home=home)) == expected

    def test_windows_path(self) -> None:
        env = {"COPILOT_ANYIO_CONFIG_DIR": "D:\\cfg", "LOCALAPPDATA": "C:\\L"}
        path = token_store_path(env, platform="win32", home="C:\\Users\\ada")
        assert str(path) == "D:\\cfg\\credentials.json"

    def test_empty_is_unset(self) -> None:
        env = {"COPILOT_ANYIO_CONFIG_DIR": ""}
        path = token_store_path(env, platform="linux", home="/home/ada")
        assert str(path) == "/home/ada/.config/copilot-anyio/credentials.json"


class TestRemoveFromTokenStore:
    def test_removes_only_that_host(self) -> None:
        both = encode_token_store(
            "github.com", TOKEN, previous=encode_token_store("acme.ghe.com", OTHER)
        )
        text = remove_from_token_store(both, host="github.com")
        assert text is not None
        assert parse_token_store(text) is None
        acme = parse_token_store(text, host="acme.ghe.com")
        assert acme is not None
        assert acme.token == OTHER

    def test_last_entry_leaves_an_empty_store(self) -> None:
        text = remove_from_token_store(encode_token_store("github.com", TOKEN), host="github.com")
        assert text is not None
        assert json.loads(text) == {"version": 1, "hosts": {}}

    @pytest.mark.parametrize(
        "previous",
        [
            "",
            "garbage",
            "[]",
            '{"version": 2, "hosts": {"github.com": {"oauth_token": "x"}}}',
            '{"version": 1, "hosts": []}',
            '{"version": 1, "hosts": {"acme.ghe.com": {}}}',
        ],
    )
    def test_nothing_to_remove(self, previous: str) -> None:
        assert remove_from_token_store(previous, host="github.com") is None


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX file modes")
class TestRemoveTokenStoreEntry:
    def test_rewrites_atomically_keeping_other_hosts(self, tmp_path: Path) -> None:
        target = tmp_path / "credentials.json"
        write_token_store(target, OTHER, host="acme.ghe.com")
        write_token_store(target, TOKEN)
        target.chmod(0o644)
        assert remove_token_store_entry(target) is True
        text = target.read_text()
        assert TOKEN not in text
        assert parse_token_store(text, host="acme.ghe.com") is not None
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]

    def test_second_removal_finds_nothing(self, tmp_path: Path) -> None:
        target = tmp_path / "credentials.json"
        write_token_store(target, TOKEN)
        assert remove_token_store_entry(target) is True
        assert remove_token_store_entry(target) is False

    def test_missing_store_is_not_an_error(self, tmp_path: Path) -> None:
        assert remove_token_store_entry(tmp_path / "absent" / "credentials.json") is False
        assert list(tmp_path.iterdir()) == []

    def test_a_store_it_cannot_read_is_left_alone(self, tmp_path: Path) -> None:
        target = tmp_path / "credentials.json"
        target.write_text('{"version": 2, "hosts": {"github.com": {}}}')
        before = target.stat().st_mtime_ns
        assert remove_token_store_entry(target) is False
        assert target.stat().st_mtime_ns == before

    def test_failure_leaves_the_old_store_and_no_temp_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        target = tmp_path / "credentials.json"
        write_token_store(target, TOKEN)
        before = target.read_text()

        def failing_replace(src: str, dst: object) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", failing_replace)
        with pytest.raises(OSError, match="disk full"):
            remove_token_store_entry(target)
        assert target.read_text() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials.json"]
