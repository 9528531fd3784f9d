"""The client's namespaces: what ``client.threads``, ``client.models`` and ``client.chat`` do.

Each namespace works on the ``Context`` of an open client (its flavours' APIs, idle
watchdog, limiter and settings), handed over as a callable that raises ``UsageError`` while
the client is closed. Nothing here reaches into the client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, final

import anyio
import anyio.lowlevel

from ._checks import non_empty_str
from ._config import Limits, Timeouts
from ._errors import CredentialsError, StreamFailedBeforeOutputError, UsageError
from ._http import Request
from ._models import ChatChunk, ChatResult, ThreadInfo
from ._pump import IdleWatchdog, Pump, collect
from ._stream import ChatStream, chunk_text
from ._transport import close_response
from .ide import _wire as wire_ide
from .ide._accumulate import ChatCompletionAccumulator
from .ide._api import IdeAPI
from .ide._catalogue import Model, route
from .ide._messages import Message, MessageAccumulator, MessageStreamEvent
from .ide._responses import Response, ResponseAccumulator, ResponseStreamEvent
from .ide._types import ChatCompletion, ChatCompletionChunk, CreateEmbeddingResponse
from .ide._wire import CHAT_COMPLETIONS_PATH, EMBEDDINGS_PATH, MESSAGES_PATH, RESPONSES_PATH
from .web import _wire as wire
from .web._api import WebAPI

ChunkT = TypeVar("ChunkT")
ResultT = TypeVar("ResultT")

__all__ = [
    "Chat",
    "ChatThread",
    "Completions",
    "Context",
    "Embeddings",
    "Messages",
    "Models",
    "Responses",
    "Threads",
]


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a request of an open client needs; a flavour without credentials is None."""

    web_api: WebAPI | None
    ide_api: IdeAPI | None
    web_missing: str
    ide_missing: str
    watchdog: IdleWatchdog
    limiter: anyio.CapacityLimiter
    model: str
    timeouts: Timeouts
    limits: Limits
    max_event_size: int

    def web(self) -> WebAPI:
        """The web flavour, or CredentialsError saying where its credential would come from."""
        if self.web_api is None:
            raise CredentialsError(f"client.threads needs github.com cookies: {self.web_missing}")
        return self.web_api

    def stream(
        self,
        opener: Callable[[], Awaitable[Pump[ChunkT, ResultT]]],
        *,
        on_complete: Callable[[ResultT], None],
        text_of: Callable[[ChunkT], str] = chunk_text,
    ) -> ChatStream[ChunkT, ResultT]:
        """A ``ChatStream`` under this client's limits and idle watchdog."""
        return ChatStream(
            watchdog=self.watchdog,
            limiter=self.limiter,
            opener=opener,
            on_complete=on_complete,
            idle=self.timeouts.idle,
            text_of=text_of,
        )

    def ide(self) -> IdeAPI:
        """The IDE flavour, or CredentialsError saying where its credential would come from."""
        if self.ide_api is None:
            raise CredentialsError(f"the IDE API needs a GitHub token: {self.ide_missing}")
        return self.ide_api


class _Namespace:
    """A namespace of an open client: it works on the client's ``Context``, got through a
    callable that raises ``UsageError`` while the client is closed."""

    __slots__ = ("_context",)

    def __init__(self, context: Callable[[], Context]) -> None:
        self._context = context

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


