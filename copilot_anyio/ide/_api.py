"""The IDE flavour's requests, sent through the one send loop; no task and no loop of its own.

A GitHub token buys short-lived Copilot tokens at ``copilot_internal/v2/token`` (``CopilotTokens``,
single-flight through a ``TokenManager``, refreshed in the client's task group). Every CAPI request
leaves its builder with a relative path and no credential; ``CapiAuth`` adds the Copilot token and
joins the path with the ``endpoints.api`` that came with that token. A 401 or a 421 (a host that
does not serve this token) drops the token, exchanges again (re-discovering the endpoint) and
sends once more, in the send loop, before any byte reached the caller.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

import anyio

from .._auth import TokenLease
from .._errors import APIStatusError, AuthenticationError, CredentialsError
from .._http import Request, Response
from .._send import BearerAuth, Sender
from .._token_manager import TokenManager
from .._transport import close_response, read_body
from . import _wire as wire
from ._catalogue import Model, ModelCatalogue, parse_models, route
from ._credentials import FoundToken
from ._token import DEFAULT_CAPI_URL, exchange_error, github_token_kind, parse_copilot_token
from ._usage import (
    CopilotUser,
    QuotaSnapshot,
    UsageTotals,
    check_spend_cap,
    parse_copilot_user,
    quotas_from_headers,
    usage_record,
)
from ._versions import DEFAULT_VERSIONS, IdeVersions

__all__ = ["CapiAuth", "CopilotTokens", "IdeAPI", "StaticCopilotToken", "new_request_id"]

_T = TypeVar("_T")

#: How long a client keeps the model list before it asks again.
CATALOGUE_TTL: Final = 300.0


def new_request_id() -> str:
    """The ``X-Request-Id`` of one request (every error of that request carries it)."""
    return str(uuid.uuid4())


class _GitHubToken:
    """The long-lived GitHub token: nothing to refresh it with."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "_GitHubToken(<redacted>)"

    async def get(self) -> str:
        return self._value

    def invalidate(self, value: str) -> None:
        pass


