"""``ChatStream``: one streamed reply, read by a task of the client and handed over through a
bounded memory object stream.

Why a reader task and a memory stream, rather than an async generator over the socket: the
reader's idle timeout is a cancel scope, and the caller's loop body is arbitrary code. Running the
reader in the *client's* task group means no cancel scope wraps the caller's ``async for`` body,
so the stream is safe to iterate from anywhere, including from an async generator. The memory
stream is bounded, so a slow consumer stalls the reader, which stops reading the socket, and TCP
pushes back on the server. The reader hands over what one read of the body completed (a list of
chunks) as one item: one hand-over per read, not per event.

``ChatStream`` is generic over the flavour: its opener sends the request and returns a ``Pump``
over the response and the flavour's accumulator (``_pump.Accumulator``), possibly holding chunks
it read ahead (a ``/responses`` stream is read up to its first output before it is handed over,
so that an early failure can be retried); the reader does the rest.

Every stream ends in exactly one outcome, delivered in order after the last chunk: the result or
a typed error. Leaving the ``async with`` at any point (break, exception, cancellation) cancels
the reader, which closes the HTTP response before ``__aexit__`` returns.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar, final

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import (
    MemoryObjectReceiveStream,
    MemoryObjectSendStream,
    MemoryObjectStreamStatistics,
)

from ._errors import (
    CopilotError,
    LocalProtocolError,
    StreamInterruptedError,
    StreamStalledError,
    TransportError,
    UsageError,
)
from ._models import ChatChunk, ChatResult
from ._pump import IdleWatchdog, Pump, annotate
from ._transport import CLOSE_GRACE, close_response

if TYPE_CHECKING:
    from typing import Self

__all__ = ["ChatStream"]

#: What ``__aexit__`` waits at most for the reader to finish closing the response.
_READER_EXIT_GRACE: Final = CLOSE_GRACE + 1.0
#: How long leaving a completed stream waits for the end of its body (connection reuse).
_DRAIN_WAIT: Final = 0.25


ChunkT = TypeVar("ChunkT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class _Done(Generic[ResultT]):
    result: ResultT


@dataclass(frozen=True, slots=True)
class _Failed:
    error: CopilotError


Opener = Callable[[], Awaitable[Pump[ChunkT, ResultT]]]


def chunk_text(chunk: Any) -> str:
    """The text delta of a chunk that has a ``text`` attribute (web and chat-completion chunks)."""
    return str(chunk.text or "")


@final
class ChatStream(Generic[ChunkT, ResultT]):
    """A streamed reply. Use as ``async with ... as stream: async for chunk in stream``.

    Entering sends the request (and waits for the response headers); HTTP errors are raised
    there, as typed ``APIStatusError`` subclasses. Iterating yields the flavour's chunks
    (``ChatChunk`` for the web flavour); the loop ends when the reply is complete, or raises the
    stream's error (a ``StreamError`` carrying ``partial_text``, or ``EventTooLarge``). Leaving
    the block early closes the HTTP response and leaves no task behind. A stream can be entered
    once.
    """

    def __init__(
        self,
        *,
        task_group: TaskGroup,
        watchdog: IdleWatchdog,
        limiter: anyio.CapacityLimiter,
        opener: Opener[ChunkT, ResultT],
        on_complete: Callable[[ResultT], None],
        buffer: int,
        idle: float,
        text_of: Callable[[ChunkT], str] = chunk_text,
    ) -> None:
        self._tg = task_group
        self._watchdog = watchdog
        self._limiter = limiter
        #: dropped once it has opened the stream (a closure with its cells, per stream)
        self._opener: Opener[ChunkT, ResultT] | None = opener
        self._on_complete = on_complete
        self._buffer = buffer
        self._idle = idle
        self.text_of = text_of
        self._state = "new"
        self._receive: MemoryObjectReceiveStream[list[ChunkT] | _Done[ResultT] | _Failed] | None
        self._receive = None
        self._batch: Sequence[ChunkT] = ()
        #: set by a consumer that found nothing to receive: the reader wakes it (``_wake``)
        self._parked: anyio.Event | None = None
        #: hand-overs (and the end) the reader announced that the consumer has not taken: while
        #: it is 0 the consumer parks without trying the buffer (no WouldBlock raised per read).
        #: It may run one behind while a blocked ``send`` completes; the reader then wakes us.
        self._ready = 0
        self._next = 0
        self._reader_scope = anyio.CancelScope()
        #: the reader task was started and has not finished
        self._reader_live = False
        #: made only when ``aclose`` has to wait for a live reader
        self._reader_done: anyio.Event | None = None
        self._result: ResultT | None = None
        self._error: CopilotError | None = None
        self._chunks = 0
        self._started = 0.0
        #: when each read that completed chunks arrived (one clock reading per read); an
        #: array of doubles, which the garbage collector does not track
        self._arrivals = array("d")

    def __repr__(self) -> str:
        return f"<ChatStream {self._state}, {self._chunks} chunks>"

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise UsageError("a ChatStream can be entered only once")
        self._state = "opening"
        self._started = anyio.current_time()
        await self._limiter.acquire_on_behalf_of(self)
        opener, self._opener = self._opener, None
        assert opener is not None
        try:
            pump = await opener()
        except BaseException:
            self._state = "closed"
            self._limiter.release_on_behalf_of(self)
            raise
        del opener
        send, self._receive = anyio.create_memory_object_stream[
            list[ChunkT] | _Done[ResultT] | _Failed
        ](self._buffer)
        self._reader_live = True
        try:
            self._tg.start_soon(self._read, pump, send)
        except BaseException:
            # the client is shutting down: undo what the reader would have owned
            self._reader_live = False
            send.close()
            self._receive.close()
            await close_response(pump.response)
            self._limiter.release_on_behalf_of(self)
            self._state = "closed"
            raise
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading, close the HTTP response and wait (briefly) for the reader to finish."""
        if self._state in ("new", "closed"):
            self._state = "closed"
            return
        self._state = "closed"
        if self._result is not None and self._reader_live:
            # Complete: the reader is only reading the end of the body so that the connection
            # can be reused. Let it, briefly, rather than tear the connection down.
            with anyio.move_on_after(_DRAIN_WAIT):
                await self._reader_finished().wait()
        self._reader_scope.cancel()
        if self._receive is not None:
            self._receive.close()
        if self._reader_live:
            with anyio.move_on_after(_READER_EXIT_GRACE, shield=True):
                await self._reader_finished().wait()

    def _reader_finished(self) -> anyio.Event:
        """The event the reader sets as it finishes (made on demand: most streams never wait)."""
        done = self._reader_done
        if done is None:
            done = self._reader_done = anyio.Event()
        return done

    async def _read(
        self,
        pump: Pump[ChunkT, ResultT],
        send: MemoryObjectSendStream[list[ChunkT] | _Done[ResultT] | _Failed],
    ) -> None:
        # Runs in the client's task group: it must never raise, or every conversation dies.
        scope = self._reader_scope
        watch = self._watchdog.watch(pump, self._idle, scope)
        try:
            outcome: _Failed | None = None
            accumulator = pump.accumulator
            with scope:
                try:
                    arrivals = self._arrivals
                    if pump.pending:
                        ahead, pump.pending = pump.pending, []
                        arrivals.append(pump.last_activity)
                        await send.send(ahead)
                        self._wake()
                    body = pump.body
                    while not pump.done:
                        # ``Pump.read`` inline: one coroutine less per read (and per idle stream)
                        pump.raise_failure()
                        broken: TransportError | None = None
                        try:
                            data = await anext(body)
                        except StopAsyncIteration:
                            data = b""
                        except TransportError as exc:
                            broken = exc
                        if broken is not None:
                            raise pump.interrupted(broken)
                        chunks = pump.received(data)
                        if chunks:
                            arrivals.append(pump.last_activity)
                            # Straight to a waiting consumer (or into the buffer): no
                            # checkpoint and no second clock reading. Only a full buffer
                            # makes the reader wait, paused for the watchdog.
                            try:
                                send.send_nowait(chunks)
                            except anyio.WouldBlock:
                                watch.paused = True
                                await send.send(chunks)
                                watch.paused = False
                                pump.last_activity = anyio.current_time()
                            self._wake()
                    result = pump.finish()
                    # The outcome goes out at once; the pump then reads on to the end of
                    # the body (briefly) so the connection can be reused.
                    self._on_complete(result)
                    outcome_item = _Done(result)
                    try:
                        send.send_nowait(outcome_item)
                    except anyio.WouldBlock:
                        watch.paused = True  # a slow consumer still holds the buffer full
                        await send.send(outcome_item)
                        watch.paused = False
                        pump.last_activity = anyio.current_time()
                    self._wake()
                    await pump.drain()
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    pass  # the consumer has left
                except CopilotError as exc:
                    outcome = _Failed(exc)
                except Exception as exc:  # a bug of ours; report it on this stream only
                    error = LocalProtocolError(f"internal error while reading the stream: {exc!r}")
                    error.__cause__ = exc
                    outcome = _Failed(error)
            watch.done = True
            if watch.stalled and outcome is None:
                stalled = StreamStalledError(f"no event for {self._idle} s")
                annotate(stalled, accumulator)  # the text and any tool calls begun
                outcome = _Failed(stalled)
            if outcome is not None:
                with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await send.send(outcome)
                    self._wake()
        finally:
            watch.done = True
            send.close()
            self._wake()  # the send stream is closed: a parked consumer meets its end
            try:
                await close_response(pump.response)
            finally:
                self._limiter.release_on_behalf_of(self)
                self._reader_live = False
                done = self._reader_done
                if done is not None:
                    done.set()

    def _wake(self) -> None:
        """Wake a parked consumer: something was handed over (wake only after it is in the
        buffer, or the consumer could park again before it), or nothing more will be."""
        self._ready += 1
        parked = self._parked
        if parked is not None:
            self._parked = None
            parked.set()

    # --- consuming -------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChunkT:
        batch = self._batch
        if self._next < len(batch):
            chunk = batch[self._next]
            self._next += 1
            self._chunks += 1
            return chunk
        if self._error is not None:
            raise self._error
        if self._result is not None:
            raise StopAsyncIteration
        if self._state != "open" or self._receive is None:
            raise UsageError(
                "iterate a ChatStream inside its `async with` block (e.g. `async with "
                "client.chat.completions.stream(...) as stream:`)"
            )
        receive = self._receive
        try:
            if not self._buffer:
                # Unbuffered: the reader waits for a receiver inside ``receive()``.
                item = await receive.receive()
            else:
                item = None
                if self._ready > 0:
                    try:
                        item = receive.receive_nowait()
                    except anyio.WouldBlock:
                        item = None
                if item is None:
                    # Park on one event until the reader wakes us, rather than wait inside
                    # ``receive()``: its waiter, receiver record, task info and WouldBlock would
                    # live across every gap between reads. The reader wakes us once an item is
                    # in the buffer (or at its end); ``receive()`` stays the general path.
                    # (Waited for outside the ``except``: there the WouldBlock, its traceback
                    # and a frame would stay alive for the whole wait.)
                    parked = self._parked = anyio.Event()
                    await parked.wait()
                    del parked
                    try:
                        item = receive.receive_nowait()
                    except anyio.WouldBlock:
                        item = None
                    if item is None:
                        item = await receive.receive()
        except anyio.EndOfStream:
            self._error = StreamInterruptedError(
                "the stream ended without an outcome (was the client closed?)"
            )
            raise self._error from None
        self._ready -= 1
        if isinstance(item, list):
            self._batch = item
            self._next = 1
            self._chunks += 1
            return item[0]
        if isinstance(item, _Done):
            self._result = item.result
            raise StopAsyncIteration
        assert item is not None
        self._error = item.error
        raise self._error

    def text_deltas(self) -> AsyncIterator[str]:
        """Only the text: each non-empty text delta, in order.

        A plain iterator over this stream (not an async generator), so breaking out of it
        leaves nothing to finalise; the stream's outcome is raised or stored as usual.
        """
        return _TextDeltas(self)

    async def final(self) -> ResultT:
        """Read the rest of the stream and return the finished reply (or raise its error)."""
        async for _ in self:
            pass
        if self._result is None:  # pragma: no cover - __anext__ raises first
            raise UsageError("the stream has no result")
        return self._result

    @property
    def result(self) -> ResultT | None:
        """The finished reply once the stream completed, else None."""
        return self._result

    @property
    def error(self) -> CopilotError | None:
        """The stream's error once it failed, else None."""
        return self._error

    @property
    def timing(self) -> StreamTiming:
        """Time to the first chunk and the gaps between reads that brought chunks (so far)."""
        arrivals = self._arrivals
        gaps = sorted(b - a for a, b in itertools.pairwise(arrivals))
        return StreamTiming(
            time_to_first_token=arrivals[0] - self._started if arrivals else None,
            inter_token_p50=_percentile(gaps, 0.50),
            inter_token_p95=_percentile(gaps, 0.95),
        )

    def statistics(self) -> MemoryObjectStreamStatistics:
        """The hand-over buffer's statistics (how many reads' chunks wait for the consumer)."""
        if self._receive is None:
            raise UsageError("the stream is not open")
        return self._receive.statistics()


@final
@dataclass(frozen=True, slots=True)
class StreamTiming:
    """How a stream arrived, in seconds (None until there is something to measure).

    Attributes:
        time_to_first_token: from entering the stream (the request being sent) to the first
            chunk's arrival.
        inter_token_p50, inter_token_p95: the median and 95th percentile gap between two reads
            of the socket that brought chunks (a read may bring several).
    """

    time_to_first_token: float | None
    inter_token_p50: float | None
    inter_token_p95: float | None


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@final
class _TextDeltas:
    __slots__ = ("_stream",)

    def __init__(self, stream: ChatStream[Any, Any]) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextDeltas:
        return self

    async def __anext__(self) -> str:
        stream = self._stream
        while True:
            text = stream.text_of(await stream.__anext__())
            if text:
                return text


#: The web flavour's stream.
WebChatStream = ChatStream[ChatChunk, ChatResult]
