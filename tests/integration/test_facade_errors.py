"""The facade raises only ``CopilotError``s, cookie-file problems included, and no error (nor
anything in its chain) carries the file's contents, a cookie or a token."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from copilot_anyio import CopilotClient, CopilotError, CredentialsError, GithubCopilot
from tests._secrets import chain, exception_texts, leaks

pytestmark = pytest.mark.anyio

NOWHERE = "http://127.0.0.1:9"  # nothing may be sent: every case fails before a request
CANARY = "CANARY-COOKIE-FILE-VALUE-3f9e1d"
GOOD_LINE = f"127.0.0.1\tFALSE\t/\tFALSE\t0\tuser_session\t{CANARY}\n"


def _missing(tmp: Path) -> Path:
    return tmp / "missing.txt"


def _directory(tmp: Path) -> Path:
    (tmp / "cookies.d").mkdir()
    return tmp / "cookies.d"


def _symlink_loop(tmp: Path) -> Path:  # unreadable whoever we run as (root reads mode 000)
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "file").write_text(GOOD_LINE, encoding="utf-8")
    return tmp / "file" / "cookies.txt"


def _no_permission(tmp: Path) -> Path:
    if os.geteuid() == 0:
        pytest.skip("root reads a file of mode 000 (the symlink loop covers unreadable files)")
    path = tmp / "cookies.txt"
    path.write_text(GOOD_LINE, encoding="utf-8")
    path.chmod(0)
    return path


def _bad_utf8(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_bytes(GOOD_LINE.encode().replace(b"\t0\t", b"\t\xff\xfe\t"))
    return path


def _binary(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_bytes(b"\x00\x01\x02" + CANARY.encode() + b"\x00")
    return path


def _no_session(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(GOOD_LINE.replace("user_session", "_gh_sess"), encoding="utf-8")
    return path


def _session_for_another_host(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(GOOD_LINE.replace("127.0.0.1", "github.com"), encoding="utf-8")
    return path


def _value_that_splits_the_header(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(GOOD_LINE.replace(CANARY, f"{CANARY}; admin=1"), encoding="utf-8")
    return path


def _control_character(tmp: Path) -> Path:
    path = tmp / "cookies.txt"
    path.write_text(GOOD_LINE.replace(CANARY, f"{CANARY}\x7f"), encoding="utf-8")
    return path


FILES: dict[str, Callable[[Path], Path]] = {
    f.__name__.lstrip("_"): f
    for f in (
        _missing,
        _directory,
        _symlink_loop,
        _under_a_file,
        _no_permission,
        _bad_utf8,
        _binary,
        _no_session,
        _session_for_another_host,
        _value_that_splits_the_header,
        _control_character,
    )
}


def assert_clean(error: BaseException, path: Path) -> None:
    assert isinstance(error, CredentialsError)
    found = leaks(exception_texts(error), [CANARY])
    assert not found, found
    # no OSError / UnicodeDecodeError (with the file's bytes in .object) rides along
    assert [type(e) for e in chain(error)] == [CredentialsError]


async def _facade(**options: Any) -> None:
    answer = GithubCopilot.create_async_generator(
        "gpt-4o",
        [{"role": "user", "content": "hi"}],
        github_url=NOWHERE,
        api_url=NOWHERE,
        **options,
    )
    async with aclosing(answer):
        async for _ in answer:
            pass  # pragma: no cover - fails before any request


@pytest.mark.parametrize("name", sorted(FILES))
async def test_the_facade_reports_a_bad_cookies_file_as_a_credentials_error(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = FILES[name](tmp_path)
    monkeypatch.delenv("COPILOT_COOKIES", raising=False)
    monkeypatch.setenv("COPILOT_COOKIES_FILE", str(path))
    with anyio.fail_after(10), pytest.raises(CopilotError) as info:
        await _facade()
    assert_clean(info.value, path)


@pytest.mark.parametrize("name", sorted(FILES))
async def test_the_client_reports_a_bad_cookies_file_as_a_credentials_error(
    name: str, tmp_path: Path
) -> None:
    path = FILES[name](tmp_path)
    with anyio.fail_after(10), pytest.raises(CopilotError) as info:
        async with CopilotClient(cookies_file=path, github_url=NOWHERE, api_url=NOWHERE, env={}):
            pass  # pragma: no cover
    assert_clean(info.value, path)


@pytest.mark.parametrize(
    "cookies",
    [
        [f"user_session={CANARY}"],
        [("user_session", CANARY)],
        f"user_session={CANARY}".encode(),
        7,
        {"user_session": 7},
        {7: CANARY},
        {"user_session": f"{CANARY};x=1"},
        {"user_session": ""},
    ],
    ids=repr,
)
async def test_the_facade_reports_bad_cookies_as_a_credentials_error(cookies: Any) -> None:
    with anyio.fail_after(10), pytest.raises(CopilotError) as info:
        await _facade(cookies=cookies)
    assert isinstance(info.value, CredentialsError)
    assert not leaks(exception_texts(info.value), [CANARY])


async def test_no_credentials_names_the_facades_own_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COPILOT_COOKIES", raising=False)
    monkeypatch.delenv("COPILOT_COOKIES_FILE", raising=False)
    with anyio.fail_after(10), pytest.raises(CredentialsError) as info:
        await _facade()
    assert "cookies= or api_key=" in str(info.value)
    assert "cookies_file=" not in str(info.value)  # the facade has no such argument
