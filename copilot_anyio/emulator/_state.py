"""Server-side state: counters, the request log, issued tokens, threads, device grants, and
:class:`EmulatorState`, the one object the route handlers share.

Handlers see only :class:`EmulatorState` (through the per-request context), never the
:class:`~copilot_anyio.emulator.Emulator` that owns it, so this module sits below every handler
module and imports none of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import secrets
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import anyio

from ._config import EmulatorConfig
from ._faults import Fault


def utc_iso(ts: float, *, nanos: bool = False) -> str:
    """RFC 3339 in UTC; with ``nanos``, nine fractional digits as the web stream sends."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    if nanos:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class RecordedRequest:
    """One request as the emulator saw it."""

    route: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Lower-cased names; repeated headers joined with ``", "``."""
    body: bytes
    status: int = 0
    """The response status (0 while the request is being handled)."""
    account: str | None = None
    """The login the credential mapped to, when authentication succeeded."""
    fault: Fault | None = None

    def json(self) -> Any:
        """The body parsed as JSON (whatever ``Content-Type`` said), or ``None``."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class Stats:
    """Counters a test asserts on. :meth:`reset` zeroes all but the live gauges
    (``streams_open``, ``token_requests_in_flight``)."""

    requests: Counter[tuple[str, int]]
    """``(route, status)`` → count."""
    web_tokens_issued: int
    copilot_tokens_issued: int
    token_requests_in_flight: int
    max_token_requests_in_flight: int
    """Across both token endpoints, for the whole server."""
    streams_open: int
    """Bodies currently being written by the stream writer."""
    streams_completed: int
    streams_aborted: int
    """Client went away, connection dropped, or server shut down before the end."""
    bytes_sent: int
    """Response body bytes written, streamed or not (headers excluded)."""
    client_disconnects: int
    """Requests whose client went away before sending its whole body (they are not answered,
    not logged in ``request_log`` and not counted in ``requests``)."""
    usage: Counter[str]
    """Per-account count of chat messages / completions / responses served."""
    cookie_leaks: int
    """Requests to API-host routes carrying github.com cookies (protocol.md §2.1)."""
    last_request_headers: dict[str, dict[str, str]]
    """Route → headers of its latest request."""
    request_log: list[RecordedRequest]
    """Every request, oldest first."""
    parent_message_ids: list[str | None]
    """``parentMessageID`` of every web message POST, in order (``None`` when absent)."""

    def __init__(self) -> None:
        self.token_requests_in_flight = 0
        self.streams_open = 0
        self.reset()

    def reset(self) -> None:
        self.requests = Counter()
        self.web_tokens_issued = 0
        self.copilot_tokens_issued = 0
        self.max_token_requests_in_flight = self.token_requests_in_flight
        self.streams_completed = 0
        self.streams_aborted = 0
        self.bytes_sent = 0
        self.client_disconnects = 0
        self.usage = Counter()
        self.cookie_leaks = 0
        self.last_request_headers = {}
        self.request_log = []
        self.parent_message_ids = []

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """All recorded requests to ``route``, oldest first."""
        return [r for r in self.request_log if r.route == route]

    def last_request(self, route: str) -> RecordedRequest:
        """The latest request to ``route``; :class:`LookupError` if there was none."""
        for record in reversed(self.request_log):
            if record.route == route:
                return record
        raise LookupError(f"no request to {route!r} recorded")

    def count(self, route: str, status: int | None = None) -> int:
        """Requests to ``route`` answered (with ``status``, if given)."""
        return sum(n for (r, s), n in self.requests.items() if r == route and status in (None, s))

    def __repr__(self) -> str:
        return (
            f"Stats(requests={dict(self.requests)!r}, streams_open={self.streams_open}, "
            f"streams_completed={self.streams_completed}, streams_aborted={self.streams_aborted})"
        )


TokenKind = Literal["web", "copilot", "user"]


@dataclass
class IssuedToken:
    value: str
    kind: TokenKind
    account: str
    expires_at: float
    """Unix seconds; ``math.inf`` for user tokens."""
    integration_id: str | None = None
    api_host: str | None = None
    """Host (``host:port``) of the ``endpoints.api`` a Copilot token was issued with."""


def make_web_token() -> str:
    # 108 characters of URL-safe base64 ending in "=" (protocol.md §2.2).
    return base64.urlsafe_b64encode(os.urandom(80)).decode()


def make_copilot_token(*, expires_at: int, sku: str, proxy_host: str) -> str:
    fields = (
        f"tid={secrets.token_hex(16)};exp={expires_at};sku={sku};proxy-ep={proxy_host};"
        "st=dotcom;chat=1;cit=1;malfil=1;editor_preview_features=1;8kp=1"
    )
    return f"{fields}:{secrets.token_hex(32)}"


