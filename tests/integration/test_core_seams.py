"""The core's seams over real sockets: the send loop, the idle watchdog, shared facade tokens,
cookies that are never kept, redirects that are never followed, ids that stay one segment."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import anyio
import pytest

from copilot_anyio import (
    APIStatusError,
    CopilotClient,
    CopilotError,
    GithubCopilot,
    NotFoundError,
    RemoteProtocolError,
    StreamInterruptedError,
    StreamServerError,
    Timeouts,
    UnexpectedResponseError,
    UsageError,
)
from copilot_anyio._http import Request, Response
from copilot_anyio._retry import RetryPolicy
from copilot_anyio._send import Sender
from copilot_anyio.emulator import EmulatorConfig, reply_for, serve_emulator

from ._raw_http import RawServer, Seen, json_reply, raw_server, sse_reply
from ._support import ALICE, emulated_client

pytestmark = pytest.mark.anyio


_json = json_reply
_sse = sse_reply


async def _web_routes(request: Seen) -> bytes:
    planted = "set-cookie: planted=evil; Path=/"
    if request.path.endswith("/chat/token"):
        return _json("200 OK", '{"token": "' + "t" * 40 + '"}', planted)
    if request.path.endswith("/threads"):
        return _json("201 Created", '{"thread_id": "t1"}', planted)
    return _sse('{"type":"content","body":"hi"}', '{"type":"complete","id":"m1"}')


def _streaming(
    message: Callable[[], bytes | AsyncGenerator[bytes, None]],
) -> Callable[[Seen], Awaitable[bytes | AsyncGenerator[bytes, None]]]:
    """The web routes, with each message answered by what ``message()`` gives: bytes sent at
    once, or an async generator's pieces sent as it goes."""

    async def routes(request: Seen) -> bytes | AsyncGenerator[bytes, None]:
        if request.path.endswith("/messages"):
            return message()
        return await _web_routes(request)

    return routes


def _client_on(server: RawServer, **options: Any) -> CopilotClient:
    """A client signed in with ALICE's cookies whose hosts are all ``server``."""
    return CopilotClient(
        **options,
        cookies=ALICE,
        github_url=server.url,
        api_url=server.url,
        github_api_url=server.url,
        env={},
    )


# --- tests ---------------------------------------------------------------------------------------


async def test_set_cookie_is_never_stored_or_replayed() -> None:
    with anyio.fail_after(10):
        async with raw_server(_web_routes) as server:
            async with _client_on(server) as client:
                for _ in range(2):
                    assert (await client.chat("hello")).text == "hi"
    token, *api = server.seen
    assert token.path.endswith("/chat/token")
    assert token.headers["cookie"] == "user_session=alice-session"
    assert len(api) == 4  # two threads, two messages
    # One host serves both: the API requests carry no cookie at all, planted or configured.
    assert all("cookie" not in seen.headers for seen in api)


async def test_a_redirect_is_a_typed_error_and_is_never_followed() -> None:
    async with raw_server(_web_routes) as elsewhere:

        async def redirect(request: Seen) -> bytes:
            if request.path.endswith("/chat/token"):
                return await _web_routes(request)
            return _json("302 Found", "{}", f"location: {elsewhere.url}/github/chat/threads")

        with anyio.fail_after(10):
            async with raw_server(redirect) as server:
                async with _client_on(server) as client:
                    with pytest.raises(APIStatusError) as info:
                        await client.chat("hello")
    assert info.value.status_code == 302
    assert elsewhere.seen == []  # the credential never went to the other host


async def test_a_slow_consumer_is_not_an_idle_server() -> None:
    # The idle timeout measures the server; a consumer that takes longer than it between
    # chunks (so the reader waits to hand over) must not turn into StreamStalledError.
    prompt = "slow reader"
    with anyio.fail_after(20):
        async with emulated_client(EmulatorConfig(chunk_size=8), timeouts=Timeouts(idle=0.3)) as (
            _emu,
            client,
        ):
            pieces = []
            async with client.threads.stream(prompt) as stream:
                async for chunk in stream:
                    pieces.append(chunk.text)
                    if len(pieces) < 4:
                        await anyio.sleep(0.5)
            assert stream.result is not None
    assert "".join(pieces) == reply_for(prompt)


async def test_facade_calls_of_one_loop_share_one_web_token() -> None:
    with anyio.fail_after(30):
        async with serve_emulator() as emu:
            options: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}

            async def ask(n: int) -> None:
                messages = [{"role": "user", "content": f"q{n}"}]
                async with aclosing(
                    GithubCopilot.create_async_generator(
                        "gpt-4o", messages, stream=True, cookies=ALICE, **options
                    )
                ) as pieces:
                    text = "".join([p async for p in pieces if isinstance(p, str)])
                assert text == reply_for(f"q{n}")

            async with anyio.create_task_group() as tg:
                for n in range(20):
                    tg.start_soon(ask, n)
            assert emu.stats.web_tokens_issued == 1