class CopilotTokens:
    """Copilot tokens bought with one GitHub token.

    Args:
        sender: the send loop.
        github_api_url: where ``copilot_internal/v2/token`` lives.
        github_token: the token and where it was found (named in errors, never shown).
        versions: the version pins the exchange sends.
        default_api_url: the CAPI base URL when a reply names none.
    """

    def __init__(
        self,
        sender: Sender,
        *,
        github_api_url: str,
        github_token: FoundToken,
        versions: IdeVersions = DEFAULT_VERSIONS,
        default_api_url: str = DEFAULT_CAPI_URL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._sender = sender
        self._github_api_url = github_api_url
        self._found = github_token
        self._auth = BearerAuth(
            _GitHubToken(github_token.token), wire.GITHUB_AUTH_SCHEME, refreshable=False
        )
        self._versions = versions
        self._default_api_url = default_api_url
        self._clock = clock
        self._api_urls: dict[str, str] = {}
        self.manager = TokenManager(self._exchange)

    def __repr__(self) -> str:
        return f"CopilotTokens(source={self._found.source!r}, manager={self.manager!r})"

    async def get(self) -> str:
        return await self.manager.get()

    def invalidate(self, value: str) -> None:
        self.manager.invalidate(value)

    def api_url_for(self, value: str) -> str:
        """The CAPI base URL that came with the token ``value``."""
        return self._api_urls.get(value) or self._default_api_url

    async def copilot_user(self) -> CopilotUser:
        """``copilot_internal/user``: the plan and every quota snapshot."""
        request = wire.copilot_user_request(
            self._github_api_url, request_id=new_request_id(), versions=self._versions
        )
        return parse_copilot_user(await self._sender.send_json(request, self._auth))

    async def _exchange(self) -> TokenLease:
        request = wire.token_exchange_request(
            self._github_api_url, request_id=new_request_id(), versions=self._versions
        )
        try:
            payload = await self._sender.send_json(request, self._auth)
        except APIStatusError as exc:
            error = exchange_error(
                exc.status_code,
                exc.headers,
                exc.body,
                now=time.time(),
                token_kind=github_token_kind(self._found.token),
                token_source=self._found.source,
            )
        else:
            token = parse_copilot_token(
                payload,
                now=self._clock(),
                wall_now=time.time(),
                default_api_url=self._default_api_url,
            )
            # Only the newest token's base matters; the one before may still be in flight.
            self._api_urls = {
                **dict(list(self._api_urls.items())[-1:]),
                token.value: token.api_url,
            }
            return token.lease
        raise error  # outside the except block: the refused request rides along nowhere


class StaticCopilotToken:
    """A Copilot token given by the caller (``copilot_token=``): it cannot be refreshed."""

    __slots__ = ("_api_url", "_refused", "_value")

    def __init__(self, value: str, api_url: str) -> None:
        self._value = value
        self._api_url = api_url
        self._refused = False

    def __repr__(self) -> str:
        return f"StaticCopilotToken(<redacted>, api_url={self._api_url!r})"

    async def get(self) -> str:
        if self._refused:
            raise AuthenticationError(
                "the Copilot token given was refused, and without a GitHub token no other can "
                "be had: pass github_token= (or sign in with `copilot-anyio login`)",
                status_code=401,
            )
        return self._value

    def invalidate(self, value: str) -> None:
        self._refused = True

    def api_url_for(self, value: str) -> str:
        return self._api_url


class CapiAuth:
    """``Authorization: Bearer <Copilot token>``, and the token's own CAPI host for the path."""

    __slots__ = ("_tokens",)

    def __init__(self, tokens: CopilotTokens | StaticCopilotToken) -> None:
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"CapiAuth({self._tokens!r})"

    async def credential(self) -> str:
        return await self._tokens.get()

    def apply(self, request: Request, credential: str) -> Request:
        url = request.url
        if url.startswith("/"):
            url = self._tokens.api_url_for(credential) + url
        return Request(
            request.method,
            url,
            headers={**request.headers, "Authorization": f"{wire.CAPI_AUTH_SCHEME} {credential}"},
            json=request.json,
        )

    def refused(self, credential: str) -> bool:
        self._tokens.invalidate(credential)
        return True


class IdeAPI:
    """IDE-flavour requests for one account, over one ``Sender``."""

    def __init__(
        self,
        sender: Sender,
        tokens: CopilotTokens | StaticCopilotToken,
        *,
        versions: IdeVersions = DEFAULT_VERSIONS,
        max_ai_credits: float | None = None,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.sender = sender
        self.tokens = tokens
        self.auth = CapiAuth(tokens)
        self.versions = versions
        self._clock = clock
        self._catalogue: ModelCatalogue | None = None
        self._catalogue_at = 0.0
        self._catalogue_lock = anyio.Lock()
        #: running usage totals, per model, for this client's lifetime
        self.usage = UsageTotals()
        #: the latest quota snapshots the replies' headers carried, by id
        self.quota_snapshots: dict[str, QuotaSnapshot] = {}
        #: the spend cap in AI credits (``Limits.max_ai_credits``)
        self.max_ai_credits = max_ai_credits
        sender.observers.append(self.observe)

    def __repr__(self) -> str:
        return f"IdeAPI(tokens={self.tokens!r})"

    async def catalogue(self, *, refresh: bool = False) -> ModelCatalogue:
        """The account's models, kept for ``CATALOGUE_TTL`` seconds (one fetch at a time)."""
        held = self._catalogue
        if held is not None and not refresh and self._clock() - self._catalogue_at < CATALOGUE_TTL:
            return held  # every request routes: a fresh list costs no lock
        async with self._catalogue_lock:
            fresh = self._clock() - self._catalogue_at < CATALOGUE_TTL
            if self._catalogue is None or refresh or not fresh:
                request = wire.models_request(request_id=new_request_id(), versions=self.versions)
                self._catalogue = parse_models(await self.sender.send_json(request, self.auth))
                self._catalogue_at = self._clock()
            return self._catalogue

    async def route(self, model: str, endpoint: str) -> Model:
        """The model, if it serves ``endpoint``; the typed refusal (before sending) if not."""
        return route(await self.catalogue(), model, endpoint)

    async def quota(self) -> CopilotUser:
        """The plan and quotas (``copilot_internal/user``); needs the GitHub token."""
        if not isinstance(self.tokens, CopilotTokens):
            raise CredentialsError(
                "the quota is read with the GitHub token: pass github_token= (a Copilot token "
                "given as copilot_token= cannot read it)"
            )
        user = await self.tokens.copilot_user()
        self.quota_snapshots.update(user.quotas)
        return user

    def observe(self, response: Response) -> None:
        """Read the quota headers of any CAPI reply (errors included) into ``quota_snapshots``."""
        snapshots = quotas_from_headers(response.headers)
        if snapshots:
            self.quota_snapshots.update(snapshots)

    def recorder(self, model: str) -> Callable[[Any], None]:
        """What a finished stream calls with its result: count its usage for ``model``."""

        def record(result: Any) -> None:
            self.usage.add(usage_record(result, model=model))

        return record

    async def _admit(self, model: str, endpoint: str) -> None:
        check_spend_cap(spent=self.usage.credits, cap=self.max_ai_credits, model=model)
        await self.route(model, endpoint)

    def request(self, build: Callable[..., Request], **arguments: Any) -> Request:
        """``build(**arguments)`` with this client's request id and version pins (validated:
        UsageError before any I/O)."""
        return build(request_id=new_request_id(), versions=self.versions, **arguments)

    async def create(
        self, request: Request, model: str, endpoint: str, parse: Callable[[bytes], _T]
    ) -> _T:
        """A whole (non-streamed) reply, counted in ``usage``."""
        await self._admit(model, endpoint)
        response = await self.sender.send(request, self.auth)
        try:
            body = await read_body(response, within=self.sender.timeouts.first_byte)
        finally:
            await close_response(response)
        result = parse(body)
        self.usage.add(usage_record(cast(Any, result), model=model))
        return result

    async def open(self, request: Request, model: str, endpoint: str) -> Response:
        """A streamed reply's response (body unread: the caller closes it)."""
        await self._admit(model, endpoint)
        return await self.sender.open_stream(request, self.auth)