@final
class ChatThread:
    """A github.com chat thread: a conversation whose history the server keeps.

    Each completed turn moves ``parent_message_id`` to the new assistant message, so follow-ups
    keep their context. Turns of one thread are meant to be sent one after another.
    A thread created with ``id=None`` is created on the server by its first message.
    """

    def __init__(
        self,
        context: Context,
        thread_id: str | None,
        *,
        parent_message_id: str = "root",
        model: str | None = None,
    ) -> None:
        if thread_id is not None:
            wire.thread_segment(thread_id)  # refuse an id that is not one path segment, now
        if not isinstance(parent_message_id, str):
            raise UsageError("parent_message_id must be a string")
        model = _model(model)
        self._context = context
        self._id = thread_id
        self.parent_message_id = parent_message_id
        self.model = model
        #: serialises creating the thread; made only while there is no id, dropped after
        self._create_lock: anyio.Lock | None = None

    def __repr__(self) -> str:
        return f"ChatThread(id={self._id!r}, parent_message_id={self.parent_message_id!r})"

    @property
    def id(self) -> str | None:
        """The thread id (None until the first message creates the thread)."""
        return self._id

    async def ensure_created(self) -> str:
        """The thread id, creating the thread on the server first if needed."""
        if self._id is not None:
            await anyio.lowlevel.checkpoint_if_cancelled()
            return self._id
        lock = self._create_lock
        if lock is None:
            lock = self._create_lock = anyio.Lock()
        async with lock:
            if self._id is None:
                self._id = await self._context.web().create_thread()
            thread_id = self._id
        self._create_lock = None  # a task still waiting holds it, and then finds the id
        return thread_id

    def _record(self, result: ChatResult) -> None:
        if result.message_id:
            self.parent_message_id = result.message_id

    def stream(self, prompt: str, *, model: str | None = None) -> ChatStream[ChatChunk, ChatResult]:
        """Send ``prompt`` as the next turn and stream the reply (see ``ChatStream``)."""
        context = self._context
        non_empty_str(prompt, "prompt")
        model = _model(model) or self.model or context.model

        async def opener() -> Pump[ChatChunk, ChatResult]:
            thread_id = await self.ensure_created()
            response, accumulator = await context.web().open_turn(
                thread_id=thread_id,
                content=prompt,
                model=model,
                parent_message_id=self.parent_message_id,
            )
            return Pump(response, accumulator, max_event_size=context.max_event_size)

        return context.stream(opener, on_complete=self._record)

    async def send(self, prompt: str, *, model: str | None = None) -> ChatResult:
        """Send ``prompt`` and return the whole reply (a non-streaming request).

        The reply is read by its ``Content-Type``, not by what was asked for: the server may
        stream even when ``streaming`` is false (protocol.md §2.5).
        """
        context = self._context
        non_empty_str(prompt, "prompt")
        model = _model(model) or self.model or context.model
        async with context.limiter:
            thread_id = await self.ensure_created()
            response, accumulator = await context.web().open_turn(
                thread_id=thread_id,
                content=prompt,
                model=model,
                parent_message_id=self.parent_message_id,
                streaming=False,
            )
            try:
                if "text/event-stream" in response.content_type:
                    pump = Pump(response, accumulator, max_event_size=context.max_event_size)
                    result = await collect(pump, context.timeouts.idle)
                else:
                    payload = await context.web().sender.read_json(response)
                    result = wire.result_from_message(payload, thread_id)
            finally:
                await close_response(response)
        self._record(result)
        return result

    async def delete(self) -> None:
        """Delete the thread on the server."""
        if self._id is not None:
            async with self._context.limiter:
                await self._context.web().delete_thread(self._id)


