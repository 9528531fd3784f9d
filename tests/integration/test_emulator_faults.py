"""Scripted faults of the emulator, on both flavours, over real sockets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest

from copilot_anyio.emulator import (
    ROUTES,
    Emulator,
    EmulatorConfig,
    Fault,
    reply_deltas,
    reply_for,
    serve_emulator,
)

from ._sse_lines import data_lines

pytestmark = pytest.mark.anyio

IDE = {"Editor-Version": "vscode/1.104.3", "Copilot-Integration-Id": "vscode-chat"}
FAKE_USER_TOKEN = "ghu_" + "x" * 36


def web_text(raw: bytes) -> str:
    out = ""
    for d in data_lines(raw):
        try:
            obj = json.loads(d)
        except ValueError:
            continue
        if obj.get("type") == "content":
            out += obj["body"]
    return out


def ide_text(raw: bytes) -> str:
    out = ""
    for d in data_lines(raw):
        if d == "[DONE]":
            continue
        try:
            obj = json.loads(d)
        except ValueError:
            continue
        for choice in obj.get("choices") or []:
            out += choice["delta"].get("content") or ""
    return out


class Session:
    """A served emulator with a logged-in web thread and an IDE Copilot token."""

    def __init__(self, emu: Emulator, client: httpx.AsyncClient) -> None:
        self.emu = emu
        self.client = client
        self.web: dict[str, str] = {}
        self.ide: dict[str, str] = {}
        self.thread_id = ""

    async def login(self) -> None:
        token = (
            await self.client.post(
                "/github-copilot/chat/token", headers={"Cookie": "user_session=s"}
            )
        ).json()["token"]
        self.web = {"Authorization": f"GitHub-Bearer {token}"}
        self.thread_id = (await self.client.post("/github/chat/threads", headers=self.web)).json()[
            "thread_id"
        ]
        envelope = (
            await self.client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}"}
            )
        ).json()
        self.ide = {**IDE, "Authorization": f"Bearer {envelope['token']}"}

    def web_request(self, prompt: str = "hi", *, streaming: bool = True) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": f"/github/chat/threads/{self.thread_id}/messages",
            "headers": self.web,
            "json": {
                "content": prompt,
                "intent": "conversation",
                "references": [],
                "streaming": streaming,
                "parentMessageID": "root",
            },
        }

    def ide_request(self, prompt: str = "hi", *, stream: bool = True) -> dict[str, Any]:
        return {
            "method": "POST",
            "url": "/chat/completions",
            "headers": self.ide,
            "json": {
                "model": "gpt-4.1",
                "messages": [{"role": "user", "content": prompt}],
                "stream": stream,
            },
        }


@asynccontextmanager
async def session(config: EmulatorConfig | None = None) -> AsyncIterator[Session]:
    async with serve_emulator(config) as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
        s = Session(emu, client)
        await s.login()
        emu.stats.reset()
        yield s


async def read_all(
    client: httpx.AsyncClient, request: dict[str, Any]
) -> tuple[httpx.Response, bytes]:
    async with client.stream(**request) as response:
        raw = await response.aread()
    return response, raw


async def collect(client: httpx.AsyncClient, request: dict[str, Any], sink: bytearray) -> None:
    """Stream ``request`` into ``sink`` (which keeps what arrived if the body breaks)."""
    async with client.stream(**request) as response:
        async for piece in response.aiter_bytes():
            sink += piece


FLAVOURS = ["web", "ide", "responses"]


def responses_text(raw: bytes) -> str:
    out = ""
    for d in data_lines(raw):
        try:
            obj = json.loads(d)
        except ValueError:
            continue
        if obj.get("type") == "response.output_text.delta":
            out += obj["delta"]
    return out


def request_for(s: Session, flavour: str, prompt: str = "hi") -> dict[str, Any]:
    if flavour == "web":
        return s.web_request(prompt)
    if flavour == "ide":
        return s.ide_request(prompt)
    return {
        "method": "POST",
        "url": "/responses",
        "headers": s.ide,
        "json": {"model": "gpt-4.1", "input": prompt, "stream": True},
    }


def route_for(flavour: str) -> str:
    return {"web": "web.messages.create", "ide": "chat.completions"}.get(flavour, flavour)


def text_of(flavour: str, raw: bytes) -> str:
    if flavour == "web":
        return web_text(raw)
    return ide_text(raw) if flavour == "ide" else responses_text(raw)


# -- scripting ---------------------------------------------------------------------------------
def test_script_validates_route_and_times() -> None:
    emu = Emulator()
    with pytest.raises(ValueError, match="unknown route"):
        emu.script("nope", Fault.unavailable())
    with pytest.raises(ValueError, match="times"):
        emu.script("ping", Fault.unavailable(), times=0)
    emu.script("ping", Fault.unavailable(), times=2)
    assert emu.pending_faults("ping") == 2
    assert emu.pending_faults() == 2
    emu.clear_faults()
    assert emu.pending_faults() == 0
    assert "web.messages.create" in ROUTES
    assert "chat.completions" in ROUTES
    assert len(ROUTES) == 17


async def test_faults_are_fifo_per_route_and_consumed() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            emu.script("ping", Fault.server_error(502))
            emu.script("ping", Fault.unavailable(), times=2)
            emu.script("models", Fault.server_error())
            statuses = [(await client.get("/_ping")).status_code for _ in range(4)]
            pending = emu.pending_faults()
    assert statuses == [502, 503, 503, 200]
    assert pending == 1
    assert emu.stats.requests[("ping", 503)] == 2
    assert emu.stats.last_request("ping").fault is None
    assert emu.stats.requests_to("ping")[0].fault == Fault.server_error(502)


# -- status faults -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status", "headers", "body"),
    [
        (
            Fault.rate_limited("2"),
            429,
            {"retry-after": "2", "x-ratelimit-exceeded": "rate_limited"},
            {"code": "rate_limited"},
        ),
        (
            Fault.rate_limited("Wed, 21 Oct 2026 07:28:00 GMT", code="user_model_rate_limited"),
            429,
            {"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"},
            {"code": "user_model_rate_limited", "type": "rate_limit_error"},
        ),
        (
            Fault.quota_exceeded("3600"),
            402,
            {"retry-after": "3600"},
            {"code": "quota_exceeded", "message": "You have no quota"},
        ),
        (
            Fault.quota_exceeded(),
            402,
            {"retry-after": "Fri, 01 Jan 2027 00:00:00 GMT"},
            {"code": "quota_exceeded"},
        ),
        (Fault.server_error(), 500, {}, {"code": "server_error"}),
        (Fault.server_error(502), 502, {}, {"code": "server_error"}),
    ],
)
async def test_json_status_faults(
    fault: Fault, status: int, headers: dict[str, str], body: dict[str, str]
) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script("chat.completions", fault)
            response = await s.client.post(
                "/chat/completions", headers=s.ide, json=s.ide_request()["json"]
            )
    assert response.status_code == status
    for name, value in headers.items():
        assert response.headers[name] == value
    # JSON served as text/plain with a trailing newline, as CAPI does.
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.endswith("}\n")
    error = json.loads(response.text)["error"]
    assert error.items() >= body.items()


async def test_token_expired_and_unavailable_and_custom_status() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script("models", Fault.token_expired())
            s.emu.script("models", Fault.unavailable("5"))
            s.emu.script(
                "models",
                Fault.status(
                    466, body="<html>old</html>", headers={"x-a": "b"}, content_type="text/html"
                ),
            )
            s.emu.script("models", Fault.status(422))
            expired, unavailable, custom, empty = [
                await s.client.get("/models", headers=s.ide) for _ in range(4)
            ]
            ok = await s.client.get("/models", headers=s.ide)
    assert expired.status_code == 401
    assert expired.text == "unauthorized: token expired\n"
    assert expired.headers["content-type"] == "text/plain; charset=utf-8"
    assert unavailable.status_code == 503
    assert unavailable.headers["retry-after"] == "5"
    assert custom.status_code == 466
    assert custom.text == "<html>old</html>"
    assert custom.headers["content-type"] == "text/html"
    assert custom.headers["x-a"] == "b"
    assert empty.status_code == 422
    assert empty.content == b""
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "notification_id", ["no_copilot_access", "subscription_ended", "feature_flag_blocked"]
)
async def test_forbidden_envelope_on_token_exchange(notification_id: str) -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            emu.script("copilot.token", Fault.forbidden(notification_id))
            response = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}"}
            )
    assert response.status_code == 403
    body = response.json()
    assert body["error_details"]["notification_id"] == notification_id
    assert body["message"] == "Resource not accessible by integration"
    assert emu.stats.copilot_tokens_issued == 0


async def test_status_fault_on_web_routes() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script("web.token", Fault.status(404, body="Not Found"))
            s.emu.script("web.threads.create", Fault.token_expired())
            token = await s.client.post(
                "/github-copilot/chat/token", headers={"Cookie": "user_session=s"}
            )
            thread = await s.client.post("/github/chat/threads", headers=s.web)
    assert token.status_code == 404
    assert thread.status_code == 401


# -- delay and token concurrency ---------------------------------------------------------------
async def test_delay_before_headers() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            emu.script("ping", Fault.delay(0.3))
            started = anyio.current_time()
            response = await client.get("/_ping")
            elapsed = anyio.current_time() - started
            fast_start = anyio.current_time()
            await client.get("/_ping")
            fast = anyio.current_time() - fast_start
    assert response.status_code == 200
    assert elapsed >= 0.3 > fast


async def test_token_requests_in_flight_are_measured() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(token_delay=0.3)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):

            async def exchange() -> None:
                response = await client.get(
                    "/copilot_internal/v2/token",
                    headers={"Authorization": f"token {FAKE_USER_TOKEN}"},
                )
                assert response.status_code == 200

            async def web() -> None:
                response = await client.post(
                    "/github-copilot/chat/token", headers={"Cookie": "user_session=z"}
                )
                assert response.status_code == 200

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(exchange)
                tg.start_soon(web)
            in_flight = emu.stats.token_requests_in_flight
    assert emu.stats.max_token_requests_in_flight == 4
    assert in_flight == 0
    assert emu.stats.copilot_tokens_issued == 3
    assert emu.stats.web_tokens_issued == 1


# -- stream faults, both flavours --------------------------------------------------------------
@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_drop_breaks_the_body(flavour: str) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.drop(after_chunks=3))
            received = bytearray()
            with pytest.raises(httpx.RemoteProtocolError):
                await collect(s.client, request_for(s, flavour), received)
            _followup, raw = await read_all(s.client, request_for(s, flavour))
    assert text_of(flavour, bytes(received)) == "".join(reply_deltas("hi")[:3])
    assert s.emu.stats.streams_aborted == 1
    assert s.emu.stats.streams_completed == 1
    assert s.emu.stats.streams_open == 0
    assert text_of(flavour, raw) == reply_for("hi")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_stall_then_client_cancels(flavour: str) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.stall(after_chunks=2))
            received = b""
            with anyio.move_on_after(0.5) as scope:
                async with s.client.stream(**request_for(s, flavour)) as response:
                    async for piece in response.aiter_bytes():
                        received += piece
            assert scope.cancelled_caught
            # The emulator notices the closed socket and stops writing.
            with anyio.fail_after(3):
                await s.emu.wait_streams_closed()
    assert text_of(flavour, received) == "".join(reply_deltas("hi")[:2])
    assert s.emu.stats.streams_aborted == 1
    assert s.emu.stats.streams_completed == 0


async def test_stall_with_keepalive_comments() -> None:
    with anyio.fail_after(10):
        async with session(EmulatorConfig(line_separator="\r\n")) as s:
            s.emu.script("chat.completions", Fault.stall(after_chunks=1, keepalive=0.05))
            received = b""
            with anyio.move_on_after(0.4):
                async with s.client.stream(**s.ide_request()) as response:
                    async for piece in response.aiter_bytes():
                        received += piece
    assert received.count(b": keep-alive\r\n\r\n") >= 3
    assert ide_text(received) == reply_deltas("hi")[0]


async def test_stalled_stream_is_aborted_when_the_server_stops() -> None:
    errors: list[Exception] = []
    with anyio.fail_after(10):
        async with httpx.AsyncClient() as client, anyio.create_task_group() as tg:
            async with serve_emulator() as emu:
                client.base_url = httpx.URL(emu.base_url)
                s = Session(emu, client)
                await s.login()
                emu.script("web.messages.create", Fault.stall(after_chunks=1))
                started = anyio.Event()

                async def reader() -> None:
                    try:
                        async with client.stream(**s.web_request()) as response:
                            started.set()
                            async for _ in response.aiter_bytes():
                                pass
                    except httpx.HTTPError as exc:
                        errors.append(exc)

                tg.start_soon(reader)
                await started.wait()
                await anyio.sleep(0.1)
                assert emu.stats.streams_open == 1
                stopping = anyio.current_time()
            stopped = anyio.current_time()
    assert stopped - stopping < 3
    assert emu.stats.streams_open == 0
    assert emu.stats.streams_aborted == 1
    assert len(errors) == 1
    assert isinstance(errors[0], httpx.RemoteProtocolError)


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_truncate_ends_cleanly_without_terminal(flavour: str) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.truncate())
            s.emu.script(route_for(flavour), Fault.truncate(after_chunks=4))
            _, whole = await read_all(s.client, request_for(s, flavour))
            _, short = await read_all(s.client, request_for(s, flavour))
    assert text_of(flavour, whole) == reply_for("hi")
    assert text_of(flavour, short) == "".join(reply_deltas("hi")[:4])
    for raw in (whole, short):
        assert b"[DONE]" not in raw
        assert b'"complete"' not in raw
        assert b"response.completed" not in raw
    assert s.emu.stats.streams_completed == 2


async def test_finish_error_on_each_streaming_route() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            for route in ("chat.completions", "responses", "web.messages.create"):
                s.emu.script(route, Fault.finish_error())
            _, chat = await read_all(s.client, s.ide_request())
            _, resp = await read_all(
                s.client,
                {
                    "method": "POST",
                    "url": "/responses",
                    "headers": s.ide,
                    "json": {"model": "gpt-4.1", "input": "hi", "stream": True},
                },
            )
            _, web = await read_all(s.client, s.web_request())
    finish = [json.loads(d) for d in data_lines(chat) if d != "[DONE]"][-1]
    assert finish["choices"][0]["finish_reason"] == "error"
    assert ide_text(chat) == reply_for("hi")
    assert json.loads(data_lines(resp)[-1])["type"] == "response.failed"
    last_web = json.loads(data_lines(web)[-1])
    assert last_web["type"] == "error"
    assert web_text(web) == reply_for("hi")


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_midstream_error(flavour: str) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.midstream_error(after_chunks=2, message="boom"))
            _, raw = await read_all(s.client, request_for(s, flavour))
    last = json.loads(data_lines(raw)[-1])
    if flavour == "responses":
        assert (last["type"], last["code"], last["message"]) == ("error", "server_error", "boom")
    else:
        assert last["error"] == {"code": 500, "message": "boom"}
    assert text_of(flavour, raw) == "".join(reply_deltas("hi")[:2])
    assert b"[DONE]" not in raw


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_malformed_json_then_carry_on(flavour: str) -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.malformed_json(after_chunks=1))
            _, raw = await read_all(s.client, request_for(s, flavour))
    lines = data_lines(raw)
    assert "{not json" in lines
    assert text_of(flavour, raw) == reply_for("hi")


async def test_oversized_event() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script("chat.completions", Fault.oversized_event(size=300_000, after_chunks=1))
            _, raw = await read_all(s.client, s.ide_request())
    sizes = sorted(len(d) for d in data_lines(raw))
    assert sizes[-1] >= 300_000 > sizes[-2]
    assert ide_text(raw) == reply_for("hi")


async def test_trickle_writes_one_byte_at_a_time() -> None:
    flavour = "web"  # small events: one write per byte is slow
    with anyio.fail_after(20):
        async with session() as s:
            s.emu.script(route_for(flavour), Fault.trickle())
            _, raw = await read_all(s.client, request_for(s, flavour, "é🚀"))
    assert text_of(flavour, raw) == reply_for("é🚀")
    assert s.emu.stats.bytes_sent == len(raw)


async def test_stream_faults_on_json_replies() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            s.emu.script("chat.completions", Fault.drop())
            with pytest.raises(httpx.RemoteProtocolError):
                await s.client.request(**s.ide_request(stream=False))
            s.emu.script("web.messages.create", Fault.stall())
            with anyio.move_on_after(0.3) as scope:
                await s.client.request(**s.web_request(streaming=False))
            s.emu.script("ping", Fault.trickle())
            ping = await s.client.get("/_ping")
            s.emu.script("ping", Fault.midstream_error())  # not applicable to JSON: ignored
            ping_again = await s.client.get("/_ping")
    assert scope.cancelled_caught
    assert ping.json()["status"] == ping_again.json()["status"] == "ok"
    assert s.emu.stats.streams_aborted == 2


async def test_stats_bytes_and_request_headers_for_streams() -> None:
    with anyio.fail_after(10):
        async with session() as s:
            _, raw = await read_all(
                s.client, {**s.ide_request(), "headers": {**s.ide, "X-Initiator": "agent"}}
            )
            record = s.emu.stats.last_request("chat.completions")
    assert s.emu.stats.bytes_sent == len(raw)
    assert record.headers["x-initiator"] == "agent"
    assert record.json()["messages"][0]["content"] == "hi"
    assert s.emu.stats.streams_completed == 1
