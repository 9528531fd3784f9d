"""What facade calls share within one event loop run: the web token of each account.

``GithubCopilot.create_async_generator`` is a function, not a client, so nothing of one call
lives on for the next. A ``CopilotClient`` fetches a web token once for all its conversations;
without sharing, a thousand facade calls would fetch a thousand. ``shared_web_tokens`` keeps one
``TokenManager`` per account (hosts and cookies) for the current event loop run (an AnyIO
``RunVar``, so nothing crosses from one loop to another), single-flight as in a client. Each call
still fetches with its own requests: the shared part holds only the lease.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from anyio.lowlevel import RunVar

from ._auth import TokenLease
from ._config import Hosts
from ._credentials import WebCredentials
from ._token_manager import TokenManager

__all__ = ["shared_web_tokens"]

_managers: RunVar[dict[str, TokenManager]] = RunVar("copilot_anyio_web_tokens")


class _CallTokens:
    """One call's view of a shared manager: fetches (when needed) with the call's requests."""

    __slots__ = ("_fetch", "_manager")

    def __init__(self, manager: TokenManager, fetch: Callable[[], Awaitable[TokenLease]]) -> None:
        self._manager = manager
        self._fetch = fetch

    def __repr__(self) -> str:
        return f"_CallTokens({self._manager!r})"

    async def get(self) -> str:
        return await self._manager.get(fetch=self._fetch)

    def invalidate(self, value: str) -> None:
        self._manager.invalidate(value)


def shared_web_tokens(
    hosts: Hosts, credentials: WebCredentials, fetch: Callable[[], Awaitable[TokenLease]]
) -> _CallTokens:
    """The web-token source of one facade call, sharing leases with the loop's other calls."""
    try:
        managers = _managers.get()
    except LookupError:
        managers = {}
        _managers.set(managers)
    key = _account_key(hosts, credentials)
    manager = managers.get(key)
    if manager is None:
        manager = managers[key] = TokenManager(fetch)
    return _CallTokens(manager, fetch)


def _account_key(hosts: Hosts, credentials: WebCredentials) -> str:
    """A digest naming the account: the cookies themselves are never kept as a key."""
    digest = hashlib.sha256()
    digest.update(f"{hosts.github_url}\0{hosts.api_url}\0".encode())
    cookies = credentials.cookies or {}
    for name in sorted(cookies):
        digest.update(f"{name}={cookies[name]}\0".encode())
    digest.update(f"file:{credentials.cookies_file}".encode())
    return digest.hexdigest()
