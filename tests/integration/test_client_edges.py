"""Edges of the client: exception identity, timeouts by phase, retries that must not happen,
secrets in exception chains, and a misbehaving transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

import copilot_anyio
from copilot_anyio import (
    CopilotClient,
    CredentialsError,
    EventTooLarge,
    Limits,
    ReadTimeout,
    RetryPolicy,
    StreamInterruptedError,
    Timeouts,
)
from copilot_anyio._http import Request, Response
from copilot_anyio.emulator import EmulatorConfig, Fault, reply_deltas, reply_for

from ._support import ALICE, emulated_client

pytestmark = pytest.mark.anyio


async def test_a_user_exception_leaves_the_client_unchanged() -> None:
    cause = KeyError("why")
    with anyio.fail_after(15):
        with pytest.raises(RuntimeError) as info:
            async with emulated_client() as (_emu, client):
                await client.chat("before")
                raise RuntimeError("mine") from cause
    assert info.value.__cause__ is cause


async def test_a_users_exception_group_is_not_flattened() -> None:
    group = ExceptionGroup("mine", [ValueError("one")])
    with anyio.fail_after(15):
        with pytest.raises(ExceptionGroup) as info:
            async with emulated_client():
                raise group
    assert info.value is group


async def test_the_first_byte_timeout_bounds_the_wait_for_headers() -> None:
    with anyio.fail_after(15):
        async with emulated_client(timeouts=Timeouts(first_byte=0.3)) as (emu, client):
            thread = await client.new_thread()
            emu.script("web.messages.create", Fault.delay(2.0))
            started = anyio.current_time()
            with pytest.raises(ReadTimeout):
                async with thread.stream("slow headers"):
                    pass  # pragma: no cover - entering raises
            waited = anyio.current_time() - started
    assert waited < 1.5
    # a POST that reached the server is never sent again: it would be answered twice
    assert len(emu.stats.requests_to("web.messages.create")) == 1


async def test_waiting_for_a_free_slot_is_not_a_timeout() -> None:
    # One request slot, held by a slow stream: a thread listing queues for the slot (longer
    # than first_byte) and then succeeds, rather than failing as a header timeout.
    config = EmulatorConfig(pacing=0.05)
    options = {"limits": Limits(max_concurrent_requests=1), "timeouts": Timeouts(first_byte=0.3)}
    with anyio.fail_after(20):
        async with emulated_client(config, **options) as (_emu, client):
            thread = await client.new_thread()
            async with anyio.create_task_group() as tg:

                async def slow() -> None:
                    async with thread.stream("a slow answer") as stream:
                        await stream.final()

                tg.start_soon(slow)
                await anyio.sleep(0.1)
                listed = await client.list_threads()
    assert thread.id in [t.id for t in listed]


async def test_a_reply_streamed_despite_streaming_false_is_still_read() -> None:
    config = EmulatorConfig(web_sse_when_not_streaming=True)
    with anyio.fail_after(15):
        async with emulated_client(config) as (emu, client):
            result = await client.chat("stream anyway")
            assert emu.stats.last_request("web.messages.create").json()["streaming"] is False
    assert result.text == reply_for("stream anyway")
    assert result.message_id


async def test_an_interrupted_stream_carries_no_request_in_its_exception_chain() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.drop(after_chunks=1))
            with pytest.raises(StreamInterruptedError) as info:
                async with client.stream_chat("drop") as stream:
                    await stream.final()
            lease = await client.web_token()
    assert lease is not None
    assert info.value.__cause__ is None
    assert info.value.__context__ is None  # the httpx error (and its request headers) is gone
    assert lease.value not in str(info.value)


async def test_a_connect_error_carries_no_cookie() -> None:
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
    url = f"http://127.0.0.1:{port}"  # closed again: nothing listens there now
    with anyio.fail_after(15):
        async with CopilotClient(
            cookies={"user_session": "SECRET-SESSION"},
            github_url=url,
            api_url=url,
            retry=RetryPolicy(max_retries=0),
            env={},
        ) as client:
            with pytest.raises(copilot_anyio.ConnectError) as info:
                await client.chat("anyone there?")
    chain: list[BaseException] = []
    exc: BaseException | None = info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert len(chain) == 1
    assert "SECRET-SESSION" not in repr(vars(info.value))


async def test_set_cookie_on_an_error_is_not_kept() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script(
                "web.token",
                Fault.status(
                    429, body='{"message":"slow down"}', headers={"set-cookie": "_gh_sess=S"}
                ),
            )
            with pytest.raises(copilot_anyio.RateLimitError) as info:
                await client.chat("x")
    assert "set-cookie" not in info.value.headers
    assert info.value.message == "slow down"


async def test_non_ascii_credentials_are_refused_up_front() -> None:
    with pytest.raises(CredentialsError) as info:
        CopilotClient(cookies={"user_session": "sécret"}, env={})
    assert "sécret" not in str(info.value)
    with pytest.raises(CredentialsError):
        CopilotClient(web_token="tok\nen", env={})


async def test_an_oversized_event_keeps_the_text_before_it() -> None:
    prompt = "big"
    with anyio.fail_after(15):
        async with emulated_client(max_event_size=64 * 1024) as (emu, client):
            emu.script(
                "web.messages.create", Fault.oversized_event(size=128 * 1024, after_chunks=3)
            )
            with pytest.raises(EventTooLarge) as info:
                async with client.stream_chat(prompt) as stream:
                    await stream.final()
    assert info.value.partial_text == "".join(reply_deltas(prompt)[:3])


async def test_breaking_out_of_text_deltas_leaves_nothing_to_finalise() -> None:
    # An async generator abandoned mid-iteration warns on trio (an error under this suite's
    # warning filter); text_deltas() must not be one.
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            async with client.stream_chat("partial read") as stream:
                async for _ in stream.text_deltas():
                    break
            with anyio.fail_after(5):
                await emu.wait_streams_closed()


async def test_leaving_a_stalled_stream_is_prompt_and_frees_its_slot_at_once() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.stall(after_chunks=1))
            started = anyio.current_time()
            async with client.stream_chat("stall") as stream:
                async for _ in stream:
                    break
            assert anyio.current_time() - started < 2.0
            assert client.statistics().requests_in_flight == 0  # no await in between


async def test_a_slow_but_live_stream_outlasting_the_idle_timeout_completes() -> None:
    # 0.1 s between events, idle 0.4 s, several seconds in all: the idle timer must restart
    # at every event, not run from the start of the stream.
    with anyio.fail_after(30):
        async with emulated_client(EmulatorConfig(pacing=0.1), timeouts=Timeouts(idle=0.4)) as (
            _emu,
            client,
        ):
            started = anyio.current_time()
            async with client.stream_chat("slow but alive") as stream:
                result = await stream.final()
            assert anyio.current_time() - started > 1.0
    assert result.text == reply_for("slow but alive")


class _Body:
    """A body that streams a few events, then hangs, and whose close fails."""

    def __init__(self, payload: bytes = b"", events: int = 0) -> None:
        self._payload = payload
        self._events = events

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self._payload:
            yield self._payload
            return
        for _ in range(self._events):
            yield b'data: {"type":"content","body":"x"}\n\n'
            await anyio.sleep(0.01)
        await anyio.sleep(3600)

    async def aclose(self) -> None:
        if self._events:
            raise OSError("socket already gone")


class _FailingCloseTransport:
    """A transport of our own protocol (no httpx) whose streamed bodies fail to close."""

    async def send(self, request: Request) -> Response:
        json_type = {"content-type": "application/json"}
        if request.url.endswith("/chat/token"):
            return Response(200, json_type, _Body(b'{"token": "' + b"t" * 40 + b'"}'), request)
        if request.url.endswith("/threads"):
            return Response(201, json_type, _Body(b'{"thread_id": "th"}'), request)
        return Response(200, {"content-type": "text/event-stream"}, _Body(events=5), request)

    async def aclose(self) -> None:
        pass


async def test_a_failing_close_neither_leaks_the_slot_nor_hurts_other_streams() -> None:
    with anyio.fail_after(15):
        async with (
            CopilotClient(cookies=ALICE, transport=_FailingCloseTransport(), env={}) as client,
            client.stream_chat("other") as other,
        ):
            await other.__anext__()
            started = anyio.current_time()
            async with client.stream_chat("mine") as mine:
                async for _ in mine:
                    break
            assert anyio.current_time() - started < 2.0
            assert client.statistics().requests_in_flight == 1  # only `other`
            chunk = await other.__anext__()  # the other stream still reads
    assert chunk.text == "x"
