"""Server-side state: counters, the request log, issued tokens, threads, device grants."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

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
