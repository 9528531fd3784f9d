"""2,000 concurrent streams through the lean transport, and 2,000 conversations through the
client, a tenth cancelled at random: afterwards no socket is open on either side, no task is
left, no request holds its place, and nothing warned (warnings are errors).

Not timed: it proves that nothing leaks under load, not how fast it goes.
"""

from __future__ import annotations

import random

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from copilot_anyio import CopilotClient, Limits
from copilot_anyio._http import Request
from copilot_anyio._transport import LeanTransport, close_response
from tests.integration.test_lean_transport import Seen, serve

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

STREAMS = 2_000
EVENTS = 5


async def sse(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
    await stream.send(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    for n in range(EVENTS):
        event = b'data: {"n": %d}\n\n' % n
        await stream.send(b"%x\r\n%s\r\n" % (len(event), event))
        await anyio.sleep(0.02)
    await stream.send(b"0\r\n\r\n")
    return True


async def test_two_thousand_streams_with_a_tenth_cancelled_leave_nothing_behind() -> None:
    rng = random.Random(2026)
    cancelled_ones = set(rng.sample(range(STREAMS), STREAMS // 10))
    finished: list[int] = []
    cancelled: list[int] = []
    tasks_before = len(anyio.get_running_tasks())
    with anyio.fail_after(60):
        async with serve(sse) as server:
            transport = await LeanTransport.open(
                tls=False, limits=Limits(max_concurrent_requests=STREAMS)
            )
            try:

                async def one(i: int, early: bool) -> None:
                    request = Request("POST", f"{server.url}/stream/{i}", json={"i": i})
                    with anyio.CancelScope() as scope:
                        if early:  # cancelled before (or just as) its response head arrives
                            scope.deadline = anyio.current_time() + rng.uniform(0, 0.01)
                        response = await transport.send(request)
                        try:
                            body = b""
                            async for data in response.stream:
                                body += data
                                if i in cancelled_ones and rng.random() < 0.5:
                                    scope.cancel()
                                    await (
                                        anyio.lowlevel.checkpoint()
                                    )  # the cancellation lands mid-body
                            assert body.count(b"data: ") == EVENTS
                            finished.append(i)
                        finally:
                            await close_response(response)
                    if scope.cancelled_caught and i not in finished:
                        cancelled.append(i)

                async with anyio.create_task_group() as tg:
                    for i in range(STREAMS):
                        tg.start_soon(one, i, i in cancelled_ones and rng.random() < 0.3)
                # Connections whose body ended are idle in the pool; the others are closed.
                assert transport.pool.open_connections == transport.pool.idle_connections
            finally:
                await transport.aclose()
            assert transport.pool.open_connections == 0
            await server.wait_closed(server.connections)
    assert len(finished) + len(cancelled) == STREAMS
    assert len(cancelled) > STREAMS // 40
    assert set(finished).isdisjoint(cancelled)
    assert len(anyio.get_running_tasks()) == tasks_before


async def web(stream: anyio.abc.ByteStream, seen: Seen) -> bool:
    """The web flavour's three routes: token, thread, and a streamed message."""
    path = seen.line.split(" ")[1]
    if path.endswith("/chat/token") or path.endswith("/threads"):
        body = b'{"token": "%s"}' % (b"t" * 40) if path.endswith("/token") else b'{"thread_id":"t"}'
        await stream.send(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        return True
    await stream.send(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    for n in range(EVENTS):
        event = b'data: {"type":"content","body":"%d"}\n\n' % n
        await stream.send(b"%x\r\n%s\r\n" % (len(event), event))
        await anyio.sleep(0.02)
    end = b'data: {"type":"complete","id":"m"}\n\n'
    await stream.send(b"%x\r\n%s\r\n" % (len(end), end))
    await anyio.sleep(0.05)  # the body's end comes in a read of its own
    await stream.send(b"0\r\n\r\n")
    return True


async def test_two_thousand_conversations_through_the_client_leave_nothing_behind() -> None:
    # The same through CopilotClient and ChatStream (each read in the task iterating it): a
    # tenth cancelled at random, before the reply, in the middle, or after it was complete.
    rng = random.Random(2027)
    chosen = set(rng.sample(range(STREAMS), STREAMS // 10))
    finished: list[int] = []
    cancelled: list[int] = []
    expected = "".join(str(n) for n in range(EVENTS))
    tasks_before = len(anyio.get_running_tasks())
    with anyio.fail_after(90):
        async with serve(web) as server:
            client = CopilotClient(
                cookies={"user_session": "load"},
                github_url=server.url,
                api_url=server.url,
                github_api_url=server.url,
                env={},
                limits=Limits(max_concurrent_requests=STREAMS),
            )
            async with client:

                async def one(i: int) -> None:
                    how = rng.choice(("early", "middle", "after")) if i in chosen else ""
                    with anyio.CancelScope() as scope:
                        if how == "early":
                            scope.deadline = anyio.current_time() + rng.uniform(0, 0.05)
                        async with client.threads.stream(f"conversation {i}") as stream:
                            texts = []
                            async for chunk in stream:
                                texts.append(chunk.text)
                                if how == "middle" and len(texts) == 2:
                                    scope.cancel()
                                    await anyio.lowlevel.checkpoint()
                            assert "".join(texts) == expected
                            finished.append(i)
                            if how == "after":  # leaving a complete stream while cancelled
                                scope.cancel()
                                await anyio.sleep(1)
                    if scope.cancelled_caught and i not in finished:
                        cancelled.append(i)

                async with anyio.create_task_group() as tg:
                    for i in range(STREAMS):
                        tg.start_soon(one, i)
                in_flight = client.statistics().requests_in_flight
            await server.wait_closed(server.connections)
    assert in_flight == 0
    assert len(finished) + len(cancelled) == STREAMS
    assert len(cancelled) > STREAMS // 40
    assert len(anyio.get_running_tasks()) == tasks_before
