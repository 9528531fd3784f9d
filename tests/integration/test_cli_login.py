"""``copilot-anyio login``, ``logout`` and ``--version``, run as a user runs them.

Every run gets a temporary ``HOME`` and ``COPILOT_ANYIO_CONFIG_DIR``, so no test can touch a real
token store.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

import copilot_anyio
from copilot_anyio._cli import main
from copilot_anyio.emulator import EmulatorConfig, serve_emulator
from copilot_anyio.ide._credentials import parse_token_store
from tests._backends import BACKENDS


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env["HOME"] = str(tmp_path / "home")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env["COPILOT_ANYIO_CONFIG_DIR"] = str(tmp_path / "cfg")
    return env


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copilot_anyio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
        check=False,
    )


async def _run_async(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = await anyio.run_process(
        [sys.executable, "-m", "copilot_anyio", *args], env=_env(tmp_path), check=False
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def _store(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "credentials.json"


class _Disk:
    def __init__(self, path: Path) -> None:
        self.text = path.read_text(encoding="utf-8") if path.exists() else None
        self.mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0


async def _disk(path: Path) -> _Disk:
    return await anyio.to_thread.run_sync(_Disk, path)


@pytest.mark.parametrize("backend", BACKENDS)
def test_login_with_the_emulator_signs_in_and_leaves_no_token_behind(
    tmp_path: Path, backend: str
) -> None:
    done = _run(tmp_path, "login", "--emulator", "--backend", backend)
    assert done.returncode == 0, done.stderr
    assert re.search(r"enter the code [A-Z]{4}-\d{4}\n", done.stderr), done.stderr
    assert "bundled Copilot emulator" in done.stderr
    signed_in = re.fullmatch(
        r"Signed in to 127\.0\.0\.1:\d+ as user-\w+; the token is stored in (\S+)\n", done.stdout
    )
    assert signed_in is not None, done.stdout
    scratch = Path(signed_in.group(1))
    assert not scratch.exists()  # the temporary store is gone
    assert not scratch.parent.exists()
    # The user's own store, and every config directory, were left alone.
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.anyio
async def test_login_then_logout_against_a_served_emulator(tmp_path: Path) -> None:
    with anyio.fail_after(40):
        async with serve_emulator(EmulatorConfig(device_poll_script=())) as emu:
            url = emu.base_url
            host = url.split("://", 1)[1]
            rc, out, err = await _run_async(tmp_path, "login", "--github-url", url)
            assert rc == 0, err
            [grant] = emu.state.devices.values()
            disk = await _disk(_store(tmp_path))
            assert disk.text is not None
            found = parse_token_store(disk.text, host=host)
            assert found is not None
            assert emu.state.account_for_user_token(found.token) is not None
            rc2, out2, err2 = await _run_async(tmp_path, "logout", "--github-url", url)
            rc3, out3, _ = await _run_async(tmp_path, "logout", "--github-url", url)
    assert disk.mode == 0o600 or sys.platform.startswith("win")
    # Another GitHub without an API URL: the login is not asked for, so none is shown.
    assert out == f"Signed in to {host}; the token is stored in {_store(tmp_path)}\n"
    assert f"enter the code {grant.user_code}" in err
    for text in (out, err, out2, err2):
        assert found.token not in text
        assert grant.device_code not in text

    assert rc2 == 0, err2
    assert out2 == f"Signed out of {host}: its token was removed from {_store(tmp_path)}\n"
    assert "revoke" in err2
    after = await _disk(_store(tmp_path))
    assert after.text is not None
    assert parse_token_store(after.text, host=host) is None
    assert rc3 == 0
    assert out3 == f"No token for {host} in {_store(tmp_path)}; nothing to do\n"


@pytest.mark.anyio
async def test_login_reports_a_declined_sign_in(tmp_path: Path) -> None:
    with anyio.fail_after(40):
        async with serve_emulator(EmulatorConfig(device_poll_script=("access_denied",))) as emu:
            rc, out, err = await _run_async(tmp_path, "login", "--github-url", emu.base_url)
    assert rc == 1
    assert out == ""
    assert "error: AuthorizationDeniedError: the sign-in was declined on GitHub" in err
    assert "Traceback" not in err
    assert (await _disk(_store(tmp_path))).text is None


@pytest.mark.anyio
async def test_login_reports_an_expired_code(tmp_path: Path) -> None:
    with anyio.fail_after(40):
        async with serve_emulator(EmulatorConfig(device_poll_script=("expired_token",))) as emu:
            rc, _, err = await _run_async(tmp_path, "login", "--github-url", emu.base_url)
    assert rc == 1
    assert "error: DeviceCodeExpiredError" in err
    assert "Traceback" not in err


def test_login_reports_an_unreachable_github(tmp_path: Path) -> None:
    done = _run(tmp_path, "login", "--github-url", "http://127.0.0.1:9")
    assert done.returncode == 1
    assert "error: ConnectError" in done.stderr
    assert "Traceback" not in done.stderr


def test_logout_without_a_store_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COPILOT_ANYIO_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.delenv("COPILOT_GITHUB_URL", raising=False)
    assert main(["logout"]) == 0
    out = capsys.readouterr().out
    assert (
        out
        == f"No token for github.com in {tmp_path / 'cfg' / 'credentials.json'}; nothing to do\n"
    )
    assert not (tmp_path / "cfg").exists()


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"copilot-anyio {copilot_anyio.__version__}\n"


def test_version_as_a_command(tmp_path: Path) -> None:
    done = _run(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout == f"copilot-anyio {copilot_anyio.__version__}\n"


@pytest.mark.anyio
@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX signals")
@pytest.mark.parametrize("backend", BACKENDS)
async def test_ctrl_c_while_waiting_for_the_code_cancels_cleanly(
    tmp_path: Path, backend: str
) -> None:
    with anyio.fail_after(40):
        async with serve_emulator(EmulatorConfig(device_interval=60)) as emu:
            command = [sys.executable, "-m", "copilot_anyio", "login", "--backend", backend]
            command += ["--github-url", emu.base_url]
            async with await anyio.open_process(command, env=_env(tmp_path)) as process:
                assert process.stderr is not None
                seen = b""
                while b"enter the code" not in seen:
                    seen += await process.stderr.receive()
                started = anyio.current_time()
                process.send_signal(signal.SIGINT)
                rc = await process.wait()
                rest = b"".join([chunk async for chunk in process.stderr])
                took = anyio.current_time() - started
            polls = sum(1 for r in emu.stats.request_log if r.route == "device.token")
    err = (seen + rest).decode()
    assert rc == 130, err
    assert took < 5
    assert "sign-in cancelled" in err
    assert "Traceback" not in err
    assert polls == 0
    assert (await _disk(_store(tmp_path))).text is None
