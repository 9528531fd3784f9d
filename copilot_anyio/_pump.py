"""The stream pump: response bytes → framing → ``SSEDecoder`` → a flavour's accumulator → chunks.

Theory of operation
-------------------
One ``Pump`` reads one streamed response. ``read()`` waits for the next piece of the body and
returns the chunks it completes (often several: one hand-over per read, not per event). When
the accumulator reports its terminal event, or the body ends, the pump is ``done`` and
``finish()`` gives the stream's result (or raises its ``IncompleteStreamError``). Every failure
is a ``StreamError`` (or ``EventTooLarge``) that carries the text and tool calls received so far.

The pump does not time itself. The idle timeout is enforced from outside, by whoever runs it:

* in ``ChatStream``, one ``IdleWatchdog`` per client watches every stream: a read costs a
  clock reading and a cancel scope without a deadline, which the watchdog cancels on a stall
  (no timer per read: a deadline per read cost 16–17 µs a chunk);
* inline (the facade, an async generator that must not hold a scope across a ``yield``),
  ``read_within`` bounds each read by the time left.

Keep-alive comments do not count as activity: a stream is idle until an event yields a chunk.
"""

from __future__ import annotations

import heapq
import itertools
from contextlib import suppress
from typing import Any, Final, Generic, Protocol, TypeVar, cast

import anyio

from ._errors import (
    EventTooLarge,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
    TransportError,
)
from ._http import Response
from ._lenient import SingleNewlineFraming
from ._sse import SSEDecoder
from ._transport import CLOSE_GRACE, close_response

__all__ = ["Accumulator", "IdleWatchdog", "Pump", "Watch", "annotate", "collect"]

ChunkT = TypeVar("ChunkT")
ResultT = TypeVar("ResultT")
ChunkT_co = TypeVar("ChunkT_co", covariant=True)
ResultT_co = TypeVar("ResultT_co", covariant=True)

#: How long the pump reads on after the terminal event so the connection can be reused.
DRAIN_GRACE: Final = 1.0


class Accumulator(Protocol[ChunkT_co, ResultT_co]):
    """A flavour's reading of one reply: events in, chunks out, one result at the end."""

    @property
    def completed(self) -> bool:
        """The terminal event has been seen: nothing after it matters."""
        ...

    @property
    def partial_text(self) -> str:
        """Every text delta so far, joined."""
        ...

    def feed(self, data: str) -> ChunkT_co | None:
        """One event's data; the chunk for the caller, or None for an event that has none.

        Raises StreamServerError for an error the server reports inside the stream.
        """
        ...

    def finish(self) -> ResultT_co:
        """The result, at the terminal event or at the end of the body.

        Raises IncompleteStreamError when the body ended before the reply was whole.
        """
        ...


def annotate(error: StreamError | EventTooLarge, accumulator: Accumulator[Any, Any]) -> None:
    """Attach what arrived before ``error`` to it (text, and tool calls where the flavour has them)."""
    error.partial_text = accumulator.partial_text
    calls = getattr(accumulator, "partial_tool_calls", None)
    if calls is not None:
        error.partial_tool_calls = calls  # type: ignore[union-attr]