@pytest.mark.parametrize("suffix", ["#x", "?x=1", "/../other", "%2F"])
async def test_a_thread_id_is_one_path_segment(suffix: str) -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (_emu, client):
            thread = await client.threads.new()
            assert thread.id is not None
            with pytest.raises(NotFoundError):
                await client.threads.delete(thread.id + suffix)
            assert thread.id in [info.id for info in await client.threads.list()]


@pytest.mark.parametrize("bad", ["", ".", ".."])
async def test_an_id_that_cannot_be_a_segment_is_refused_before_sending(bad: str) -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            before = len(emu.stats.request_log)
            with pytest.raises(UsageError):
                await client.threads.delete(bad)
            with pytest.raises(UsageError):
                client.threads(bad)
            assert len(emu.stats.request_log) == before


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            _json(
                "200 OK", "<!DOCTYPE html><html><head><title>Sign in to GitHub</title></head>"
            ).replace(b"application/json", b"text/html; charset=utf-8"),
            ("text/html", "Sign in to GitHub"),
        ),
        (
            _json("200 OK", '{"error": {"message": "model is not enabled", "code": "x"}}'),
            ("application/json", "model is not enabled"),
        ),
        (_json("200 OK", ""), ("application/json", "an empty body")),
    ],
    ids=["login-page", "json-error", "empty"],
)
async def test_a_success_that_is_not_a_stream_is_a_typed_error(
    reply: bytes, expected: tuple[str, str]
) -> None:
    with anyio.fail_after(10):
        async with raw_server(_streaming(lambda: reply)) as server:
            async with _client_on(server) as client:
                with pytest.raises(UnexpectedResponseError) as info:
                    async with client.threads.stream("hello") as stream:
                        await stream.final()
    content_type, words = expected
    assert info.value.status_code == 200
    assert info.value.content_type.startswith(content_type)
    assert words in str(info.value)
    assert "messages" in str(info.value)


async def test_raw_control_characters_in_an_event_are_read_not_dropped() -> None:
    routes = _streaming(
        lambda: _sse(
            '{"type":"content","body":"a\tb"}',
            '{"type":"content","body":"c\x01d"}',
            '{"type":"complete","id":"m1"}',
        )
    )

    with anyio.fail_after(10):
        async with raw_server(routes) as server:
            async with _client_on(server) as client:
                async with client.threads.stream("hello") as stream:
                    result = await stream.final()
    assert result.text == "a\tbc\x01d"


@pytest.mark.parametrize(
    ("options", "place"),
    [
        ({"proxy": "not a url"}, "proxy"),
        ({"proxy": "ftp://127.0.0.1:21"}, "proxy"),
        ({"max_event_size": 0}, "max_event_size"),
        ({"timeouts": 5}, "timeouts"),
        ({"limits": {"max_concurrent_requests": 5}}, "limits"),
        ({"model": ""}, "model"),
        ({"web_token_ttl": -1}, "web_token_ttl"),
    ],
)
def test_client_options_are_checked_when_given(options: dict[str, Any], place: str) -> None:
    with pytest.raises(UsageError, match=place):
        CopilotClient(cookies=ALICE, env={}, **options)


@pytest.mark.parametrize(
    ("call", "place"),
    [
        (lambda client: client.threads.stream(42), "prompt"),
        (lambda client: client.threads.stream(""), "prompt"),
        (lambda client: client.threads.stream("hi", model=7), "model"),
        (lambda client: client.threads.send(None), "prompt"),
    ],
    ids=["stream-int", "stream-empty", "stream-model", "send-none"],
)
async def test_calls_are_checked_before_a_thread_is_created(
    call: Callable[[CopilotClient], Any], place: str
) -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            before = len(emu.stats.request_log)
            with pytest.raises(UsageError, match=place):
                result = call(client)
                if hasattr(result, "__aenter__"):
                    async with result:
                        pass
                else:
                    await result
            assert len(emu.stats.request_log) == before
            assert emu.threads() == []


