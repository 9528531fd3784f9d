"""The web flavour's requests, sent through the one send loop; no task and no loop of its own.

``WebAPI`` is shared by ``CopilotClient`` (which adds a task group, background refresh and
an idle watchdog for its ``ChatStream``s) and by the ``GithubCopilot`` facade (an async generator, which must not
own a task group). Requests are described by ``_wire`` without any credential; the auths here
add the github.com cookies (for the web token) or the web token (for everything else), and
``Sender`` applies the 401 and retry rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from .._auth import DEFAULT_WEB_TOKEN_TTL, TokenLease, web_token_lease
from .._config import Hosts
from .._errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RemoteProtocolError,
    WebSessionInvalidError,
)
from .._http import Request, Response
from .._models import ThreadInfo
from .._send import BearerAuth, Sender, TokenSource
from . import _wire as wire

__all__ = ["CookieAuth", "StaticToken", "WebAPI"]


class StaticToken:
    """A token given by the caller (``web_token=``): nothing to refresh it with."""

    __slots__ = ("_refused", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._refused = False

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

    async def get(self) -> str:
        if self._refused:
            raise AuthenticationError(
                "the web token given was refused, and without cookies no other can be fetched",
                status_code=401,
            )
        return self._value

    def invalidate(self, value: str) -> None:
        self._refused = True


class CookieAuth:
    """The github.com session cookies as a ``Cookie`` header (for the GitHub host only)."""

    __slots__ = ("_header",)

    def __init__(self, cookies: Mapping[str, str]) -> None:
        self._header = "; ".join(f"{name}={value}" for name, value in cookies.items())

    def __repr__(self) -> str:
        return "CookieAuth(<redacted>)"

    async def credential(self) -> str:
        return self._header

    def apply(self, request: Request, credential: str) -> Request:
        return request.with_headers({"Cookie": credential})

    def refused(self, credential: str) -> bool:
        return False  # there is nothing else to send


class WebAPI:
    """Web-flavour requests for one github.com account, over one ``Sender``.

    Args:
        sender: the send loop (transport, retries).
        hosts: where github.com and the Copilot API are.
        cookies: the session cookies (empty when only a web token was given).
        tokens: the web token's source; None builds a ``TokenManager``-ready fetch from the
            cookies (see ``fetch_web_token``) and must be set with ``use_tokens`` before use.
        web_token_ttl: the lifetime assumed for a web token the server gives no lifetime for.
        clock: the monotonic clock leases are measured on.
    """

    def __init__(
        self,
        sender: Sender,
        hosts: Hosts,
        *,
        cookies: Mapping[str, str],
        web_token_ttl: float = DEFAULT_WEB_TOKEN_TTL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.sender = sender
        self.hosts = hosts
        self._cookie_names = sorted(cookies)
        self._cookie_auth = CookieAuth(cookies)
        self.web_token_ttl = web_token_ttl
        self._clock = clock
        self._auth: BearerAuth | None = None

    def __repr__(self) -> str:
        # Cookie names only: their values are the user's github.com session.
        return f"WebAPI(hosts={self.hosts!r}, cookies={self._cookie_names})"

    def use_tokens(self, tokens: TokenSource) -> None:
        """Where web tokens come from (a ``TokenManager`` over ``fetch_web_token``, or static)."""
        self._auth = BearerAuth(tokens, wire.AUTH_SCHEME)

    @property
    def auth(self) -> BearerAuth:
        if self._auth is None:  # pragma: no cover - the client and facade set it first
            raise RuntimeError("WebAPI.use_tokens() was not called")
        return self._auth

    async def fetch_web_token(self) -> TokenLease:
        """``POST chat/token`` with the session cookies; a lease on the token it returns.

        Raises WebSessionInvalidError when github.com refuses the cookies (401, 403, 404 or an
        HTML login page instead of JSON), which retrying cannot fix.
        """
        request = wire.web_token_request(self.hosts.github_url)
        error: WebSessionInvalidError
        try:
            payload = await self.sender.send_json(request, self._cookie_auth)
        except (AuthenticationError, PermissionDeniedError, NotFoundError) as exc:
            error = WebSessionInvalidError(
                f"github.com refused the session cookies ({exc.status_code}): sign in again "
                "and export fresh cookies",
                status_code=exc.status_code,
                body=exc.body,
            )
        except RemoteProtocolError:
            error = WebSessionInvalidError(
                "github.com answered chat/token with a page, not a token: the session cookies "
                "are not signed in"
            )
        else:
            return web_token_lease(
                wire.parse_web_token(payload),
                self._clock(),
                ttl=self.web_token_ttl,
                payload=payload,
            )
        # Raised outside the except blocks, so the error carries no chain: what the token
        # request failed with stays behind (``from None`` would still keep it as __context__).
        raise error

    async def create_thread(self) -> str:
        """Create a thread; returns its id."""
        h = self.hosts
        payload = await self.sender.send_json(
            wire.create_thread_request(h.api_url, h.github_url), self.auth
        )
        return wire.parse_thread_id(payload)

    async def list_threads(self) -> list[ThreadInfo]:
        h = self.hosts
        payload = await self.sender.send_json(
            wire.list_threads_request(h.api_url, h.github_url), self.auth
        )
        return wire.parse_threads(payload)

    async def list_messages(self, thread_id: str) -> Any:
        """The thread's messages reply (``{"thread", "messages"}``) as decoded JSON."""
        h = self.hosts
        return await self.sender.send_json(
            wire.list_messages_request(h.api_url, h.github_url, thread_id), self.auth
        )

    async def delete_thread(self, thread_id: str) -> None:
        h = self.hosts
        await self.sender.send_json(
            wire.delete_thread_request(h.api_url, h.github_url, thread_id), self.auth
        )

    def message_request(
        self,
        *,
        thread_id: str,
        content: str,
        model: str,
        parent_message_id: str,
        streaming: bool = True,
    ) -> Request:
        """The message POST of one turn, with a fresh ``responseMessageID`` (retries of this
        request keep it)."""
        return wire.send_message_request(
            self.hosts.api_url,
            self.hosts.github_url,
            thread_id=thread_id,
            content=content,
            model=model,
            parent_message_id=parent_message_id,
            response_message_id=str(uuid.uuid4()),
            streaming=streaming,
        )

    async def open_turn(
        self,
        *,
        thread_id: str,
        content: str,
        model: str,
        parent_message_id: str,
        streaming: bool = True,
    ) -> tuple[Response, wire.WebStreamAccumulator]:
        """Post one user message; the 2xx response (body unread: the caller closes it) and the
        accumulator that reads its reply."""
        request = self.message_request(
            thread_id=thread_id,
            content=content,
            model=model,
            parent_message_id=parent_message_id,
            streaming=streaming,
        )
        if streaming:
            response = await self.sender.open_stream(request, self.auth)
        else:
            response = await self.sender.send(request, self.auth)
        return response, wire.WebStreamAccumulator(thread_id)
