"""``CopilotClient``: one structured-concurrency client for both Copilot flavours.

The client is an async context manager that owns one task group and one transport. The task
group runs the background token refresh and the idle watchdog of the open streams (each stream
is read in the task that iterates it); nothing outlives the ``async with``. Errors cross the boundary bare (``_groups``): a single error
from inside the task group is re-raised as itself, not wrapped in an ``ExceptionGroup``, so
``except copilot_anyio.RateLimitError`` works.

What a request needs lives in one ``Context`` that the client builds on entry and its
namespaces (``_resources``) share; no namespace reaches into the client.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from os import PathLike
from typing import Any, Final, TypeVar, cast, final

import anyio

from ._auth import DEFAULT_WEB_TOKEN_TTL, TokenLease
from ._checks import PROXY_SCHEMES, http_url, non_empty_str, number, whole_number
from ._config import Hosts, Limits, Timeouts
from ._credentials import (
    ENV_COOKIES,
    ENV_COOKIES_FILE,
    WEB_WHERE,
    IdeCredentials,
    NoCredentialsError,
    discover_github_token,
    ide_where,
    resolve_ide,
    web_or_none,
)
from ._errors import UsageError
from ._groups import collapse_exception_group, task_group
from ._models import ChatChunk, ChatResult, ThreadInfo
from ._pump import IdleWatchdog
from ._resources import (
    Chat,
    ChatThread,
    Context,
    Embeddings,
    Messages,
    Models,
    Responses,
    Threads,
)
from ._retry import RetryPolicy
from ._send import Sender
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._stream import ChatStream
from ._token_manager import TokenManager
from ._transport import Transport, choose_http, open_transport
from .ide._api import CopilotTokens, IdeAPI, StaticCopilotToken
from .ide._usage import CopilotUser, ModelTotals, QuotaSnapshot
from .ide._versions import IdeVersions
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
        copilot_token_exchanges: Copilot tokens bought with the GitHub token so far.
        max_copilot_token_exchanges_in_flight: the most exchanges ever in flight at once.
    """

    token_fetches: int
    max_token_fetches_in_flight: int
    requests_in_flight: int
    requests_waiting: int
    copilot_token_exchanges: int = 0
    max_copilot_token_exchanges_in_flight: int = 0