@pytest.mark.parametrize(
    ("arguments", "place"),
    [
        ({"messages": "hello"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, r"messages\[0\]\.role"),
        ({"messages": [{"role": "user", "content": 5}]}, r"messages\[0\]\.content"),
        (
            {"messages": [{"role": "user", "content": "a"}, {"content": [{"text": 1}]}]},
            r"messages\[1\]\.content\[0\]\.text",
        ),
        ({"model": 3}, "model"),
        ({"proxy": "nope"}, "proxy"),
        ({"conversation_id": ".."}, "thread_id"),
        ({"timeouts": 30}, "timeouts"),
    ],
)
async def test_the_facade_checks_its_arguments_before_any_request(
    arguments: dict[str, Any], place: str
) -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            call: dict[str, Any] = {
                "model": "gpt-4o",
                "messages": [{"role": "user", "content": "hi"}],
                "cookies": ALICE,
                "github_url": emu.base_url,
                "api_url": emu.base_url,
            }
            call.update(arguments)
            with pytest.raises(UsageError, match=place):
                async with aclosing(GithubCopilot.create_async_generator(**call)) as pieces:
                    async for _ in pieces:
                        pass
            assert emu.stats.request_log == []


@pytest.mark.parametrize(
    "token", ["CANARYtok\\r\\nX-Injected: yes", "CANARYtok\\u00e9", "CANARY tok", "CANARY\\u0000"]
)
async def test_a_server_token_that_cannot_be_a_header_is_a_typed_error_without_it(
    token: str,
) -> None:
    async def routes(request: Seen) -> bytes:
        if request.path.endswith("/chat/token"):
            return _json("200 OK", '{"token": "' + token + '"}')
        return await _web_routes(request)

    with anyio.fail_after(10):
        async with raw_server(routes) as server:
            async with _client_on(server) as client:
                with pytest.raises(RemoteProtocolError, match="cannot be sent") as info:
                    await client.chat("hello")
    assert len(server.seen) == 1  # nothing was sent with it
    chain: BaseException | None = info.value
    while chain is not None:
        assert "CANARY" not in str(chain)
        assert "CANARY" not in repr(chain)
        chain = chain.__cause__ or chain.__context__


async def test_deltas_read_together_with_an_error_are_delivered_before_it() -> None:
    # One socket read brings two deltas and then the server's error: iterating must see both
    # deltas (as partial_text has them) before the error, not lose them with it.
    routes = _streaming(
        lambda: _sse(
            '{"type":"content","body":"a"}',
            '{"type":"content","body":"b"}',
            '{"type":"error","error":{"message":"boom"}}',
        )
    )

    seen: list[str] = []
    with anyio.fail_after(10):
        async with raw_server(routes) as server, _client_on(server) as client:
            with pytest.raises(StreamServerError) as info:
                async with client.threads.stream("hello") as stream:
                    async for text in stream.text_deltas():
                        seen.append(text)  # noqa: PERF401 - a comprehension loses them on error
    assert seen == ["a", "b"]
    assert info.value.partial_text == "ab"


async def test_a_consumer_that_stops_asking_stops_the_socket_being_read() -> None:
    # The server writes deltas as fast as the socket takes them. While the consumer holds its
    # first chunk, nothing reads the socket: once the kernel's buffers are full the server's
    # writes block (TCP pushes back), and the client holds no more than those buffers.
    delta = '{"type":"content","body":"' + "x" * 1000 + '"}'
    piece = f"data: {delta}\n\n".encode()
    framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent = 0

    async def endless() -> AsyncGenerator[bytes, None]:
        nonlocal sent
        yield (
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for _ in range(1_000_000):  # about 1 GB, were nothing to push back
            yield framed
            sent += len(framed)

    with anyio.fail_after(20):
        async with raw_server(_streaming(endless)) as server, _client_on(server) as client:
            async with client.threads.stream("hello") as stream:
                first = await stream.__anext__()
                await anyio.sleep(0.5)  # the buffers fill up
                held = sent
                await anyio.sleep(0.5)
                during_the_pause = sent - held
                more = [await stream.__anext__() for _ in range(1000)]
                after_the_pause = sent - held
    assert during_the_pause == 0
    assert held < 64 * 2**20  # socket buffers, not the whole reply
    assert after_the_pause > 0  # reading again let the server go on
    assert {chunk.text for chunk in [first, *more]} == {"x" * 1000}


async def test_an_open_stream_keeps_what_names_its_request_not_its_body() -> None:
    # A stream may stay open for minutes; its request body (on the IDE flavour, the whole
    # conversation history) is not kept alive with it. Errors and reprs still name the request.
    class Body(dict[str, str]):
        pass  # unlike a dict, it can be weakly referenced

    body = Body(prompt="x" * 100_000)
    sent: list[Request] = []

    class Streams:
        async def send(self, request: Request) -> Response:
            sent.append(request)
            return Response(
                200, {"content-type": "text/event-stream"}, _Empty(), request.with_headers({})
            )

        async def aclose(self) -> None:
            pass

    sender = Sender(Streams(), retry=RetryPolicy(), timeouts=Timeouts())
    response = await sender.open_stream(Request("POST", "http://127.0.0.1:1/x", json=body))
    gone = weakref.ref(body)
    del body
    sent.clear()
    assert gone() is None
    assert (response.request.method, response.request.url) == ("POST", "http://127.0.0.1:1/x")
    assert response.request.json is None


class _Empty:
    def __aiter__(self) -> _Empty:
        return self

    async def __anext__(self) -> bytes:
        raise StopAsyncIteration

    async def aclose(self) -> None:
        pass


def _event(payload: str) -> bytes:
    piece = f"data: {payload}\n\n".encode()
    return f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
)


async def test_a_finished_stream_left_under_cancellation_gives_its_place_back() -> None:
    # The reply is complete but its body's end is late (a separate TLS record, a slow proxy):
    # leaving the block while being cancelled must still close the response and free the
    # stream's place under max_concurrent_requests.
    async def held() -> AsyncGenerator[bytes, None]:
        yield _STREAM_HEAD + _event('{"type":"content","body":"hi"}')
        yield _event('{"type":"complete","id":"m1"}')
        await anyio.sleep(3600)  # the chunked terminator never comes

    with anyio.fail_after(10):
        async with raw_server(_streaming(held)) as server, _client_on(server) as client:
            with anyio.move_on_after(0.5) as scope:
                async with client.threads.stream("hello") as stream:
                    result = await stream.final()
                    await anyio.sleep(10)
            in_flight = client.statistics().requests_in_flight
    assert scope.cancelled_caught
    assert result.text == "hi"
    assert in_flight == 0


@pytest.mark.parametrize("http", ["lean", "httpx"])
async def test_a_step_cancelled_by_the_caller_never_reads_as_the_end_of_the_reply(
    http: str,
) -> None:
    # A caller's own timeout around one step, then it goes on iterating. The lean transport
    # resumes where it was; httpx cannot, and says so. Neither may end the stream as if the
    # server had stopped (IncompleteStreamError) or as complete.
    async def paced() -> AsyncGenerator[bytes, None]:
        yield _STREAM_HEAD
        for piece in ("a", "b", "c"):
            await anyio.sleep(0.3)
            yield _event('{"type":"content","body":"' + piece + '"}')
        yield _event('{"type":"complete","id":"m1"}') + b"0\r\n\r\n"

    texts: list[str] = []
    outcome: object = None
    with anyio.fail_after(10):
        async with raw_server(_streaming(paced)) as server:
            client = _client_on(server, http=http)
            async with client, client.threads.stream("hello") as stream:
                with anyio.move_on_after(0.1) as timed_out:
                    await stream.__anext__()
                try:
                    texts.extend([chunk.text async for chunk in stream])
                    outcome = stream.result
                except CopilotError as exc:
                    outcome = exc
    assert timed_out.cancelled_caught
    if http == "lean":
        assert "".join(texts) == "abc"
        assert outcome is not None
        assert not isinstance(outcome, CopilotError)
    else:
        assert isinstance(outcome, StreamInterruptedError)
        assert "cancelled" in str(outcome)


async def test_time_the_caller_spends_between_steps_is_not_server_idleness() -> None:
    # Deltas 0.9 s apart, an idle timeout of 0.6 s, a caller busy 0.7 s with each chunk: the
    # server is never silent for 0.6 s while the stream waits for it.
    async def paced() -> AsyncGenerator[bytes, None]:
        yield _STREAM_HEAD + _event('{"type":"content","body":"a"}')
        for piece in ("b", "c"):
            await anyio.sleep(0.9)
            yield _event('{"type":"content","body":"' + piece + '"}')
        yield _event('{"type":"complete","id":"m1"}') + b"0\r\n\r\n"

    texts: list[str] = []
    with anyio.fail_after(15):
        async with raw_server(_streaming(paced)) as server:
            client = _client_on(server, timeouts=Timeouts(idle=0.6))
            async with client, client.threads.stream("hello") as stream:
                async for chunk in stream:
                    texts.append(chunk.text)
                    await anyio.sleep(0.7)
    assert "".join(texts) == "abc"


async def test_a_second_task_reading_a_stream_is_refused_and_harms_nothing() -> None:
    async def paced() -> AsyncGenerator[bytes, None]:
        yield _STREAM_HEAD
        await anyio.sleep(0.3)
        yield _event('{"type":"content","body":"a"}')
        yield _event('{"type":"complete","id":"m1"}') + b"0\r\n\r\n"

    refused: list[UsageError] = []
    with anyio.fail_after(10):
        async with raw_server(_streaming(paced)) as server, _client_on(server) as client:
            async with client.threads.stream("hello") as stream:

                async def intruder() -> None:
                    await anyio.sleep(0.1)  # the first reader is waiting on the socket
                    try:
                        await stream.__anext__()
                    except UsageError as exc:
                        refused.append(exc)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(intruder)
                    result = await stream.final()
    assert [str(e) for e in refused] == [
        "a ChatStream is being read by another task: iterate it in one"
    ]
    assert result.text == "a"