def make_user_token() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "ghu_" + "".join(secrets.choice(alphabet) for _ in range(36))


def login_for(credential: str) -> str:
    """A stable pseudo-login for a credential (never the credential itself)."""
    return "user-" + hashlib.sha256(credential.encode()).hexdigest()[:8]


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    role: Literal["user", "assistant"]
    content: str
    parent_id: str
    created_at: str
    intent: str
    model: str
    turn: int
    """Depth in the chain: 1 for the first exchange of a thread."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parentMessageID": self.parent_id,
            "intent": self.intent,
            "role": self.role,
            "content": self.content,
            "createdAt": self.created_at,
            "threadID": self.thread_id,
            "references": [],
            "skillExecutions": [],
            "copilotAnnotations": {"CodeVulnerability": [], "PublicCodeReference": []},
            "interrupted": False,
            "confirmations": [],
            "clientConfirmations": [],
            "model": self.model,
        }


@dataclass
class StoredThread:
    id: str
    account: str
    created_at: str
    updated_at: str
    name: str = ""
    messages: list[StoredMessage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "repoID": 0,
            "repoOwnerID": 0,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "sharedAt": None,
            "associatedRepoIDs": [],
            "manuallyNamed": False,
        }

    def message(self, message_id: str) -> StoredMessage | None:
        for message in self.messages:
            if message.id == message_id:
                return message
        return None


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    expires_at: float
    interval: int
    polls: int = 0
    terminal: str | None = None
    access_token: str | None = None


@dataclass
class StoredResponse:
    id: str
    account: str
    turn: int


class FaultQueues:
    """Per-route FIFO queues of scripted faults."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def push(self, route: str, fault: Fault, times: int) -> None:
        queue = self._queues.setdefault(route, deque())
        queue.extend([fault] * times)

    def pop(self, route: str) -> Fault | None:
        queue = self._queues.get(route)
        if not queue:
            return None
        return queue.popleft()

    def pending(self, route: str | None = None) -> int:
        if route is not None:
            return len(self._queues.get(route, ()))
        return sum(len(q) for q in self._queues.values())

    def clear(self) -> None:
        self._queues.clear()


class StreamRegistry:
    """Bodies being written: their cancel scopes, the ``streams_*`` counters, and waiters.

    The stream writer reports each body's start and end here; the server cancels the live ones
    when it stops; :meth:`wait_all_closed` lets a test prove a cancelled stream's socket closed.
    """

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self._scopes: set[anyio.CancelScope] = set()
        self._waiters: list[anyio.Event] = []

    def opened(self) -> None:
        """A body started (``stats.streams_open`` goes up)."""
        self.stats.streams_open += 1

    def track(self, scope: anyio.CancelScope) -> None:
        """Cancel ``scope`` when the server stops (until :meth:`untrack`)."""
        self._scopes.add(scope)

    def untrack(self, scope: anyio.CancelScope) -> None:
        self._scopes.discard(scope)

    def closed(self, *, completed: bool) -> None:
        """A body ended, cleanly (``completed``) or not; wakes :meth:`wait_all_closed`."""
        stats = self.stats
        stats.streams_open -= 1
        if completed:
            stats.streams_completed += 1
        else:
            stats.streams_aborted += 1
        waiters, self._waiters = self._waiters, []
        for event in waiters:
            event.set()

    def cancel_all(self) -> None:
        """Cancel every body still being written (they end as aborted)."""
        for scope in list(self._scopes):
            scope.cancel()

    async def wait_all_closed(self) -> None:
        """Return once ``stats.streams_open`` is 0 (waits forever otherwise)."""
        while self.stats.streams_open:
            event = anyio.Event()
            self._waiters.append(event)
            await event.wait()


_USER_TOKEN = re.compile(r"^gh[uo]_[A-Za-z0-9_]{20,255}$")
_PAT = re.compile(r"^(ghp_|github_pat_)")


