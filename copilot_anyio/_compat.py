"""``GithubCopilot`` and ``Conversation``: a drop-in for gpt4free's ``GithubCopilot`` provider.

Code written for that provider switches by changing its import::

    from copilot_anyio import GithubCopilot, Conversation

    async for piece in GithubCopilot.create_async_generator(model, messages, stream=True,
                                                            cookies=cookies):
        print(piece, end="")

``create_async_generator`` is an async generator by contract, and an async generator must not
hold a task group or cancel scope across a ``yield``. So it does not open a ``CopilotClient``: it
resolves credentials as the client does (``_credentials``), sends through the same send loop
(``_send``: token, 401 refresh, retries) with the same ``WebAPI``, and runs the same pump
(``_pump``) inline; every cancel scope it uses (a read's idle timer, the shielded close) is
entered and left between two ``yield``s. Close it early with ``contextlib.aclosing`` (or run it
to the end); that closes the HTTP response at once.

What a ``CopilotClient`` pays once the facade pays once too: the TLS context is built once per
process, and the web token of each account is shared by the calls of one event loop run
(``_shared``); a call's connections are its own and closed when it ends.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, ClassVar, Final, cast

import anyio

from ._checks import PROXY_SCHEMES, http_url
from ._client import DEFAULT_MODEL
from ._config import Hosts, Limits, Timeouts
from ._credentials import resolve_web
from ._errors import UsageError
from ._pump import Pump
from ._retry import RetryPolicy
from ._send import Sender
from ._shared import shared_web_tokens
from ._sse import DEFAULT_MAX_EVENT_SIZE
from ._transport import close_response, open_transport
from .web import _wire as wire
from .web._api import StaticToken, WebAPI

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


_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})


def non_empty_or_blank(value: Any, place: str) -> str:
    """A string (empty allowed: the provider reads it as "the default")."""
    if not isinstance(value, str):
        raise UsageError(f"{place} must be a string, not {type(value).__name__}")
    return value


def check_messages(messages: Any) -> None:
    """OpenAI-style messages, checked before anything is sent: UsageError names the element."""
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence):
        raise UsageError(
            f"messages must be a list of {{'role', 'content'}} dicts, not {type(messages).__name__}"
        )
    if not messages:
        raise UsageError("messages must not be empty")
    for index, message in enumerate(messages):
        place = f"messages[{index}]"
        if not isinstance(message, Mapping):
            raise UsageError(f"{place} must be a dict, not {type(message).__name__}")
        role = message.get("role", "user")
        if role not in _ROLES:
            raise UsageError(f"{place}.role must be one of {sorted(_ROLES)}, not {role!r:.40}")
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if isinstance(content, bytes) or not isinstance(content, Sequence):
            raise UsageError(
                f"{place}.content must be a string or a list of parts, not {type(content).__name__}"
            )
        for part_index, part in enumerate(content):
            if not isinstance(part, Mapping):
                raise UsageError(
                    f"{place}.content[{part_index}] must be a dict, not {type(part).__name__}"
                )
            text = part.get("text")
            if text is not None and not isinstance(text, str):
                raise UsageError(f"{place}.content[{part_index}].text must be a string")


def _last_user_message(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role", "user") == "user":
            return wire.flatten_messages([{"role": "user", "content": message.get("content")}])
    return wire.flatten_messages(messages)


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
                ``Timeouts``), ``verify``, ``transport``, ``http`` (``"lean"`` or ``"httpx"``); other keywords the provider's callers
                pass (``timeout``, ``images``, …) are accepted and ignored.

        Yields:
            The ``Conversation`` (first, when ``return_conversation``), then ``str`` pieces.

        Raises:
            CredentialsError: no ``api_key`` and no cookies.
            WebSessionInvalidError: github.com refused the cookies.
            APIStatusError: an HTTP error (subclass per status), after one token refresh on 401.
            StreamError: the reply stream failed (``partial_text`` holds what arrived).
        """
        model = cls.get_model(non_empty_or_blank(cast(Any, model) or "", "model"))
        check_messages(messages)
        if proxy is not None:
            proxy = http_url(proxy, "proxy", schemes=PROXY_SCHEMES)
        if conversation is not None and not isinstance(cast(Any, conversation), Conversation):
            raise UsageError("conversation must be a Conversation")
        if conversation_id is not None:
            wire.thread_segment(conversation_id)
        hosts = Hosts.resolve(
            os.environ, github_url=kwargs.get("github_url"), api_url=kwargs.get("api_url")
        )
        credentials = resolve_web(
            os.environ,
            web_token=api_key,
            cookies=cookies,
            who="GithubCopilot",
            arguments="cookies= or api_key=",
        )
        timeouts = kwargs.get("timeouts") or Timeouts()
        if not isinstance(timeouts, Timeouts):
            raise UsageError(f"timeouts must be a Timeouts, not {type(timeouts).__name__}")
        transport = await open_transport(
            kwargs.get("http"),
            timeouts=timeouts,
            limits=_FACADE_LIMITS,
            proxy=proxy,
            verify=kwargs.get("verify", True),
            httpx_transport=kwargs.get("transport"),
            tls=hosts.uses_tls,
        )
        try:
            sender = Sender(transport, retry=RetryPolicy(), timeouts=timeouts)
            cookies = await credentials.load_cookies(hosts.github_url)
            api = WebAPI(sender, hosts, cookies=cookies)
            if credentials.web_token is not None:
                api.use_tokens(StaticToken(credentials.web_token))
            else:
                api.use_tokens(shared_web_tokens(hosts, credentials, api.fetch_web_token))
            if conversation is not None:
                conversation_id = conversation.conversation_id
            if not conversation_id:
                conversation_id = await api.create_thread()
            if conversation is None or conversation.conversation_id != conversation_id:
                conversation = Conversation(conversation_id)
            if return_conversation:
                yield conversation
                content = _last_user_message(messages)
            else:
                content = wire.flatten_messages(messages)
            response, accumulator = await api.open_turn(
                thread_id=conversation_id,
                content=content,
                model=model,
                parent_message_id=conversation.parent_message_id,
            )
            try:
                pump = Pump(response, accumulator, max_event_size=DEFAULT_MAX_EVENT_SIZE)
                while not pump.done:
                    for chunk in await pump.read_within(timeouts.idle):
                        if stream and chunk.text:
                            yield chunk.text
                result = pump.finish()
                if result.message_id:
                    conversation.parent_message_id = result.message_id
                if not stream:
                    yield result.text
                await pump.drain()
            finally:
                await close_response(response)
        finally:
            with anyio.CancelScope(shield=True):
                await transport.aclose()


#: A facade call sends its few requests one after another.
_FACADE_LIMITS = Limits(max_concurrent_requests=4)