@final
class Threads(_Namespace):
    """``client.threads``: the github.com web-chat threads of the signed-in account."""

    __slots__ = ()

    def __call__(
        self,
        thread_id: str | None = None,
        *,
        parent_message_id: str = "root",
        model: str | None = None,
    ) -> ChatThread:
        """A conversation: a new one (created by its first message) or an existing thread.

        To continue an existing thread, pass its id and the id of its last assistant message
        as ``parent_message_id`` (``resume`` looks that up for you).
        """
        return ChatThread(
            self._context(),
            thread_id,
            parent_message_id=parent_message_id,
            model=model,
        )

    def stream(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatStream[ChatChunk, ChatResult]:
        """Stream the reply to ``prompt``, in ``thread`` or in a new thread.

        Use as ``async with client.threads.stream(prompt) as stream: async for chunk in stream``.
        Entering raises the request's ``APIStatusError`` (after one transparent token refresh
        on 401); iterating raises the stream's ``StreamError``. See ``ChatStream``.
        """
        return (thread or self()).stream(prompt, model=model)

    async def send(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatResult:
        """The whole reply to ``prompt`` (non-streaming), in ``thread`` or a new thread."""
        return await (thread or self()).send(prompt, model=model)

    async def new(self, *, model: str | None = None) -> ChatThread:
        """Create a thread on the server now and return it."""
        thread = self(model=model)
        async with self._context().limiter:
            await thread.ensure_created()
        return thread

    async def resume(self, thread_id: str, *, model: str | None = None) -> ChatThread:
        """Continue an existing thread after its last assistant message."""
        context = self._context()
        wire.thread_segment(thread_id)
        async with context.limiter:
            payload = await context.web().list_messages(thread_id)
        parent = wire.last_assistant_message_id(payload)
        return self(thread_id, parent_message_id=parent, model=model)

    async def list(self) -> list[ThreadInfo]:
        """The account's threads, as the server lists them."""
        context = self._context()
        async with context.limiter:
            return await context.web().list_threads()

    async def delete(self, thread_id: str) -> None:
        """Delete a thread."""
        wire.thread_segment(thread_id)
        context = self._context()
        async with context.limiter:
            await context.web().delete_thread(thread_id)


@final
class Models(_Namespace):
    """``client.models``: the account's model catalogue (kept by the client for a while)."""

    __slots__ = ()

    async def list(self, *, refresh: bool = False) -> list[Model]:
        """Every model the account may use, typed (``Model``), in the server's order."""
        context = self._context()
        async with context.limiter:
            catalogue = await context.ide().catalogue(refresh=refresh)
        return list(catalogue.models)

    async def retrieve(self, model: str) -> Model:
        """One model by id; ``UnknownModelError`` (with close ids) when there is none."""
        non_empty_str(model, "model")
        context = self._context()
        async with context.limiter:
            catalogue = await context.ide().catalogue()
        found = catalogue.get(model)
        if found is None:
            route(catalogue, model)  # raises UnknownModelError, with close ids
        assert found is not None
        return found


@final
class Completions(_Namespace):
    """``client.chat.completions``, shaped like openai-python's."""

    __slots__ = ()

    async def create(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        **options: Any,
    ) -> ChatCompletion:
        """A whole chat completion (``/chat/completions``, not streamed).

        ``options`` are the request's other fields (``tools``, ``tool_choice``, ``max_tokens``,
        ``temperature``, …). The messages, tools and model are checked before anything is
        sent, and the model must serve ``/chat/completions`` (``UnsupportedEndpointError``
        names the endpoints it does serve). For a stream use ``stream(...)``.
        """
        if stream:
            raise UsageError(
                "use `async with client.chat.completions.stream(...) as stream:` to stream: it "
                "closes the response when the block ends"
            )
        context = self._context()
        ide = context.ide()
        request = ide.request(
            wire_ide.chat_completions_request,
            model=model,
            messages=messages,
            stream=False,
            **options,
        )
        async with context.limiter:
            return await ide.create(
                request, model, CHAT_COMPLETIONS_PATH, wire_ide.parse_chat_completion
            )

    def stream(
        self,
        *,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        **options: Any,
    ) -> ChatStream[ChatCompletionChunk, ChatCompletion]:
        """Stream a chat completion: ``async with ... as stream: async for chunk in stream``.

        Chunks are ``ChatCompletionChunk``s; ``await stream.final()`` returns the assembled
        ``ChatCompletion`` (text, tool calls joined, usage). A failure after the stream began
        is a ``StreamError`` carrying ``partial_text`` and ``partial_tool_calls``.
        """
        context = self._context()
        ide = context.ide()
        request = ide.request(
            wire_ide.chat_completions_request,
            model=model,
            messages=messages,
            stream=True,
            **options,
        )

        async def opener() -> Pump[ChatCompletionChunk, ChatCompletion]:
            response = await ide.open(request, model, CHAT_COMPLETIONS_PATH)
            return Pump(
                response, ChatCompletionAccumulator(), max_event_size=context.max_event_size
            )

        return context.stream(opener, on_complete=ide.recorder(model))


@final
class Chat:
    """``client.chat``: ``client.chat.completions`` (IDE flavour).

    Calling it, ``await client.chat(prompt)``, is the web flavour's ``client.threads.send``,
    kept so code written before ``client.threads`` existed still runs.
    """

    __slots__ = ("_threads", "completions")

    def __init__(self, context: Callable[[], Context], threads: Threads) -> None:
        self.completions = Completions(context)
        self._threads = threads

    def __repr__(self) -> str:
        return "<Chat>"

    async def __call__(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatResult:
        return await self._threads.send(prompt, thread=thread, model=model)


def _model(model: Any) -> str | None:
    """A model argument: None (use the default) or a non-empty string."""
    return None if model is None else non_empty_str(model, "model")


@final
class Responses(_Namespace):
    """``client.responses``: OpenAI's Responses API (``/responses``), for the models that only
    serve it and for reasoning summaries."""

    __slots__ = ()

    async def create(
        self, *, model: str, input: str | Sequence[Mapping[str, Any]], **options: Any
    ) -> Response:
        """A whole response (``instructions``, ``tools``, ``previous_response_id``, … as
        openai-python takes them)."""
        context = self._context()
        ide = context.ide()
        request = ide.request(
            wire_ide.responses_request, model=model, input=input, stream=False, **options
        )
        async with context.limiter:
            return await ide.create(request, model, RESPONSES_PATH, wire_ide.parse_response)

    def stream(
        self, *, model: str, input: str | Sequence[Mapping[str, Any]], **options: Any
    ) -> ChatStream[ResponseStreamEvent, Response]:
        """Stream a response: ``async with ... as stream: async for event in stream``.

        Events are ``ResponseStreamEvent``s (``stream.text_deltas()`` yields the text);
        ``await stream.final()`` returns the ``Response`` (text, function calls with their
        arguments, reasoning summaries, usage). A stream that fails after ``response.created``
        but before any output is sent once more (nothing was generated); later failures are a
        ``StreamError`` with ``partial_text`` and ``partial_tool_calls``.
        """
        context = self._context()
        ide = context.ide()
        request = ide.request(
            wire_ide.responses_request, model=model, input=input, stream=True, **options
        )

        async def opener() -> Pump[ResponseStreamEvent, Response]:
            for attempt in (1, 2):
                response = await ide.open(request, model, RESPONSES_PATH)
                accumulator = ResponseAccumulator()
                pump = Pump(response, accumulator, max_event_size=context.max_event_size)
                try:
                    # Read up to the first output: until then a failure cost nothing.
                    while not (pump.done or accumulator.output_started):
                        pump.pending += await pump.read_within(context.timeouts.idle)
                except StreamFailedBeforeOutputError:
                    await close_response(response)
                    if attempt == 2:
                        raise
                    continue
                except BaseException:
                    await close_response(response)
                    raise
                return pump
            raise AssertionError("unreachable")  # pragma: no cover

        return context.stream(opener, on_complete=ide.recorder(model), text_of=_response_text)


def _response_text(event: ResponseStreamEvent) -> str:
    return event.delta or "" if event.type == "response.output_text.delta" else ""


@final
class Messages(_Namespace):
    """``client.messages``: Anthropic's Messages API (``/v1/messages``), for Claude models,
    shaped like the anthropic SDK."""

    __slots__ = ()

    async def _request(
        self, ide: IdeAPI, model: str, messages: Any, max_tokens: int, stream: bool, **options: Any
    ) -> Request:
        found = await ide.route(model, MESSAGES_PATH)
        return ide.request(
            wire_ide.messages_request,
            model=model,
            messages=messages,
            max_tokens=max_tokens,
            stream=stream,
            max_output_tokens=found.limits.max_output_tokens,
            **options,
        )

    async def create(
        self, *, model: str, messages: Sequence[Mapping[str, Any]], max_tokens: int, **options: Any
    ) -> Message:
        """A whole message (``system``, ``tools``, ``tool_choice``, ``thinking``, …)."""
        context = self._context()
        ide = context.ide()
        wire_ide.messages_request(  # checked before any I/O (the model list included)
            model=model, messages=messages, max_tokens=max_tokens, request_id="-", **options
        )
        async with context.limiter:
            request = await self._request(ide, model, messages, max_tokens, False, **options)
            return await ide.create(request, model, MESSAGES_PATH, wire_ide.parse_message)

    def stream(
        self, *, model: str, messages: Sequence[Mapping[str, Any]], max_tokens: int, **options: Any
    ) -> ChatStream[MessageStreamEvent, Message]:
        """Stream a message: events as the anthropic SDK names them; ``stream.text_deltas()``
        yields the text; ``await stream.final()`` the ``Message`` (text, tool use with its input
        assembled, thinking, usage)."""
        context = self._context()
        ide = context.ide()
        wire_ide.messages_request(  # checked before any I/O
            model=model, messages=messages, max_tokens=max_tokens, request_id="-", **options
        )

        async def opener() -> Pump[MessageStreamEvent, Message]:
            request = await self._request(ide, model, messages, max_tokens, True, **options)
            response = await ide.open(request, model, MESSAGES_PATH)
            return Pump(response, MessageAccumulator(), max_event_size=context.max_event_size)

        return context.stream(opener, on_complete=ide.recorder(model), text_of=_message_text)


def _message_text(event: MessageStreamEvent) -> str:
    delta = event.delta
    if event.type == "content_block_delta" and delta is not None and delta.type == "text_delta":
        return delta.text or ""
    return ""


@final
class Embeddings(_Namespace):
    """``client.embeddings``: ``create(model=, input=[...])``, as openai-python has it."""

    __slots__ = ()

    async def create(
        self, *, model: str, input: str | Sequence[str], dimensions: int | None = None
    ) -> CreateEmbeddingResponse:
        """The embeddings of ``input`` (one string or a list), in order."""
        context = self._context()
        ide = context.ide()
        request = ide.request(
            wire_ide.embeddings_request, model=model, input=input, dimensions=dimensions
        )
        async with context.limiter:
            return await ide.create(request, model, EMBEDDINGS_PATH, wire_ide.parse_embeddings)
