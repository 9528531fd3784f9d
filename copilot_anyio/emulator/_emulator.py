"""The :class:`Emulator`: configuration, state, fault scripts and the ASGI app in one object."""

from __future__ import annotations

import math
import re
import time
from typing import Any, final

import anyio
from starlette.applications import Starlette

from ._app import build_app
from ._config import EmulatorConfig
from ._faults import Fault
from ._routes import ROUTES
from ._state import (
    DeviceGrant,
    FaultQueues,
    IssuedToken,
    Stats,
    StoredResponse,
    StoredThread,
    TokenKind,
    login_for,
    make_user_token,
)

_USER_TOKEN = re.compile(r"^gh[uo]_[A-Za-z0-9_]{20,255}$")
_PAT = re.compile(r"^(ghp_|github_pat_)")


@final
class Emulator:
    """A GitHub Copilot look-alike (web threads and IDE flavours) with scriptable faults.

    Serve it with :func:`~copilot_anyio.emulator.serve_emulator`; ``app`` is the Starlette
    application, usable with any ASGI server.

    Attributes:
        app: The ASGI application.
        base_url: ``"http://127.0.0.1:<port>"`` while served, else ``""``.
        config: Mutable settings, read on every request.
        stats: Counters and the request log.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.stats = Stats()
        self.base_url = ""
        self._faults = FaultQueues()
        self._tokens: dict[str, IssuedToken] = {}
        self._threads: dict[str, StoredThread] = {}
        self._devices: dict[str, DeviceGrant] = {}
        self._responses: dict[str, StoredResponse] = {}
        self._policies: set[tuple[str, str]] = set()
        self._active_streams: set[anyio.CancelScope] = set()
        self._stream_waiters: list[anyio.Event] = []
        self.app: Starlette = build_app(self)

    def __repr__(self) -> str:
        return f"<Emulator base_url={self.base_url!r}>"

    # -- fault scripting ---------------------------------------------------------------------
    def script(self, route: str, fault: Fault, *, times: int = 1) -> None:
        """The next ``times`` requests to ``route`` get ``fault`` (appended to the route's FIFO).

        Raises:
            ValueError: ``route`` is not one of :data:`ROUTES`, or ``times`` < 1.
        """
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; expected one of {sorted(ROUTES)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.push(route, fault, times)

    def pending_faults(self, route: str | None = None) -> int:
        """Scripted faults not yet consumed (for ``route``, or in total)."""
        return self._faults.pending(route)

    def clear_faults(self) -> None:
        """Forget every scripted fault not yet consumed."""
        self._faults.clear()

    # -- tokens ------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every web and Copilot token issued so far is now expired."""
        past = time.time() - 1
        for token in self._tokens.values():
            if token.kind in ("web", "copilot"):
                token.expires_at = past

    def issue_user_token(self, login: str | None = None) -> str:
        """Mint a ``ghu_…`` user token, as a finished device flow would, and return it."""
        value = make_user_token()
        self._tokens[value] = IssuedToken(value, "user", login or login_for(value), math.inf)
        return value

    def _issue(
        self, kind: TokenKind, value: str, account: str, ttl: float, integration_id: str | None
    ) -> IssuedToken:
        token = IssuedToken(value, kind, account, time.time() + ttl, integration_id)
        self._tokens[value] = token
        return token

    def _lookup(self, value: str, kind: TokenKind) -> IssuedToken | None:
        token = self._tokens.get(value)
        return token if token is not None and token.kind == kind else None

    def _account_for_cookie(self, user_session: str) -> str | None:
        if not user_session:
            return None
        accounts = self.config.accounts
        if accounts is None:
            return login_for(user_session)
        return accounts.get(user_session)

    def _account_for_user_token(self, value: str) -> str | None:
        issued = self._lookup(value, "user")
        if issued is not None:
            return issued.account
        accounts = self.config.accounts
        if accounts is not None:
            return accounts.get(value)
        return login_for(value) if _USER_TOKEN.match(value) else None

    @staticmethod
    def _is_pat(value: str) -> bool:
        return bool(_PAT.match(value))

    # -- state -------------------------------------------------------------------------------
    def threads(self, account: str | None = None) -> list[StoredThread]:
        """Server-side threads (of ``account``, or all), oldest first.

        Each :class:`StoredThread` has ``id``, ``account``, ``name`` and ``messages``
        (:class:`StoredMessage`: ``id``, ``role``, ``content``, ``parent_id``, ``turn``, …).
        """
        return [t for t in self._threads.values() if account is None or t.account == account]

    def accounts_seen(self) -> set[str]:
        """Logins that obtained a token (web, Copilot, or a device-flow user token) so far."""
        return {t.account for t in self._tokens.values()}

    async def wait_streams_closed(self) -> None:
        """Return once no body is being written (``stats.streams_open == 0``).

        A stream closes when it ends, when the server drops or stops it, or when the emulator
        notices that the client went away; so after a client cancels a stream, this returning
        proves the socket was really closed. It waits forever otherwise: wrap it in
        ``anyio.fail_after()``.
        """
        while self.stats.streams_open:
            event = anyio.Event()
            self._stream_waiters.append(event)
            await event.wait()

    def _stream_closed(self) -> None:
        waiters, self._stream_waiters = self._stream_waiters, []
        for event in waiters:
            event.set()

    def _cancel_streams(self) -> None:
        for scope in list(self._active_streams):
            scope.cancel()

    def _model(self, model_id: Any) -> dict[str, Any] | None:
        for entry in self.config.models:
            if isinstance(model_id, str) and entry.get("id") == model_id:
                return entry
        return None
