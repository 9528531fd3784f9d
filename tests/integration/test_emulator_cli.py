"""``copilot-anyio emulator``: the foreground server prints its URL and stops on SIGINT."""

from __future__ import annotations

import re
import signal
import sys

import anyio
import httpx
import pytest
from anyio.abc import ByteReceiveStream

from copilot_anyio.emulator._cli import main

pytestmark = pytest.mark.anyio


async def _read_until(stream: ByteReceiveStream, pattern: bytes) -> bytes:
    seen = b""
    async for piece in stream:
        seen += piece
        if re.search(pattern, seen):
            return seen
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child is POSIX-only")
async def test_cli_serves_until_sigint(anyio_backend: str) -> None:
    backend = anyio_backend  # the child serves on the same backend as the test runs on
    code = f"from copilot_anyio.emulator._cli import main; raise SystemExit(main(['--backend', '{backend}', '--pacing', '0']))"
    with anyio.fail_after(30):
        async with await anyio.open_process([sys.executable, "-c", code]) as process:
            assert process.stdout is not None
            banner = await _read_until(process.stdout, rb"Press Ctrl-C")
            match = re.search(rb"listening on (http://127\.0\.0\.1:\d+)", banner)
            assert match is not None, banner
            base_url = match.group(1).decode()
            async with httpx.AsyncClient() as client:
                pong = await client.get(f"{base_url}/_ping")
            assert b"COPILOT_API_URL=" + base_url.encode() in banner
            process.send_signal(signal.SIGINT)
            rest = await _read_until(process.stdout, rb"emulator stopped")
            status = await process.wait()
    assert pong.json()["status"] == "ok"
    assert b"emulator stopped" in rest
    assert status == 0


def test_cli_rejects_a_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        status = main(["--port", str(port)])
    assert status == 1
    assert "cannot serve" in capsys.readouterr().err
