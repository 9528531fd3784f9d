"""``CopilotClient``: the structured-concurrency client of the github.com web-chat flavour.

The client is an async context manager that owns one task group and one transport. The task
group runs the background token refresh, the idle watchdog and the reader of every open stream;
nothing outlives the ``async with``. Errors cross the boundary bare (``_groups``): a single error
from inside the task group is re-raised as itself, not wrapped in an ``ExceptionGroup``, so
``except copilot_anyio.RateLimitError`` works.

What a request needs lives in one ``_WebContext`` that the client builds on entry and its
threads share; a ``ChatThread`` never reaches into the client.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from os import PathLike
from typing import Any, Final, TypeVar, cast, final

import anyio
from anyio.abc import TaskGroup

from ._auth import DEFAULT_WEB_TOKEN_TTL, TokenLease
from ._checks import PROXY_SCHEMES, http_url, non_empty_str, number, whole_number
from ._config import Hosts, Limits, Timeouts
from ._credentials import ENV_COOKIES, ENV_COOKIES_FILE, resolve_web
from ._errors import UsageError
from ._groups import collapse_exception_group, task_group
from ._models import ChatChunk, ChatResult, ThreadInfo
from ._pump import IdleWatchdog, Pump, collect
from ._retry import RetryPolicy
from ._send import Sender
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import ChatStream
from ._token_manager import TokenManager
from ._transport import HTTPXTransport, Transport, close_response
from .web import _wire as wire
from .web._api import StaticToken, WebAPI

__all__ = [
    "DEFAULT_MODEL",
    "ENV_COOKIES",
    "ENV_COOKIES_FILE",
    "ChatThread",
    "ClientStatistics",
    "CopilotClient",
    "Threads",
    "collapse_exception_group",
]

#: The model asked for when none is named (the web flavour also accepts "auto").
DEFAULT_MODEL: Final = "gpt-4o"


@final
@dataclass(frozen=True, slots=True)
class ClientStatistics:
    """A snapshot of a client's counters.

    Attributes:
        token_fetches: web tokens fetched so far.
        max_token_fetches_in_flight: the most fetches ever in flight at once (1 when
            single-flight holds).
        requests_in_flight: requests holding a concurrency slot now.
        requests_waiting: requests queued for a slot.
    """

    token_fetches: int
    max_token_fetches_in_flight: int
    requests_in_flight: int
    requests_waiting: int


@dataclass(frozen=True, slots=True)
class _WebContext:
    """Everything a web request of an open client needs."""

    api: WebAPI
    task_group: TaskGroup
    watchdog: IdleWatchdog
    limiter: anyio.CapacityLimiter
    model: str
    timeouts: Timeouts
    limits: Limits
    max_event_size: int


@final
class ChatThread:
    """A github.com chat thread: a conversation whose history the server keeps.

    Each completed turn moves ``parent_message_id`` to the new assistant message, so follow-ups
    keep their context. Turns of one thread are meant to be sent one after another.
    A thread created with ``id=None`` is created on the server by its first message.
    """

    def __init__(
        self,
        context: _WebContext,
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
        self._create_lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"ChatThread(id={self._id!r}, parent_message_id={self.parent_message_id!r})"

    @property
    def id(self) -> str | None:
        """The thread id (None until the first message creates the thread)."""
        return self._id

    async def ensure_created(self) -> str:
        """The thread id, creating the thread on the server first if needed."""
        async with self._create_lock:
            if self._id is None:
                self._id = await self._context.api.create_thread()
            return self._id

    def _record(self, result: ChatResult) -> None:
        if result.message_id:
            self.parent_message_id = result.message_id

    def stream(self, prompt: str, *, model: str | None = None) -> ChatStream[ChatChunk, ChatResult]:
        """Send ``prompt`` as the next turn and stream the reply (see ``ChatStream``)."""
        context = self._context
        non_empty_str(prompt, "prompt")
        model = _model(model) or self.model or context.model

        async def opener() -> tuple[Any, wire.WebStreamAccumulator]:
            thread_id = await self.ensure_created()
            return await context.api.open_turn(
                thread_id=thread_id,
                content=prompt,
                model=model,
                parent_message_id=self.parent_message_id,
            )

        return ChatStream(
            task_group=context.task_group,
            watchdog=context.watchdog,
            limiter=context.limiter,
            opener=opener,
            on_complete=self._record,
            buffer=context.limits.stream_buffer,
            idle=context.timeouts.idle,
            max_event_size=context.max_event_size,
        )

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
            response, accumulator = await context.api.open_turn(
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
                    payload = await context.api.sender.read_json(response)
                    result = wire.result_from_message(payload, thread_id)
            finally:
                await close_response(response)
        self._record(result)
        return result

    async def delete(self) -> None:
        """Delete the thread on the server."""
        if self._id is not None:
            async with self._context.limiter:
                await self._context.api.delete_thread(self._id)


@final
class Threads:
    """``client.threads``: the github.com web-chat threads of the signed-in account."""

    __slots__ = ("_context",)

    def __init__(self, context: Callable[[], _WebContext]) -> None:
        self._context = context  # the open client's context, or UsageError when it is closed

    def __repr__(self) -> str:
        return "<Threads>"

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
            payload = await context.api.list_messages(thread_id)
        parent = wire.last_assistant_message_id(payload)
        return self(thread_id, parent_message_id=parent, model=model)

    async def list(self) -> list[ThreadInfo]:
        """The account's threads, as the server lists them."""
        context = self._context()
        async with context.limiter:
            return await context.api.list_threads()

    async def delete(self, thread_id: str) -> None:
        """Delete a thread."""
        wire.thread_segment(thread_id)
        context = self._context()
        async with context.limiter:
            await context.api.delete_thread(thread_id)