class Pump(Generic[ChunkT, ResultT]):
    """Reads one streamed response into chunks. See the module docstring."""

    __slots__ = (
        "_decoder",
        "_failure",
        "_framing",
        "accumulator",
        "body",
        "done",
        "last_activity",
        "pending",
        "response",
    )

    def __init__(
        self,
        response: Response,
        accumulator: Accumulator[ChunkT, ResultT],
        *,
        max_event_size: int,
    ) -> None:
        self.response = response
        self._failure: StreamError | EventTooLarge | None = None
        #: the body's iterator (``ChatStream`` awaits it directly, as ``read`` does)
        self.body = aiter(response.stream)
        #: chunks read ahead by whoever opened the stream, to be handed over first
        self.pending: list[ChunkT] = []
        self._decoder = SSEDecoder(max_event_size=max_event_size)
        self._framing = SingleNewlineFraming()
        self.accumulator = accumulator
        #: the terminal event was seen, or the body ended
        self.done = False
        #: when the last chunk was produced (``anyio.current_time``): the idle clock
        self.last_activity = anyio.current_time()

    async def read(self) -> list[ChunkT]:
        """The chunks of the next piece of the body (maybe none). Only while not ``done``."""
        self.raise_failure()
        broken: TransportError | None = None
        try:
            data = await anext(self.body)
        except StopAsyncIteration:
            data = b""
        except TransportError as exc:
            broken = exc
        if broken is not None:
            raise self.interrupted(broken)
        return self.received(data)

    def raise_failure(self) -> None:
        """Raise the error the last read found after its chunks, if any (before reading on)."""
        failure = self._failure
        if failure is not None:
            self._failure = None
            raise failure

    def interrupted(self, broken: TransportError) -> StreamInterruptedError:
        """The error for a body whose connection broke (with what arrived before it)."""
        error = StreamInterruptedError(f"the connection broke mid-stream: {broken}")
        annotate(error, self.accumulator)  # the text and any tool calls begun
        return error

    def received(self, data: bytes) -> list[ChunkT]:
        """``feed`` for a piece just read: a piece that brought chunks is activity."""
        chunks = self.feed(data)
        if chunks:
            self.last_activity = anyio.current_time()
        return chunks

    def feed(self, data: bytes) -> list[ChunkT]:
        """The chunks ``data`` completes; ``b""`` is the end of the body."""
        accumulator = self.accumulator
        chunks: list[ChunkT] = []
        try:
            if data:
                events = self._decoder.feed(self._framing.feed(data))
            else:
                # Lenient at the end: a last line the server did not terminate still counts
                # (a line cut short is not valid JSON and is skipped anyway).
                events = self._decoder.feed(b"\n\n") + self._decoder.feed_eof()
            for event in events:
                chunk = accumulator.feed(event.data)
                if chunk is not None:
                    chunks.append(chunk)
                if accumulator.completed:
                    self.done = True
                    break
        except (StreamError, EventTooLarge) as exc:
            annotate(exc, accumulator)
            if not chunks:
                raise
            # The same read brought chunks before the error: they go to the caller first, and
            # the error with the next read, so iterating sees every delta ``partial_text`` has.
            self._failure = exc
            return chunks
        if not data:
            self.done = True
        return chunks

    def finish(self) -> ResultT:
        """The stream's result once ``done`` (raises its IncompleteStreamError)."""
        try:
            return self.accumulator.finish()
        except StreamError as exc:
            annotate(exc, self.accumulator)
            raise

    async def read_within(self, idle: float) -> list[ChunkT]:
        """``read()``, failing with StreamStalledError once ``idle`` seconds pass without a chunk."""
        with anyio.move_on_after(self.last_activity + idle - anyio.current_time()):
            return await self.read()
        stalled = StreamStalledError(f"no event for {idle} s")
        annotate(stalled, self.accumulator)
        raise stalled

    async def aclose(self) -> None:
        """Close the response, and first the body's iterator where that is an object of its own
        (a transport whose ``__aiter__`` returns an async generator): left suspended, it would
        be finalised by the garbage collector instead."""
        body = self.body
        try:
            if body is not cast(object, self.response.stream):
                closer = getattr(body, "aclose", None)
                if closer is not None:
                    with anyio.move_on_after(CLOSE_GRACE, shield=True), suppress(Exception):
                        await closer()
        finally:
            await close_response(self.response)

    async def drain(self) -> None:
        """Read what follows the terminal event until the body ends (briefly, then give up).

        Reaching the end lets the connection return to the pool instead of being torn down.
        """
        if getattr(self.body, "at_end", False):
            # The end came with the terminal event: nothing to wait for, so no timeout.
            await self._read_to_end()
            return
        with anyio.move_on_after(DRAIN_GRACE):
            await self._read_to_end()

    async def _read_to_end(self) -> None:
        try:
            async for _ in self.body:
                pass
        except TransportError:
            pass


async def collect(pump: Pump[Any, ResultT], idle: float) -> ResultT:
    """Read a whole stream inline and return its result (``read_within`` per read)."""
    while not pump.done:
        await pump.read_within(idle)
    result = pump.finish()
    await pump.drain()
    return result


class Watch:
    """One stream under an ``IdleWatchdog``: its reader sets ``scope`` to the scope of each
    read (left behind, exited, between reads: cancelling it then does nothing) and calls
    ``release`` when the stream is finished."""

    __slots__ = ("done", "idle", "pump", "scope")

    def __init__(self, pump: Pump[Any, Any], idle: float) -> None:
        self.pump: Pump[Any, Any] | None = pump
        self.idle = idle
        #: the scope of the read in progress (or of the last one), cancelled on a stall
        self.scope: anyio.CancelScope | None = None
        self.done = False

    def release(self) -> None:
        """The stream is finished: the watchdog drops it at its next look, and meanwhile
        holds nothing of it (its pump holds the text)."""
        self.done = True
        self.pump = None
        self.scope = None


class IdleWatchdog:
    """Cancels a stream's read once its pump has produced nothing for its idle timeout.

    One per client, running in the client's task group (``run``); streams register with
    ``watch``. It keeps a heap of next-check times and wakes only when one is due, so an
    active stream costs a clock reading per read and a heap operation per idle period.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._counter = itertools.count()
        self._wake = anyio.Event()

    def __repr__(self) -> str:
        return f"<IdleWatchdog watching {len(self._heap)}>"

    def watch(self, pump: Pump[Any, Any], idle: float) -> Watch:
        """Watch ``pump`` until the returned watch's ``done`` is set; on a stall the scope of
        the read in progress is cancelled. (No context manager: a generator and its bound
        ``__exit__`` would live as long as the stream.)"""
        watch = Watch(pump, idle)
        due = anyio.current_time() + idle
        heap = self._heap
        first = not heap or due < heap[0][0]
        heapq.heappush(heap, (due, next(self._counter), watch))
        if first:
            self._wake.set()
        return watch

    async def run(self) -> None:
        """Check streams as their idle deadlines come, until cancelled."""
        heap = self._heap
        while True:
            if not heap:
                await self._wake.wait()
                self._wake = anyio.Event()
                continue
            now = anyio.current_time()
            due, _, watch = heap[0]
            if due > now:
                with anyio.move_on_after(due - now):
                    await self._wake.wait()
                if self._wake.is_set():
                    self._wake = anyio.Event()
                continue
            heapq.heappop(heap)
            pump = watch.pump
            if watch.done or pump is None:
                continue
            # A caller busy with its chunks is not waiting for the server: its next read
            # restarts the clock (``last_activity``), and meanwhile no read's scope is live.
            deadline = pump.last_activity + watch.idle
            if deadline <= now:
                if watch.scope is not None:
                    watch.scope.cancel()
                # Watched on: a read that finished just before the cancel leaves the stream open.
                deadline = now + watch.idle
            heapq.heappush(heap, (deadline, next(self._counter), watch))
