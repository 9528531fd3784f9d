"""``ChatStream``: one streamed reply, read by a task of the client and handed over through a
bounded memory object stream.

Why a reader task and a memory stream, rather than an async generator over the socket: the
reader enforces the idle timeout with a cancel scope and must survive the caller's body being
arbitrary code. Running it in the *client's* task group means no cancel scope wraps the caller's
``async for`` body, so the stream is safe to iterate from anywhere, including from an async
generator (the ``GithubCopilot`` facade). The memory stream is bounded, so a slow consumer stalls
the reader, which stops reading the socket, and TCP pushes back on the server.

Every stream ends in exactly one outcome, delivered in order after the last chunk: a
``ChatResult`` or a typed error. Leaving the ``async with`` at any point (break, exception,
cancellation) cancels the reader, which closes the HTTP response before ``__aexit__`` returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, final

import anyio
import httpx
from anyio.abc import TaskGroup
from anyio.streams.memory import (
    MemoryObjectReceiveStream,
    MemoryObjectSendStream,
    MemoryObjectStreamStatistics,
)

from ._errors import CopilotError, LocalProtocolError, StreamInterruptedError, UsageError
from ._models import ChatChunk, ChatResult
from ._transport import CLOSE_GRACE, HTTPTransport
from ._web_session import iter_web_chunks
from ._web_wire import WebStreamAccumulator

if TYPE_CHECKING:
    from typing import Self

__all__ = ["ChatStream"]

#: What ``__aexit__`` waits at most for the reader to finish closing the response.
_READER_EXIT_GRACE: Final = CLOSE_GRACE + 1.0
#: How long leaving a completed stream waits for the end of its body (connection reuse).
_DRAIN_WAIT: Final = 0.25


@dataclass(frozen=True, slots=True)
class _Done:
    result: ChatResult


@dataclass(frozen=True, slots=True)
class _Failed:
    error: CopilotError


_Item = ChatChunk | _Done | _Failed
Opener = Callable[[], Awaitable[tuple[httpx.Response, WebStreamAccumulator]]]


@final
class ChatStream:
    """A streamed reply. Use as ``async with ... as stream: async for chunk in stream``.

    Entering sends the request (and waits for the response headers); HTTP errors are raised
    there, as typed ``APIStatusError`` subclasses. Iterating yields ``ChatChunk`` values; the
    loop ends when the reply is complete, or raises the stream's error (a ``StreamError``
    carrying ``partial_text``, or ``EventTooLarge``). Leaving the block early closes the HTTP
    response and leaves no task behind. A stream can be entered once.
    """

    def __init__(
        self,
        *,
        task_group: TaskGroup,
        transport: HTTPTransport,
        limiter: anyio.CapacityLimiter,
        opener: Opener,
        on_complete: Callable[[ChatResult], None],
        buffer: int,
        idle: float,
        max_event_size: int,
    ) -> None:
        self._tg = task_group
        self._transport = transport
        self._limiter = limiter
        self._opener = opener
        self._on_complete = on_complete
        self._buffer = buffer
        self._idle = idle
        self._max_event_size = max_event_size
        self._state = "new"
        self._receive: MemoryObjectReceiveStream[_Item] | None = None
        self._reader_scope = anyio.CancelScope()
        self._reader_done = anyio.Event()
        self._result: ChatResult | None = None
        self._error: CopilotError | None = None
        self._chunks = 0

    def __repr__(self) -> str:
        return f"<ChatStream {self._state}, {self._chunks} chunks>"

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise UsageError("a ChatStream can be entered only once")
        self._state = "opening"
        await self._limiter.acquire_on_behalf_of(self)
        try:
            response, accumulator = await self._opener()
        except BaseException:
            self._state = "closed"
            self._limiter.release_on_behalf_of(self)
            raise
        send, self._receive = anyio.create_memory_object_stream[_Item](self._buffer)
        try:
            self._tg.start_soon(self._read, response, accumulator, send)
        except BaseException:
            # the client is shutting down: undo what the reader would have owned
            send.close()
            self._receive.close()
            await self._transport.close(response)
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
        if self._result is not None:
            # Complete: the reader is only reading the end of the body so that the connection
            # can be reused. Let it, briefly, rather than tear the connection down.
            with anyio.move_on_after(_DRAIN_WAIT):
                await self._reader_done.wait()
        self._reader_scope.cancel()
        if self._receive is not None:
            self._receive.close()
        with anyio.move_on_after(_READER_EXIT_GRACE, shield=True):
            await self._reader_done.wait()

    async def _read(
        self,
        response: httpx.Response,
        accumulator: WebStreamAccumulator,
        send: MemoryObjectSendStream[_Item],
    ) -> None:
        # Runs in the client's task group: it must never raise, or every conversation dies.
        try:
            with self._reader_scope, send:
                outcome: _Done | _Failed
                try:
                    async with aclosing(
                        iter_web_chunks(
                            response,
                            accumulator,
                            idle=self._idle,
                            max_event_size=self._max_event_size,
                        )
                    ) as chunks:
                        async for chunk in chunks:
                            await send.send(chunk)
                            if accumulator.completed:
                                # The outcome goes out at once; the generator then reads on
                                # to the end of the body (briefly) so the connection is reused.
                                result = accumulator.result()
                                self._on_complete(result)
                                await send.send(_Done(result))
                    return
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return  # the consumer has left
                except CopilotError as exc:
                    outcome = _Failed(exc)
                except Exception as exc:  # a bug of ours; report it on this stream only
                    error = LocalProtocolError(f"internal error while reading the stream: {exc!r}")
                    error.__cause__ = exc
                    outcome = _Failed(error)
                with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                    await send.send(outcome)
        finally:
            try:
                await self._transport.close(response)
            finally:
                self._limiter.release_on_behalf_of(self)
                self._reader_done.set()

    # --- consuming -------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ChatChunk:
        if self._error is not None:
            raise self._error
        if self._result is not None:
            raise StopAsyncIteration
        if self._state != "open" or self._receive is None:
            raise UsageError(
                "iterate a ChatStream inside `async with client.stream_chat(...) as stream:`"
            )
        try:
            item = await self._receive.receive()
        except anyio.EndOfStream:
            self._error = StreamInterruptedError(
                "the stream ended without an outcome (was the client closed?)"
            )
            raise self._error from None
        if isinstance(item, ChatChunk):
            self._chunks += 1
            return item
        if isinstance(item, _Done):
            self._result = item.result
            raise StopAsyncIteration
        self._error = item.error
        raise self._error

    def text_deltas(self) -> AsyncIterator[str]:
        """Only the text: each non-empty content delta, in order.

        A plain iterator over this stream (not an async generator), so breaking out of it
        leaves nothing to finalise; the stream's outcome is raised or stored as usual.
        """
        return _TextDeltas(self)

    async def final(self) -> ChatResult:
        """Read the rest of the stream and return the finished turn (or raise its error)."""
        async for _ in self:
            pass
        if self._result is None:  # pragma: no cover - __anext__ raises first
            raise UsageError("the stream has no result")
        return self._result

    @property
    def result(self) -> ChatResult | None:
        """The finished turn once the stream completed, else None."""
        return self._result

    @property
    def error(self) -> CopilotError | None:
        """The stream's error once it failed, else None."""
        return self._error

    def statistics(self) -> MemoryObjectStreamStatistics:
        """The hand-over buffer's statistics (how many chunks wait for the consumer)."""
        if self._receive is None:
            raise UsageError("the stream is not open")
        return self._receive.statistics()


@final
class _TextDeltas:
    __slots__ = ("_stream",)

    def __init__(self, stream: ChatStream) -> None:
        self._stream = stream

    def __aiter__(self) -> _TextDeltas:
        return self

    async def __anext__(self) -> str:
        while True:
            chunk = await self._stream.__anext__()
            if chunk.text:
                return chunk.text
