"""2,000 concurrent streams through the lean transport, a tenth cancelled at random: afterwards
no socket is open on either side, no task is left, and nothing warned (warnings are errors).

Not timed: it proves that nothing leaks under load, not how fast it goes.
"""

from __future__ import annotations

import random

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from copilot_anyio import Limits
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