class EmulatorState:
    """What the route handlers share, and all they get: settings, counters and server state.

    An :class:`~copilot_anyio.emulator.Emulator` owns one (``emu.state``). Its attributes and
    methods are the emulator's internal state API: stable enough for tests that need to look
    deeper than :class:`Stats` and the :class:`~copilot_anyio.emulator.Emulator` methods, but
    prefer those when they suffice.

    Attributes:
        config: The settings, read on every request (``emu.config`` is the same object).
        stats: Counters and the request log (``emu.stats``).
        base_url: The emulator's own URL while served, else ``""``.
        faults: Scripted faults per route (:class:`FaultQueues`).
        tokens: Every issued token by value (:class:`IssuedToken`).
        threads: Web threads by id (:class:`StoredThread`).
        devices: Device-flow grants by ``device_code`` (:class:`DeviceGrant`).
        responses: ``/responses`` replies by id, for ``previous_response_id``.
        policies: ``(account, model id)`` pairs whose model policy the account enabled.
        streams: Bodies being written (:class:`StreamRegistry`).
        stopping: Set while the server shuts down: requests still arriving get 503.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.stats = Stats()
        self.base_url = ""
        self.faults = FaultQueues()
        self.tokens: dict[str, IssuedToken] = {}
        self.threads: dict[str, StoredThread] = {}
        self.devices: dict[str, DeviceGrant] = {}
        self.responses: dict[str, StoredResponse] = {}
        self.policies: set[tuple[str, str]] = set()
        self.streams = StreamRegistry(self.stats)
        self.stopping = False
        self._handlers: set[anyio.CancelScope] = set()

    def __repr__(self) -> str:
        return (
            f"<EmulatorState base_url={self.base_url!r} tokens={len(self.tokens)} "
            f"threads={len(self.threads)}>"
        )

    # -- serving ---------------------------------------------------------------------------
    def track_handler(self, scope: anyio.CancelScope) -> None:
        """Cancel ``scope`` (a request being handled) when the server stops, until
        :meth:`untrack_handler`."""
        self._handlers.add(scope)

    def untrack_handler(self, scope: anyio.CancelScope) -> None:
        self._handlers.discard(scope)

    def stop(self) -> None:
        """The server is stopping: cancel every request still being handled and every body
        still being written, and answer later requests with 503.

        Ending them here, before the server's grace period runs out, lets every connection close
        on its own instead of being cancelled by the server.
        """
        self.stopping = True
        for scope in list(self._handlers):
            scope.cancel()
        self.streams.cancel_all()

    # -- tokens and accounts ---------------------------------------------------------------
    def issue(
        self,
        kind: TokenKind,
        value: str,
        account: str,
        ttl: float,
        integration_id: str | None = None,
        api_host: str | None = None,
    ) -> IssuedToken:
        """Record a token valid for ``ttl`` seconds from now and return it."""
        token = IssuedToken(value, kind, account, time.time() + ttl, integration_id, api_host)
        self.tokens[value] = token
        return token

    def issue_user_token(self, login: str | None = None) -> str:
        """Mint a ``ghu_…`` user token that never expires and return its value."""
        value = make_user_token()
        self.tokens[value] = IssuedToken(value, "user", login or login_for(value), math.inf)
        return value

    def lookup(self, value: str, kind: TokenKind) -> IssuedToken | None:
        """The issued token of that ``kind`` with that value, if any (expired ones included)."""
        token = self.tokens.get(value)
        return token if token is not None and token.kind == kind else None

    def expire_tokens(self) -> None:
        """Every web and Copilot token issued so far is now expired."""
        past = time.time() - 1
        for token in self.tokens.values():
            if token.kind in ("web", "copilot"):
                token.expires_at = past

    def account_for_cookie(self, user_session: str) -> str | None:
        """The login a ``user_session`` cookie belongs to, or ``None``."""
        if not user_session:
            return None
        accounts = self.config.accounts
        if accounts is None:
            return login_for(user_session)
        return accounts.get(user_session)

    def account_for_user_token(self, value: str) -> str | None:
        """The login a GitHub user token belongs to, or ``None``."""
        issued = self.lookup(value, "user")
        if issued is not None:
            return issued.account
        accounts = self.config.accounts
        if accounts is not None:
            return accounts.get(value)
        return login_for(value) if _USER_TOKEN.match(value) else None

    @staticmethod
    def is_pat(value: str) -> bool:
        """A classic or fine-grained personal access token (``ghp_``, ``github_pat_``)."""
        return bool(_PAT.match(value))

    # -- models ----------------------------------------------------------------------------
    def model(self, model_id: Any) -> dict[str, Any] | None:
        """The catalogue entry whose ``id`` is ``model_id`` (a string), or ``None``."""
        for entry in self.config.models:
            if isinstance(model_id, str) and entry.get("id") == model_id:
                return entry
        return None

    def policy_enabled(self, account: str, model_id: Any) -> bool:
        """Whether ``account`` enabled the policy of ``model_id``."""
        return (account, model_id) in self.policies

    def set_policy(self, account: str, model_id: str, *, enabled: bool) -> None:
        if enabled:
            self.policies.add((account, model_id))
        else:
            self.policies.discard((account, model_id))