class CopilotClient(anyio.AsyncContextManagerMixin):
    """GitHub Copilot Chat (the github.com web flavour), for trio and asyncio alike.

    ::

        async with CopilotClient(cookies={"user_session": "..."}) as client:
            async with client.threads.stream("Explain SSE in one sentence.") as stream:
                async for text in stream.text_deltas():
                    print(text, end="")

    Credentials, first found wins: ``web_token`` (a web token you already have; it cannot be
    refreshed), ``cookies`` (a dict or a ``Cookie`` header string), ``cookies_file`` (a
    Netscape ``cookies.txt``), then the environment variables ``COPILOT_COOKIES`` and
    ``COPILOT_COOKIES_FILE``. Only github.com ever receives the cookies.

    Hosts: ``github_url``, ``api_url`` (and ``github_api_url`` for the IDE flavour), else
    ``COPILOT_GITHUB_URL`` / ``COPILOT_API_URL`` / ``COPILOT_GITHUB_API_URL``, else the public
    GitHub hosts. Point them all at the bundled emulator to run without an account.

    Other options: ``model`` (default ``"gpt-4o"``); ``timeouts`` (``Timeouts``: network phases,
    never a total deadline: use ``anyio.fail_after`` for that); ``limits`` (``Limits``: requests
    in flight per account, the excess queues; the connection pool matches; the stream buffer);
    ``retry`` (``RetryPolicy``); ``proxy``, ``verify``, ``trust_env`` (for the default httpx
    transport); ``transport`` (a ``Transport`` of your own, e.g. ``HTTPXTransport`` over a custom
    httpx transport; the client closes it on exit); ``web_token_ttl`` (assumed web-token
    lifetime); ``max_event_size`` (bytes).
    """

    def __init__(
        self,
        *,
        cookies: Mapping[str, str] | str | None = None,
        cookies_file: str | PathLike[str] | None = None,
        web_token: str | None = None,
        github_url: str | None = None,
        github_api_url: str | None = None,
        api_url: str | None = None,
        model: str = DEFAULT_MODEL,
        timeouts: Timeouts | None = None,
        limits: Limits | None = None,
        retry: RetryPolicy | None = None,
        proxy: str | None = None,
        verify: Any = True,
        transport: Transport | None = None,
        trust_env: bool = True,
        web_token_ttl: float = DEFAULT_WEB_TOKEN_TTL,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.hosts = Hosts.resolve(
            env, github_url=github_url, github_api_url=github_api_url, api_url=api_url
        )
        self.model = non_empty_str(model, "model")
        self.timeouts = _instance(timeouts, Timeouts, "timeouts")
        self.limits = _instance(limits, Limits, "limits")
        self.retry = _instance(retry, RetryPolicy, "retry")
        if proxy is not None:
            proxy = http_url(proxy, "proxy", schemes=PROXY_SCHEMES)
        number(web_token_ttl, "web_token_ttl")
        whole_number(max_event_size, "max_event_size", minimum=1)
        self._credentials = resolve_web(
            env, web_token=web_token, cookies=cookies, cookies_file=cookies_file
        )
        self._transport_options: dict[str, Any] = {
            "proxy": proxy,
            "verify": verify,
            "trust_env": trust_env,
        }
        self._given_transport = transport
        self._web_token_ttl = web_token_ttl
        self._max_event_size = max_event_size
        self._context: _WebContext | None = None
        self._token_manager: TokenManager | None = None
        self._limiter = anyio.CapacityLimiter(self.limits.max_concurrent_requests)
        self.threads = Threads(self._web_context)

    def __repr__(self) -> str:
        state = "open" if self._context is not None else "closed"
        return f"<CopilotClient {state} api={self.hosts.api_url!r} model={self.model!r}>"

    async def _open_transport(self) -> Transport:
        given: Any = self._given_transport
        if given is not None and hasattr(given, "send"):
            return cast(Transport, given)
        return await HTTPXTransport.open(
            timeouts=self.timeouts,
            limits=self.limits,
            # an httpx transport given as ``transport=`` is still accepted (wrapped)
            httpx_transport=given,
            tls=self.hosts.uses_tls,
            **self._transport_options,
        )

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[CopilotClient]:
        if self._context is not None:
            raise UsageError("this CopilotClient is already open")
        cookies = await self._credentials.load_cookies(self.hosts.github_url)
        transport = await self._open_transport()
        try:
            sender = Sender(transport, retry=self.retry, timeouts=self.timeouts)
            api = WebAPI(sender, self.hosts, cookies=cookies, web_token_ttl=self._web_token_ttl)
            if self._credentials.web_token is not None:
                api.use_tokens(StaticToken(self._credentials.web_token))
            else:
                self._token_manager = TokenManager(api.fetch_web_token)
                api.use_tokens(self._token_manager)
            watchdog = IdleWatchdog()
            async with task_group() as tg:
                if self._token_manager is not None:
                    tg.start_soon(self._token_manager.run)
                tg.start_soon(watchdog.run)
                self._context = _WebContext(
                    api=api,
                    task_group=tg,
                    watchdog=watchdog,
                    limiter=self._limiter,
                    model=self.model,
                    timeouts=self.timeouts,
                    limits=self.limits,
                    max_event_size=self._max_event_size,
                )
                try:
                    yield self
                finally:
                    self._context = None
        finally:
            self._context = None
            with anyio.CancelScope(shield=True):
                await transport.aclose()

    def _web_context(self) -> _WebContext:
        if self._context is None:
            raise UsageError("use the client inside `async with CopilotClient(...) as client:`")
        return self._context

    # --- the web flavour's shortcuts (``client.threads`` is the namespace) --------------------

    def thread(
        self,
        thread_id: str | None = None,
        *,
        parent_message_id: str = "root",
        model: str | None = None,
    ) -> ChatThread:
        """``client.threads(...)``: a new conversation or an existing thread."""
        return self.threads(thread_id, parent_message_id=parent_message_id, model=model)

    async def new_thread(self, *, model: str | None = None) -> ChatThread:
        """``client.threads.new()``: create a thread on the server now and return it."""
        return await self.threads.new(model=model)

    async def resume_thread(self, thread_id: str, *, model: str | None = None) -> ChatThread:
        """``client.threads.resume()``: continue a thread after its last assistant message."""
        return await self.threads.resume(thread_id, model=model)

    def stream_chat(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatStream[ChatChunk, ChatResult]:
        """``client.threads.stream()``: stream the reply to ``prompt``."""
        return self.threads.stream(prompt, thread=thread, model=model)

    async def chat(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatResult:
        """``client.threads.send()``: the whole reply to ``prompt`` (non-streaming)."""
        return await self.threads.send(prompt, thread=thread, model=model)

    async def list_threads(self) -> list[ThreadInfo]:
        """``client.threads.list()``: the account's threads."""
        return await self.threads.list()

    async def delete_thread(self, thread_id: str) -> None:
        """``client.threads.delete()``: delete a thread."""
        await self.threads.delete(thread_id)

    async def web_token(self) -> TokenLease | None:
        """The current web-token lease (fetching one if there is none); None with ``web_token=``."""
        context = self._web_context()
        await context.api.auth.credential()
        return None if self._token_manager is None else self._token_manager.lease

    def statistics(self) -> ClientStatistics:
        """Counters: token fetches, single-flight high-water mark, requests in flight."""
        manager = self._token_manager
        return ClientStatistics(
            token_fetches=0 if manager is None else manager.fetches,
            max_token_fetches_in_flight=0 if manager is None else manager.max_in_flight,
            requests_in_flight=self._limiter.borrowed_tokens,
            requests_waiting=self._limiter.statistics().tasks_waiting,
        )


def _instance(value: Any, kind: type[_T], place: str) -> _T:
    """``value`` when it is a ``kind`` (the default ``kind()`` for None), else UsageError."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise UsageError(f"{place} must be a {kind.__name__}, not {type(value).__name__}")
    return value


_T = TypeVar("_T")


def _model(model: Any) -> str | None:
    """A model argument: None (use the default) or a non-empty string."""
    return None if model is None else non_empty_str(model, "model")
