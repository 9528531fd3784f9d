"""Serving edges of the emulator: the listen backlog, clients that leave early, and shutdown with
work in flight, over real loopback sockets on both backends."""

from __future__ import annotations

import logging
import socket
import struct
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from copilot_anyio.emulator import EmulatorConfig, Fault, serve_emulator
from copilot_anyio.emulator._server import DEFAULT_BACKLOG
from tests._backends import BACKENDS

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent.parent


def _listen_backlog(port: int) -> int | None:
    """The backlog of the TCP listener on 127.0.0.1:``port``, from the kernel (Linux
    ``sock_diag``: a listener's ``idiag_wqueue`` is its ``sk_max_ack_backlog``)."""
    sock_diag, by_family, tcp_listen = 4, 20, 10
    request = struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << tcp_listen)
    request += bytes(48)  # an empty inet_diag_sockid: dump every listener
    header = struct.pack("=IHHII", 16 + len(request), by_family, 0x1 | 0x300, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, sock_diag) as netlink:
        netlink.sendall(header + request)
        while True:
            data = netlink.recv(1 << 16)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == 3:  # NLMSG_DONE
                    return None
                if kind == 2:  # NLMSG_ERROR
                    raise OSError("sock_diag request failed")
                (sport,) = struct.unpack_from("!H", data, offset + 20)
                (max_backlog,) = struct.unpack_from("=I", data, offset + 16 + 60)
                if sport == port:
                    return int(max_backlog)
                offset += (length + 3) & ~3


def _somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the backlog through Linux sock_diag"
)


@linux_only
def test_the_backlog_reader_sees_a_listen_call() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(77)
        port = sock.getsockname()[1]
        first = _listen_backlog(port)
        sock.listen(33)
        second = _listen_backlog(port)
    assert (first, second) == (77, 33)


@linux_only
@pytest.mark.parametrize("backlog", [DEFAULT_BACKLOG, 1500])
async def test_the_configured_backlog_reaches_the_listening_socket(backlog: int) -> None:
    expected = min(backlog, _somaxconn())
    with anyio.fail_after(10):
        server = serve_emulator() if backlog == DEFAULT_BACKLOG else serve_emulator(backlog=backlog)
        async with server as emu:
            async with httpx.AsyncClient(base_url=emu.base_url) as client:
                # One answered request: the server has made its own listen() call by now.
                assert (await client.get("/_ping")).status_code == 200
            port = int(emu.base_url.rsplit(":", 1)[1])
            seen = _listen_backlog(port)
    assert DEFAULT_BACKLOG >= 4096
    assert seen == expected
    if _somaxconn() >= 1000:
        assert seen >= 1000


async def test_backlog_must_be_positive() -> None:
    with pytest.raises(ValueError, match="backlog"):
        async with serve_emulator(backlog=0):
            pass


async def test_a_thousand_simultaneous_connections_are_all_served() -> None:
    clients = 1000
    connected = 0
    all_connected = anyio.Event()
    statuses: list[bytes] = []

    async def one(host: str, port: int) -> None:
        nonlocal connected
        stream: SocketStream = await anyio.connect_tcp(host, port)
        async with stream:
            connected += 1
            if connected == clients:
                all_connected.set()
            await all_connected.wait()  # every connection is open at the same time
            await stream.send(b"GET /_ping HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n")
            reply = b""
            while b"\r\n" not in reply:
                reply += await stream.receive()
            statuses.append(reply.split(b"\r\n", 1)[0])

    with anyio.fail_after(60):
        async with serve_emulator() as emu:
            host, port = emu.base_url.removeprefix("http://").rsplit(":", 1)
            async with anyio.create_task_group() as tg:
                for _ in range(clients):
                    tg.start_soon(one, host, int(port))
    assert len(statuses) == clients
    assert set(statuses) == {b"HTTP/1.1 200 "}
    assert emu.stats.count("ping", 200) == clients


async def _raw(base_url: str, data: bytes) -> SocketStream:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    stream = await anyio.connect_tcp(host, int(port))
    await stream.send(data)
    return stream