class CopilotClient(anyio.AsyncContextManagerMixin):
    """GitHub Copilot Chat, both flavours, for trio and asyncio alike.

    ::

        async with CopilotClient() as client:            # a GitHub token from the chain below
            completion = await client.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "Hi"}]
            )
            async with client.threads.stream("Explain SSE.") as stream:   # needs cookies
                async for text in stream.text_deltas():
                    print(text, end="")

    The IDE flavour (``client.models``, ``client.chat.completions``), first found wins:
    ``github_token`` (``ghu_…``/``gho_…``), ``copilot_token`` (already exchanged; cannot be
    refreshed), the environment variables ``COPILOT_GITHUB_TOKEN``, ``GH_TOKEN``,
    ``GITHUB_TOKEN``, the editors' ``github-copilot/apps.json`` and ``hosts.json``, then the
    token ``copilot-anyio login`` stored. ``versions`` (``IdeVersions``) overrides the version
    pins sent.

    The web flavour (``client.threads``), first found wins: ``web_token`` (cannot be refreshed),
    ``cookies`` (a dict or a ``Cookie`` header string), ``cookies_file`` (a Netscape
    ``cookies.txt``), then ``COPILOT_COOKIES`` and ``COPILOT_COOKIES_FILE``. Only the GitHub host
    ever receives the cookies. Both flavours may be configured at once; a namespace whose
    credential is missing raises ``CredentialsError`` saying where it would have been found.

    Hosts: ``github_url``, ``api_url`` (and ``github_api_url`` for the IDE flavour), else
    ``COPILOT_GITHUB_URL`` / ``COPILOT_API_URL`` / ``COPILOT_GITHUB_API_URL``, else the public
    GitHub hosts. Point them all at the bundled emulator to run without an account.

    Other options: ``model`` (default ``"gpt-4o"``); ``timeouts`` (``Timeouts``: network phases,
    never a total deadline: use ``anyio.fail_after`` for that); ``limits`` (``Limits``: requests
    in flight per account, the excess queues; the connection pool matches);
    ``retry`` (``RetryPolicy``); ``http`` (``"lean"``, the default: HTTP/1.1 over AnyIO streams;
    or ``"httpx"``, also chosen for a SOCKS proxy; else ``COPILOT_ANYIO_TRANSPORT``); ``proxy``,
    ``verify``, ``trust_env`` (for either); ``transport`` (a ``Transport`` of your own, or an
    httpx transport to send through; the client closes it on exit); ``web_token_ttl`` (assumed web-token
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
        http: str | None = None,
        trust_env: bool = True,
        web_token_ttl: float = DEFAULT_WEB_TOKEN_TTL,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        github_token: str | None = None,
        copilot_token: str | None = None,
        versions: IdeVersions | None = None,
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
        self._env = env
        self._web_credentials = web_or_none(
            env, web_token=web_token, cookies=cookies, cookies_file=cookies_file
        )
        self._ide_credentials = resolve_ide(
            env, github_token=github_token, copilot_token=copilot_token
        )
        self.versions = _instance(versions, IdeVersions, "versions")
        self._transport_options: dict[str, Any] = {
            "proxy": proxy,
            "verify": verify,
            "trust_env": trust_env,
        }
        self._given_transport = transport
        self._http = http
        choose_http(http, proxy=proxy, trust_env=trust_env)  # a bad choice fails here
        self._web_token_ttl = web_token_ttl
        self._max_event_size = max_event_size
        self._context: Context | None = None
        self._token_manager: TokenManager | None = None
        self._copilot_tokens: CopilotTokens | None = None
        self._limiter = anyio.CapacityLimiter(self.limits.max_concurrent_requests)
        #: the github.com web-chat threads (web flavour)
        self.threads = Threads(self._open_context)
        #: the model catalogue (IDE flavour)
        self.models = Models(self._open_context)
        #: ``client.chat.completions`` (IDE flavour)
        self.chat = Chat(self._open_context, self.threads)
        #: OpenAI's Responses API (IDE flavour)
        self.responses = Responses(self._open_context)
        #: Anthropic's Messages API, for Claude models (IDE flavour)
        self.messages = Messages(self._open_context)
        #: ``client.embeddings.create`` (IDE flavour)
        self.embeddings = Embeddings(self._open_context)

    def __repr__(self) -> str:
        state = "open" if self._context is not None else "closed"
        return f"<CopilotClient {state} api={self.hosts.api_url!r} model={self.model!r}>"

    async def _open_transport(self) -> Transport:
        given: Any = self._given_transport
        if given is not None and hasattr(given, "send"):
            return cast(Transport, given)
        return await open_transport(
            self._http,
            timeouts=self.timeouts,
            limits=self.limits,
            # an httpx transport given as ``transport=`` is still accepted (wrapped)
            httpx_transport=given,
            tls=self.hosts.uses_tls,
            **self._transport_options,
        )

    async def _ide_credentials_now(self) -> IdeCredentials | None:
        if self._ide_credentials is not None:
            return self._ide_credentials
        found = await discover_github_token(self._env, self.hosts.github_url)
        return None if found is None else IdeCredentials(github_token=found)

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[CopilotClient]:
        if self._context is not None:
            raise UsageError("this CopilotClient is already open")
        web_credentials = self._web_credentials
        ide_credentials = await self._ide_credentials_now()
        if web_credentials is None and ide_credentials is None:
            raise NoCredentialsError(
                "neither Copilot flavour has a credential. The IDE flavour: "
                f"{ide_where(self._env, self.hosts.github_url)}. The web flavour: {WEB_WHERE}"
            )
        cookies = (
            {}
            if web_credentials is None
            else await web_credentials.load_cookies(self.hosts.github_url)
        )
        transport = await self._open_transport()
        try:
            sender = Sender(transport, retry=self.retry, timeouts=self.timeouts)
            web: WebAPI | None = None
            if web_credentials is not None:
                web = WebAPI(sender, self.hosts, cookies=cookies, web_token_ttl=self._web_token_ttl)
                if web_credentials.web_token is not None:
                    web.use_tokens(StaticToken(web_credentials.web_token))
                else:
                    self._token_manager = TokenManager(web.fetch_web_token)
                    web.use_tokens(self._token_manager)
            ide: IdeAPI | None = None
            if ide_credentials is not None:
                tokens: CopilotTokens | StaticCopilotToken
                if ide_credentials.github_token is not None:
                    tokens = self._copilot_tokens = CopilotTokens(
                        sender,
                        github_api_url=self.hosts.github_api_url,
                        github_token=ide_credentials.github_token,
                        versions=self.versions,
                    )
                else:
                    assert ide_credentials.copilot_token is not None
                    tokens = StaticCopilotToken(ide_credentials.copilot_token, self.hosts.api_url)
                ide = IdeAPI(
                    sender,
                    tokens,
                    versions=self.versions,
                    max_ai_credits=self.limits.max_ai_credits,
                )
            watchdog = IdleWatchdog()
            async with task_group() as tg:
                for manager in (self._token_manager, self._copilot_token_manager):
                    if manager is not None:
                        tg.start_soon(manager.run)
                tg.start_soon(watchdog.run)
                self._context = Context(
                    web_api=web,
                    ide_api=ide,
                    web_missing=WEB_WHERE,
                    ide_missing=ide_where(self._env, self.hosts.github_url),
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

    @property
    def flavours(self) -> frozenset[str]:
        """The flavours this open client has credentials for: ``"ide"``, ``"web"``."""
        context = self._open_context()
        return frozenset(
            name
            for name, api in (("ide", context.ide_api), ("web", context.web_api))
            if api is not None
        )

    @property
    def _copilot_token_manager(self) -> TokenManager | None:
        return None if self._copilot_tokens is None else self._copilot_tokens.manager

    def _open_context(self) -> Context:
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

    async def list_threads(self) -> list[ThreadInfo]:
        """``client.threads.list()``: the account's threads."""
        return await self.threads.list()

    async def delete_thread(self, thread_id: str) -> None:
        """``client.threads.delete()``: delete a thread."""
        await self.threads.delete(thread_id)

    async def web_token(self) -> TokenLease | None:
        """The current web-token lease (fetching one if there is none); None with ``web_token=``."""
        context = self._open_context()
        await context.web().auth.credential()
        return None if self._token_manager is None else self._token_manager.lease

    def usage(self) -> Mapping[str, ModelTotals]:
        """Running totals per model for this client's lifetime (IDE flavour): prompt,
        completion, cached and reasoning tokens, and AI credits when the server metered them.

        Keyed by the model each reply names, which may be the dated version that served the
        request (``gpt-4.1-2025-04-14`` for ``gpt-4.1``); ``result.model`` is the key."""
        return dict(self._open_context().ide().usage.by_model)

    async def quota(self) -> CopilotUser:
        """The plan and every quota snapshot (``copilot_internal/user``): chat, completions,
        premium interactions or credits, the session and weekly windows, overage, reset date."""
        context = self._open_context()
        async with context.limiter:
            return await context.ide().quota()

    @property
    def quota_snapshots(self) -> Mapping[str, QuotaSnapshot]:
        """The latest quota snapshots the replies' ``x-quota-snapshot-*`` and
        ``x-usage-ratelimit-*`` headers carried, by id, without a request of their own."""
        return dict(self._open_context().ide().quota_snapshots)

    def statistics(self) -> ClientStatistics:
        """Counters: token fetches, single-flight high-water mark, requests in flight."""
        manager = self._token_manager
        copilot = self._copilot_token_manager
        return ClientStatistics(
            token_fetches=0 if manager is None else manager.fetches,
            max_token_fetches_in_flight=0 if manager is None else manager.max_in_flight,
            requests_in_flight=self._limiter.borrowed_tokens,
            requests_waiting=self._limiter.statistics().tasks_waiting,
            copilot_token_exchanges=0 if copilot is None else copilot.fetches,
            max_copilot_token_exchanges_in_flight=0 if copilot is None else copilot.max_in_flight,
        )


def _instance(value: Any, kind: type[_T], place: str) -> _T:
    """``value`` when it is a ``kind`` (the default ``kind()`` for None), else UsageError."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise UsageError(f"{place} must be a {kind.__name__}, not {type(value).__name__}")
    return value


_T = TypeVar("_T")
