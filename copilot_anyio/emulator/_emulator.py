"""The :class:`Emulator`: the ASGI app over one :class:`EmulatorState`, plus the test-facing API."""

from __future__ import annotations

from typing import final

from starlette.applications import Starlette

from ._app import build_app
from ._config import EmulatorConfig
from ._faults import Fault
from ._routes import ROUTES
from ._state import EmulatorState, Stats, StoredThread


@final
class Emulator:
    """A GitHub Copilot look-alike (web threads and IDE flavours) with scriptable faults.

    Serve it with :func:`~copilot_anyio.emulator.serve_emulator`; ``app`` is the Starlette
    application, usable with any ASGI server.

    Attributes:
        app: The ASGI application.
        state: The :class:`~copilot_anyio.emulator.EmulatorState` the route handlers share
            (issued tokens, threads, device grants, fault queues, live streams). ``config``,
            ``stats`` and ``base_url`` below are views of it.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.state = EmulatorState(config)
        self.app: Starlette = build_app(self.state)

    def __repr__(self) -> str:
        return f"<Emulator base_url={self.base_url!r}>"

    @property
    def config(self) -> EmulatorConfig:
        """Mutable settings, read on every request; assign a new one to replace them all."""
        return self.state.config

    @config.setter
    def config(self, value: EmulatorConfig) -> None:
        self.state.config = value

    @property
    def stats(self) -> Stats:
        """Counters and the request log."""
        return self.state.stats

    @property
    def base_url(self) -> str:
        """``"http://127.0.0.1:<port>"`` while served, else ``""``."""
        return self.state.base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.state.base_url = value

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
        self.state.faults.push(route, fault, times)

    def pending_faults(self, route: str | None = None) -> int:
        """Scripted faults not yet consumed (for ``route``, or in total)."""
        return self.state.faults.pending(route)

    def clear_faults(self) -> None:
        """Forget every scripted fault not yet consumed."""
        self.state.faults.clear()

    # -- tokens ------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        """Every web and Copilot token issued so far is now expired."""
        self.state.expire_tokens()

    def issue_user_token(self, login: str | None = None) -> str:
        """Mint a ``ghu_…`` user token, as a finished device flow would, and return it."""
        return self.state.issue_user_token(login)

    # -- state -------------------------------------------------------------------------------
    def threads(self, account: str | None = None) -> list[StoredThread]:
        """Server-side threads (of ``account``, or all), oldest first.

        Each :class:`StoredThread` has ``id``, ``account``, ``name`` and ``messages``
        (:class:`StoredMessage`: ``id``, ``role``, ``content``, ``parent_id``, ``turn``, …).
        """
        return [t for t in self.state.threads.values() if account is None or t.account == account]

    def accounts_seen(self) -> set[str]:
        """Logins that obtained a token (web, Copilot, or a device-flow user token) so far."""
        return {t.account for t in self.state.tokens.values()}

    async def wait_streams_closed(self) -> None:
        """Return once no body is being written (``stats.streams_open == 0``).

        A stream closes when it ends, when the server drops or stops it, or when the emulator
        notices that the client went away; so after a client cancels a stream, this returning
        proves the socket was really closed. It waits forever otherwise: wrap it in
        ``anyio.fail_after()``.
        """
        await self.state.streams.wait_all_closed()
