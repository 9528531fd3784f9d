"""``CopilotClient``: the structured-concurrency client of the github.com web-chat flavour.

The client is an async context manager that owns one task group and one HTTP transport.
The task group runs the background token refresh and the reader of every open stream; nothing
outlives the ``async with``. Errors cross the boundary bare: a single error from inside the task
group is re-raised as itself, not wrapped in an ``ExceptionGroup``, so ``except
copilot_anyio.RateLimitError`` works.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from os import PathLike
from typing import Any, Final, final

import anyio
import httpx
from anyio.abc import TaskGroup

from . import _web_wire as wire
from ._auth import DEFAULT_WEB_TOKEN_TTL, TokenLease
from ._config import Hosts, Limits, Timeouts
from ._cookies import (
    parse_cookie_header,
    parse_netscape_cookies,
    require_header_safe_token,
    require_session,
)
from ._errors import CredentialsError, UsageError
from ._models import ChatResult, ThreadInfo
from ._retry import RetryPolicy
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import ChatStream
from ._token_manager import TokenManager
from ._transport import HTTPTransport
from ._web_session import StaticToken, TokenSource, WebSession

__all__ = [
    "DEFAULT_MODEL",
    "ENV_COOKIES",
    "ENV_COOKIES_FILE",
    "ChatThread",
    "ClientStatistics",
    "CopilotClient",
    "collapse_exception_group",
]

#: The model asked for when none is named (the web flavour also accepts "auto").
DEFAULT_MODEL: Final = "gpt-4o"
#: github.com cookies as a ``Cookie`` header string ("user_session=...; ...").
ENV_COOKIES: Final = "COPILOT_COOKIES"
#: Path of a Netscape ``cookies.txt`` export holding the github.com cookies.
ENV_COOKIES_FILE: Final = "COPILOT_COOKIES_FILE"


def collapse_exception_group(group: BaseExceptionGroup[Any]) -> BaseException | None:
    """The one real error of a task-group failure, or None when there is not exactly one.

    Cancellation exceptions are not "real" here: they are the echo of the real error cancelling
    its siblings. With several real errors the group itself must be kept.
    """
    cancelled = anyio.get_cancelled_exc_class()
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        elif not isinstance(exc, cancelled):
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else None


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


@final
class ChatThread:
    """A github.com chat thread: a conversation whose history the server keeps.

    Each completed turn moves ``parent_message_id`` to the new assistant message, so follow-ups
    keep their context. Turns of one thread are meant to be sent one after another.
    A thread created with ``id=None`` is created on the server by its first message.
    """

    def __init__(
        self,
        client: CopilotClient,
        thread_id: str | None,
        *,
        parent_message_id: str = "root",
        model: str | None = None,
    ) -> None:
        self._client = client
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
                self._id = await self._client._session().create_thread(self._client._tokens())
            return self._id

    def _record(self, result: ChatResult) -> None:
        if result.message_id:
            self.parent_message_id = result.message_id

    def stream(self, prompt: str, *, model: str | None = None) -> ChatStream:
        """Send ``prompt`` as the next turn and stream the reply (see ``ChatStream``)."""
        return self._client._stream_turn(self, prompt, model or self.model)

    async def send(self, prompt: str, *, model: str | None = None) -> ChatResult:
        """Send ``prompt`` and return the whole reply (a non-streaming request)."""
        return await self._client._send_turn(self, prompt, model or self.model)

    async def delete(self) -> None:
        """Delete the thread on the server."""
        if self._id is not None:
            await self._client.delete_thread(self._id)


class CopilotClient(anyio.AsyncContextManagerMixin):
    """GitHub Copilot Chat (the github.com web flavour), for trio and asyncio alike.

    ::

        async with CopilotClient(cookies={"user_session": "..."}) as client:
            async with client.stream_chat("Explain SSE in one sentence.") as stream:
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
    ``retry`` (``RetryPolicy``); ``proxy``, ``verify``, ``transport``, ``trust_env`` (passed to
    httpx); ``web_token_ttl`` (assumed web-token lifetime); ``max_event_size`` (bytes).
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
        transport: httpx.AsyncBaseTransport | None = None,
        trust_env: bool = True,
        web_token_ttl: float = DEFAULT_WEB_TOKEN_TTL,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.hosts = Hosts.resolve(
            env, github_url=github_url, github_api_url=github_api_url, api_url=api_url
        )
        self.model = model
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or Limits()
        self.retry = retry or RetryPolicy()
        self._web_token = web_token
        if isinstance(cookies, str):
            cookies = parse_cookie_header(cookies)
        if cookies is None and cookies_file is None and web_token is None:
            if env.get(ENV_COOKIES):
                cookies = parse_cookie_header(env[ENV_COOKIES])
            elif env.get(ENV_COOKIES_FILE):
                cookies_file = env[ENV_COOKIES_FILE]
        self._cookies: dict[str, str] | None = None if cookies is None else dict(cookies)
        self._cookies_file = cookies_file
        if web_token is not None:
            require_header_safe_token(web_token)
        if self._cookies is not None:
            require_session(self._cookies)
        elif cookies_file is None and web_token is None:
            raise CredentialsError(
                "no credentials: pass cookies=, cookies_file= or web_token=, or set "
                f"{ENV_COOKIES} or {ENV_COOKIES_FILE}"
            )
        self._http_options: dict[str, Any] = {
            "proxy": proxy,
            "verify": verify,
            "transport": transport,
            "trust_env": trust_env,
        }
        self._web_token_ttl = web_token_ttl
        self._max_event_size = max_event_size
        self._tg: TaskGroup | None = None
        self._web: WebSession | None = None
        self._token_source: TokenSource | None = None
        self._token_manager: TokenManager | None = None
        self._limiter = anyio.CapacityLimiter(self.limits.max_concurrent_requests)

    def __repr__(self) -> str:
        state = "open" if self._tg is not None else "closed"
        return f"<CopilotClient {state} api={self.hosts.api_url!r} model={self.model!r}>"

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[CopilotClient]:
        if self._tg is not None:
            raise UsageError("this CopilotClient is already open")
        cookies = self._cookies
        if cookies is None and self._cookies_file is not None:
            try:
                text = await anyio.Path(self._cookies_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CredentialsError(
                    f"cannot read the cookies file {os.fspath(self._cookies_file)!r}: "
                    f"{type(exc).__name__}"
                ) from None
            cookies = parse_netscape_cookies(text, host=_host_of(self.hosts.github_url))
            require_session(cookies)
        transport = await HTTPTransport.open(
            timeouts=self.timeouts, limits=self.limits, **self._http_options
        )
        try:
            self._web = WebSession(
                transport,
                self.hosts,
                cookies=cookies or {},
                retry=self.retry,
                web_token_ttl=self._web_token_ttl,
            )
            if self._web_token is not None:
                self._token_source = StaticToken(self._web_token)
            else:
                self._token_manager = TokenManager(self._web.fetch_web_token)
                self._token_source = self._token_manager
            user_exc: BaseException | None = None
            try:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    if self._token_manager is not None:
                        tg.start_soon(self._token_manager.run)
                    try:
                        yield self
                    except anyio.get_cancelled_exc_class():
                        raise
                    except BaseException as exc:
                        user_exc = exc  # kept out of the group: re-raised below as raised
                    finally:
                        tg.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                if user_exc is not None:
                    user_exc.__context__ = group  # internal failures ride along as context
                    raise user_exc  # noqa: B904
                single = collapse_exception_group(group)
                if single is None:
                    raise
                raise single from None
            if user_exc is not None:
                raise user_exc
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                await transport.aclose()

    # --- internals shared with ChatThread ---------------------------------------------------

    def _session(self) -> WebSession:
        if self._web is None or self._tg is None:
            raise UsageError("use the client inside `async with CopilotClient(...) as client:`")
        return self._web

    def _tokens(self) -> TokenSource:
        self._session()
        assert self._token_source is not None
        return self._token_source

    def _message_builder(
        self, thread: ChatThread, thread_id: str, prompt: str, model: str | None, streaming: bool
    ) -> Callable[[str], wire.Request]:
        return self._session().message_builder(
            thread_id=thread_id,
            content=prompt,
            model=model or self.model,
            parent_message_id=thread.parent_message_id,
            streaming=streaming,
        )

    def _stream_turn(self, thread: ChatThread, prompt: str, model: str | None) -> ChatStream:
        session = self._session()
        assert self._tg is not None

        async def opener() -> tuple[httpx.Response, wire.WebStreamAccumulator]:
            thread_id = await thread.ensure_created()
            build = self._message_builder(thread, thread_id, prompt, model, True)
            response = await session.open_stream(self._tokens(), build)
            return response, wire.WebStreamAccumulator(thread_id)

        return ChatStream(
            task_group=self._tg,
            transport=session.transport,
            limiter=self._limiter,
            opener=opener,
            on_complete=thread._record,
            buffer=self.limits.stream_buffer,
            idle=self.timeouts.idle,
            max_event_size=self._max_event_size,
        )

    async def _send_turn(self, thread: ChatThread, prompt: str, model: str | None) -> ChatResult:
        session = self._session()
        async with self._limiter:
            thread_id = await thread.ensure_created()
            build = self._message_builder(thread, thread_id, prompt, model, False)
            result = await session.send_message(
                self._tokens(),
                build,
                thread_id=thread_id,
                idle=self.timeouts.idle,
                max_event_size=self._max_event_size,
            )
        thread._record(result)
        return result

    # --- public API -------------------------------------------------------------------------

    def thread(
        self,
        thread_id: str | None = None,
        *,
        parent_message_id: str = "root",
        model: str | None = None,
    ) -> ChatThread:
        """A conversation: a new one (created by its first message) or an existing thread.

        To continue an existing thread, pass its id and the id of its last assistant message
        as ``parent_message_id`` (``resume_thread`` looks that up for you).
        """
        return ChatThread(self, thread_id, parent_message_id=parent_message_id, model=model)

    async def new_thread(self, *, model: str | None = None) -> ChatThread:
        """Create a thread on the server now and return it."""
        thread = self.thread(model=model)
        async with self._limiter:
            await thread.ensure_created()
        return thread

    async def resume_thread(self, thread_id: str, *, model: str | None = None) -> ChatThread:
        """Continue an existing thread after its last assistant message."""
        session = self._session()
        async with self._limiter:
            payload = await session.list_messages(self._tokens(), thread_id)
        parent = wire.last_assistant_message_id(payload)
        return self.thread(thread_id, parent_message_id=parent, model=model)

    def stream_chat(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatStream:
        """Stream the reply to ``prompt``, in ``thread`` or in a new thread.

        Use as ``async with client.stream_chat(prompt) as stream: async for chunk in stream``.
        Entering raises the request's ``APIStatusError`` (after one transparent token refresh
        on 401); iterating raises the stream's ``StreamError``. See ``ChatStream``.
        """
        return (thread or self.thread()).stream(prompt, model=model)

    async def chat(
        self, prompt: str, *, thread: ChatThread | None = None, model: str | None = None
    ) -> ChatResult:
        """The whole reply to ``prompt`` (non-streaming), in ``thread`` or a new thread."""
        return await (thread or self.thread()).send(prompt, model=model)

    async def list_threads(self) -> list[ThreadInfo]:
        """The account's threads, as the server lists them."""
        session = self._session()
        async with self._limiter:
            return await session.list_threads(self._tokens())

    async def delete_thread(self, thread_id: str) -> None:
        """Delete a thread."""
        session = self._session()
        async with self._limiter:
            await session.delete_thread(self._tokens(), thread_id)

    async def web_token(self) -> TokenLease | None:
        """The current web-token lease (fetching one if there is none); None with ``web_token=``."""
        await self._tokens().get()
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


def _host_of(url: str) -> str:
    return httpx.URL(url).host