async def test_clients_leaving_early_are_debug_noise_not_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="copilot_anyio.emulator")
    with anyio.fail_after(20):
        async with serve_emulator(EmulatorConfig(pacing=0.02)) as emu:
            # 1. Half a request body, then gone.
            partial = await _raw(
                emu.base_url,
                b"POST /chat/completions HTTP/1.1\r\nHost: e\r\nContent-Length: 100\r\n\r\n{",
            )
            await partial.aclose()
            for _ in range(1000):  # the server notices asynchronously
                if emu.stats.client_disconnects:
                    break
                await anyio.sleep(0.01)
            async with httpx.AsyncClient(base_url=emu.base_url) as client:
                token = (
                    await client.post(
                        "/github-copilot/chat/token", headers={"Cookie": "user_session=s"}
                    )
                ).json()["token"]
                headers = {"Authorization": f"GitHub-Bearer {token}"}
                thread = (await client.post("/github/chat/threads", headers=headers)).json()
                url = f"/github/chat/threads/{thread['thread_id']}/messages"
                body = {"content": "hello", "streaming": True}
                # 2. A stalled stream and 3. a paced one, each left after the first bytes.
                emu.script("web.messages.create", Fault.stall(after_chunks=1))
                for _ in range(2):
                    async with client.stream("POST", url, headers=headers, json=body) as response:
                        async for _piece in response.aiter_raw():
                            break
                    await emu.wait_streams_closed()
                # 4. A slow first byte, left before it came.
                emu.script("ping", Fault.delay(0.3))
                with anyio.move_on_after(0.05):
                    await client.get("/_ping")
                await anyio.sleep(0.4)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [], [r.getMessage() for r in loud]
    quiet = [
        r.getMessage()
        for r in caplog.records
        if r.name == "copilot_anyio.emulator" and r.levelno == logging.DEBUG
    ]
    assert sum("left before sending the whole body" in m for m in quiet) == 1
    assert sum("left during a body" in m for m in quiet) == 2
    assert emu.stats.client_disconnects == 1
    assert emu.stats.streams_aborted == 2


_SHUTDOWN_SCRIPT = """
import logging, sys
import anyio, httpx
from copilot_anyio.emulator import Fault, serve_emulator

logging.basicConfig(
    level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
)
logging.getLogger("asyncio").setLevel(logging.INFO)
for name in ("httpx", "httpcore", "hpack"):
    logging.getLogger(name).setLevel(logging.WARNING)


async def raw(base_url, data):
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    stream = await anyio.connect_tcp(host, int(port))
    if data:
        await stream.send(data)
    return stream


async def main():
    result = {}
    async with httpx.AsyncClient() as client, anyio.create_task_group() as tg:
        async with serve_emulator() as emu:
            await client.get(emu.base_url + "/_ping")  # stays open as an idle keep-alive
            half_line = await raw(emu.base_url, b"POST /chat/comp")
            half_body = await raw(
                emu.base_url,
                b"POST /embeddings HTTP/1.1\\r\\nHost: e\\r\\nContent-Length: 50\\r\\n\\r\\n{",
            )
            silent = await raw(emu.base_url, b"")
            emu.script("ping", Fault.stall())
            stalled = await client.send(
                client.build_request("GET", emu.base_url + "/_ping"), stream=True
            )
            emu.script("ping", Fault.delay(30))

            async def slow():
                result["status"] = (await client.get(emu.base_url + "/_ping")).status_code

            tg.start_soon(slow)
            while emu.pending_faults("ping"):
                await anyio.sleep(0.01)
            await anyio.sleep(0.1)
            # The block ends with all of the above open or in flight.
        await stalled.aclose()
        for stream in (half_line, half_body, silent):
            await stream.aclose()
    print("slow request answered", result["status"], file=sys.stderr)


anyio.run(main, backend=sys.argv[1])
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_shutdown_with_work_in_flight_is_quiet(backend: str) -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", _SHUTDOWN_SCRIPT, backend],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    # The logging set-up works (debug lines arrive), and nothing is louder than debug/info.
    assert any(line.startswith("DEBUG copilot_anyio.emulator: ") for line in lines), done.stderr
    for marker in ("Traceback", "Exception in callback", "CancelledError", "ERROR", "WARNING"):
        assert marker not in done.stderr, done.stderr
    assert "slow request answered 503" in lines
