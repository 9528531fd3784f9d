"""``GithubCopilot`` and ``Conversation``: a drop-in for gpt4free's ``GithubCopilot`` provider.

Code written for that provider switches by changing its import::

    from copilot_anyio import GithubCopilot, Conversation

    async for piece in GithubCopilot.create_async_generator(model, messages, stream=True,
                                                            cookies=cookies):
        print(piece, end="")

``create_async_generator`` is an async generator by contract, and an async generator must not
hold a task group or cancel scope across a ``yield``. So it does not open a ``CopilotClient``: it
drives the same ``WebSession`` (token, thread, message, 401 refresh, retries) and the same
stream reader directly, and every cancel scope it uses (the idle timer, the shielded close) is
entered and left between two ``yield``s. Close it early with ``contextlib.aclosing`` (or run it
to the end); that closes the HTTP response and the connection pool at once.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from typing import Any, ClassVar

import anyio

from . import _web_wire as wire
from ._client import DEFAULT_MODEL, ENV_COOKIES, ENV_COOKIES_FILE
from ._config import Hosts, Limits, Timeouts
from ._cookies import (
    parse_cookie_header,
    parse_netscape_cookies,
    require_header_safe_token,
    require_session,
)
from ._errors import CredentialsError
from ._retry import RetryPolicy
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._token_manager import TokenManager
from ._transport import HTTPTransport
from ._web_session import StaticToken, TokenSource, WebSession, iter_web_chunks

__all__ = ["Conversation", "GithubCopilot"]


class Conversation:
    """A github.com chat thread, as the provider's callers hold it.

    Attributes:
        conversation_id: the thread id.
        parent_message_id: the last assistant message of the thread seen through this object
            (``"root"`` before the first reply), so passing the object back continues the
            conversation where it left off.
    """

    def __init__(self, conversation_id: str, parent_message_id: str = "root") -> None:
        self.conversation_id = conversation_id
        self.parent_message_id = parent_message_id

    def __repr__(self) -> str:
        return f"Conversation(conversation_id={self.conversation_id!r})"


def _last_user_message(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role", "user") == "user":
            return wire.flatten_messages([{"role": "user", "content": message.get("content")}])
    return wire.flatten_messages(messages)


async def _cookies_from_env(github_url: str) -> dict[str, str] | None:
    if os.environ.get(ENV_COOKIES):
        return parse_cookie_header(os.environ[ENV_COOKIES])
    path = os.environ.get(ENV_COOKIES_FILE)
    if path:
        text = await anyio.Path(path).read_text(encoding="utf-8")
        return parse_netscape_cookies(text, host=_host(github_url))
    return None


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]


class GithubCopilot:
    """GitHub Copilot web chat with the interface of gpt4free's ``GithubCopilot`` provider."""

    label: ClassVar[str] = "GitHub Copilot"
    url: ClassVar[str] = "https://github.com/copilot"
    working: ClassVar[bool] = True
    needs_auth: ClassVar[bool] = True
    supports_stream: ClassVar[bool] = True
    default_model: ClassVar[str] = DEFAULT_MODEL
    models: ClassVar[list[str]] = ["gpt-4o", "o1-mini", "o1-preview", "claude-3.5-sonnet"]

    @classmethod
    def get_model(cls, model: str) -> str:
        """The model to use for ``model``: the default model when it is empty."""
        return model or cls.default_model

    @classmethod
    async def create_async_generator(
        cls,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        stream: bool = False,
        api_key: str | None = None,
        proxy: str | None = None,
        cookies: Mapping[str, str] | None = None,
        conversation_id: str | None = None,
        conversation: Conversation | None = None,
        return_conversation: bool = False,
        **kwargs: Any,
    ) -> AsyncGenerator[str | Conversation]:
        """Ask Copilot and yield the answer as ``str`` pieces.

        Args:
            model: the model; the default model when empty.
            messages: OpenAI-style ``{"role", "content"}`` messages.
            stream: yield each text delta as it arrives; otherwise the whole answer once.
            api_key: a web token; when absent one is fetched with the cookies.
            proxy: an HTTP(S) proxy URL.
            cookies: github.com cookies (must include ``user_session``); when absent they are
                read from ``COPILOT_COOKIES`` / ``COPILOT_COOKIES_FILE``.
            conversation_id: the thread to continue; a new thread is created when absent.
            conversation: a ``Conversation`` to continue (wins over ``conversation_id``).
            return_conversation: yield the ``Conversation`` first, and send only the last user
                message (the thread holds the history); otherwise the whole message list is
                flattened into one prompt.
            **kwargs: ``github_url``, ``api_url`` (hosts, e.g. the bundled emulator's base URL;
                else ``COPILOT_GITHUB_URL`` / ``COPILOT_API_URL``), ``timeouts`` (a
                ``Timeouts``), ``verify``, ``transport``; other keywords the provider's callers
                pass (``timeout``, ``images``, …) are accepted and ignored.

        Yields:
            The ``Conversation`` (first, when ``return_conversation``), then ``str`` pieces.

        Raises:
            CredentialsError: no ``api_key`` and no cookies.
            WebSessionInvalidError: github.com refused the cookies.
            APIStatusError: an HTTP error (subclass per status), after one token refresh on 401.
            StreamError: the reply stream failed (``partial_text`` holds what arrived).
        """
        model = cls.get_model(model)
        hosts = Hosts.resolve(
            os.environ, github_url=kwargs.get("github_url"), api_url=kwargs.get("api_url")
        )
        if api_key is None and cookies is None:
            cookies = await _cookies_from_env(hosts.github_url)
            if cookies is None:
                raise CredentialsError(
                    f"GithubCopilot needs api_key= or cookies= (or {ENV_COOKIES} / "
                    f"{ENV_COOKIES_FILE} in the environment)"
                )
        if api_key is not None:
            require_header_safe_token(api_key)
        elif cookies is not None:
            require_session(cookies)
        timeouts = kwargs.get("timeouts")
        transport = await HTTPTransport.open(
            timeouts=timeouts if isinstance(timeouts, Timeouts) else Timeouts(),
            limits=Limits(max_concurrent_requests=4),
            proxy=proxy,
            verify=kwargs.get("verify", True),
            transport=kwargs.get("transport"),
        )
        try:
            session = WebSession(transport, hosts, cookies=cookies or {}, retry=RetryPolicy())
            tokens: TokenSource = (
                StaticToken(api_key) if api_key else TokenManager(session.fetch_web_token)
            )
            if conversation is not None:
                conversation_id = conversation.conversation_id
            if not conversation_id:
                conversation_id = await session.create_thread(tokens)
            if conversation is None or conversation.conversation_id != conversation_id:
                conversation = Conversation(conversation_id)
            if return_conversation:
                yield conversation
                content = _last_user_message(messages)
            else:
                content = wire.flatten_messages(messages)
            thread_id = conversation_id
            build = session.message_builder(
                thread_id=thread_id,
                content=content,
                model=model,
                parent_message_id=conversation.parent_message_id,
            )

            response = await session.open_stream(tokens, build)
            try:
                accumulator = wire.WebStreamAccumulator(thread_id)
                async with aclosing(
                    iter_web_chunks(
                        response,
                        accumulator,
                        idle=transport.timeouts.idle,
                        max_event_size=DEFAULT_MAX_EVENT_SIZE,
                    )
                ) as chunks:
                    async for chunk in chunks:
                        if stream and chunk.text:
                            yield chunk.text
                        if accumulator.completed:
                            result = accumulator.result()
                            if result.message_id:
                                conversation.parent_message_id = result.message_id
                            if not stream:
                                yield result.text
            finally:
                await transport.close(response)
        finally:
            await _close_quietly(transport)


async def _close_quietly(transport: HTTPTransport) -> None:
    with anyio.CancelScope(shield=True):
        await transport.aclose()
