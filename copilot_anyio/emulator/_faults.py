"""Scripted faults: what the next request(s) to a route get instead of, or on top of, the reply.

A :class:`Fault` is plain data; the app interprets it. Four families:

* **status** faults replace the response (``status``, ``rate_limited``,
  ``session_rate_limited``, ``weekly_rate_limited``, ``quota_exceeded``, ``token_expired``,
  ``forbidden``, ``github_rate_limited``, ``not_a_copilot_token``, ``api_version_unsupported``,
  ``misdirected``, ``server_error``, ``unavailable``); no authentication or validation runs;
* **delay** sleeps before the response headers, then the request is handled normally;
* **stream** faults alter a body while it is written (``stall``, ``drop``, ``truncate``,
  ``finish_error``, ``midstream_error``, ``early_failure``, ``malformed_json``, ``oversized_event``,
  ``trickle``).
  ``after_chunks`` counts content events (text deltas) written before the fault strikes. On a
  non-streaming (JSON) reply only ``stall``, ``drop`` and ``trickle`` apply: the body is written in
  two halves and the fault strikes after the first;
* **content** faults change what one JSON reply says (``malformed_model`` on ``models``,
  ``token_envelope`` on ``copilot.token``); scripted on another route they change nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args
from urllib.parse import urlencode

FaultKind = Literal[
    "status",
    "delay",
    "stall",
    "drop",
    "truncate",
    "finish_error",
    "midstream_error",
    "malformed_json",
    "oversized_event",
    "trickle",
    "linger",
    "early_failure",
    "extra_model",
    "token_envelope",
]

STATUS_KINDS: frozenset[str] = frozenset({"status"})
#: Faults that change what a JSON reply says.
CONTENT_KINDS: frozenset[str] = frozenset({"extra_model", "token_envelope"})
#: Faults that shape a streamed body (every kind but those acting before it starts or on what
#: a JSON reply says).
STREAM_KINDS: frozenset[str] = frozenset(get_args(FaultKind)) - {"status", "delay"} - CONTENT_KINDS

#: The entry :meth:`Fault.malformed_model` adds by default: every field the wrong type.
MALFORMED_MODEL: dict[str, object] = {
    "id": 42,
    "name": None,
    "capabilities": "not-an-object",
    "supported_endpoints": "nope",
}

_TEXT = "text/plain; charset=utf-8"


#: Body of the 466 CAPI sent to sunset clients (protocol.md §10.1), trailing newline included.
SUNSET_BODY = (
    '{"error":{"message":"bad request: the specified API version is no longer supported. You '
    'may need to update your client to a newer version.\\n","type":"error"}}\n'
)


def window_reset(window: str, now: float) -> float:
    """When a short window resets: 5 hours on for ``session``, next Monday 00:00 UTC for
    ``weekly`` (protocol.md §10.3)."""
    if window == "weekly":
        today = datetime.fromtimestamp(now, tz=UTC).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        return (today + timedelta(days=7 - today.weekday())).timestamp()
    return now + 5 * 3600


def usage_window_header(percent_remaining: float, reset_at: float) -> str:
    """An ``x-usage-ratelimit-*`` value, URL-encoded like ``x-quota-snapshot-*``."""
    reset = datetime.fromtimestamp(reset_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return urlencode(
        {"ent": 0, "ov": "0.0", "ovPerm": "false", "rem": percent_remaining, "rst": reset}
    )


def _json_text(payload: object) -> str:
    # CAPI serves JSON error bodies as text/plain with a trailing newline (protocol.md §5.1).
    return json.dumps(payload, separators=(",", ":")) + "\n"


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted misbehaviour. Build it with the classmethods, not the constructor."""

    kind: FaultKind
    status_code: int = 0
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = _TEXT
    seconds: float = 0.0
    after_chunks: int | None = None
    keepalive: float | None = None
    size: int = 0
    message: str = field(default="upstream error")
    payload: str = ""
    """JSON text a content fault puts into the reply."""
    omit: tuple[str, ...] = ()
    """Fields a content fault removes from the reply."""

    # -- status faults -----------------------------------------------------------------------
    @classmethod
    def status(
        cls,
        status: int,
        *,
        body: str = "",
        headers: dict[str, str] | None = None,
        content_type: str = _TEXT,
    ) -> Fault:
        """Answer ``status`` with ``body`` (text, served as ``content_type``) and extra ``headers``."""
        return cls(
            kind="status",
            status_code=status,
            body=body,
            headers=tuple((headers or {}).items()),
            content_type=content_type,
        )

    @classmethod
    def rate_limited(cls, retry_after: str = "1", *, code: str = "rate_limited") -> Fault:
        """429 with ``retry-after`` (seconds or an HTTP date) and ``x-ratelimit-exceeded``."""
        return cls.status(
            429,
            body=_json_text(
                {
                    "error": {
                        "message": "Sorry, you have been rate-limited. Please wait a moment before trying again.",
                        "code": code,
                        "type": "rate_limit_error",
                    }
                }
            ),
            headers={"retry-after": retry_after, "x-ratelimit-exceeded": code},
        )

    @classmethod
    def session_rate_limited(cls, retry_after: int = 2733, *, plan: str = "pro") -> Fault:
        """429 for an exhausted 5-hour session window (protocol.md §10.3): code
        ``user_global_rate_limited:<plan>``, ``retry-after`` and ``x-ratelimit-user-retry-after``
        in seconds, ``x-ratelimit-exceeded`` naming the 5-hour key, and
        ``x-usage-ratelimit-session`` at 0 % remaining."""
        return cls._window_limited(
            "session",
            retry_after,
            code=f"user_global_rate_limited:{plan}" if plan else "user_global_rate_limited",
            message=f"Sorry, you've exceeded your 5 hour session limits. Please retry after "
            f"{retry_after} seconds.",
            key="global-usage-5-hour-key",
        )

    @classmethod
    def weekly_rate_limited(cls, retry_after: int = 180_000) -> Fault:
        """429 for an exhausted weekly window (protocol.md §10.3): code
        ``user_weekly_rate_limited``, the same retry headers, ``x-ratelimit-exceeded`` naming the
        weekly key, and ``x-usage-ratelimit-weekly`` at 0 % remaining. Waits of 50 hours and
        more are real: the default is 50."""
        return cls._window_limited(
            "weekly",
            retry_after,
            code="user_weekly_rate_limited",
            message=f"Sorry, you've exceeded your weekly rate limit. Please retry after "
            f"{retry_after} seconds.",
            key="global-usage-weekly-key",
        )

    @classmethod
    def _window_limited(
        cls, window: str, retry_after: int, *, code: str, message: str, key: str
    ) -> Fault:
        reset = time.time() + retry_after
        return cls.status(
            429,
            body=_json_text(
                {"error": {"message": message, "code": code, "type": "rate_limit_error"}}
            ),
            headers={
                "retry-after": str(retry_after),
                "x-ratelimit-user-retry-after": str(retry_after),
                "x-ratelimit-exceeded": f"global-chat:{key}:userID:COPILOT_PLAN_INDIVIDUAL",
                f"x-usage-ratelimit-{window}": usage_window_header(0.0, reset),
            },
        )

    @classmethod
    def api_version_unsupported(cls) -> Fault:
        """466 with the body CAPI sent when it sunset old API versions (protocol.md §10.1)."""
        return cls.status(466, body=SUNSET_BODY)

    @classmethod
    def misdirected(cls) -> Fault:
        """421 ``Misdirected Request``: the host does not serve this token's seat (§10.8)."""
        return cls.status(421, body="Misdirected Request\n")

    @classmethod
    def not_a_copilot_token(cls) -> Fault:
        """A plain 404 from the token exchange, without the Copilot envelope: what a token of an
        app that is not Copilot-enabled (``gh auth login``) gets (protocol.md §10.9)."""
        return cls.status(
            404,
            body=_json_text(
                {
                    "message": "Not Found",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "404",
                }
            ),
            content_type="application/json; charset=utf-8",
        )

    @classmethod
    def quota_exceeded(
        cls, retry_after: str = "Fri, 01 Jan 2027 00:00:00 GMT", *, code: str = "quota_exceeded"
    ) -> Fault:
        """402 ``quota_exceeded`` with ``retry-after`` (an HTTP date by default, or seconds)."""
        return cls.status(
            402,
            body=_json_text({"error": {"message": "You have no quota", "code": code}}),
            headers={"retry-after": retry_after},
        )

    @classmethod
    def token_expired(cls) -> Fault:
        """401 ``text/plain`` ``unauthorized: token expired``."""
        return cls.status(401, body="unauthorized: token expired\n")

    @classmethod
    def forbidden(cls, notification_id: str = "no_copilot_access") -> Fault:
        """403 with the token-endpoint envelope of protocol.md §5.3."""
        return cls.status(
            403,
            body=_json_text(
                {
                    "error_details": {
                        "url": "https://github.com/github-copilot/signup?editor={EDITOR}",
                        "message": "No access to GitHub Copilot found. You are currently logged in as octocat.",
                        "title": "Signup for GitHub Copilot",
                        "notification_id": notification_id,
                    },
                    "message": "Resource not accessible by integration",
                    "can_signup_for_limited": True,
                }
            ),
            content_type="application/json; charset=utf-8",
        )

    @classmethod
    def github_rate_limited(cls, user_id: int = 1) -> Fault:
        """403 GitHub API rate limit on ``api.github.com`` (the token endpoint's limit)."""
        return cls.status(
            403,
            body=_json_text(
                {
                    "message": f"API rate limit exceeded for user ID {user_id}. If you reach out "
                    "to GitHub Support for help, please include the request ID.",
                    "documentation_url": "https://developer.github.com/rest/overview/rate-limits-for-the-rest-api",
                    "status": "403",
                }
            ),
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1750003600"},
            content_type="application/json; charset=utf-8",
        )

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        """A 5xx with a JSON error body served as text/plain."""
        return cls.status(
            status,
            body=_json_text(
                {"error": {"message": "Internal server error", "code": "server_error"}}
            ),
        )

    @classmethod
    def unavailable(cls, retry_after: str | None = None) -> Fault:
        """503, optionally with ``retry-after``."""
        return cls.status(
            503,
            body="Service Unavailable\n",
            headers=None if retry_after is None else {"retry-after": retry_after},
        )

    # -- timing ------------------------------------------------------------------------------
    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep ``seconds`` before the response headers, then answer normally."""
        return cls(kind="delay", seconds=seconds)

    # -- stream faults -----------------------------------------------------------------------
    @classmethod
    def stall(cls, after_chunks: int = 0, *, keepalive: float | None = None) -> Fault:
        """Write ``after_chunks`` content events, then write nothing more (or only a
        ``: keep-alive`` comment every ``keepalive`` seconds) until the client goes away."""
        return cls(kind="stall", after_chunks=after_chunks, keepalive=keepalive)

    @classmethod
    def linger(cls, *, keepalive: float | None = None) -> Fault:
        """Write the whole reply, end marker included, then keep the body open (optionally
        writing ``: keep-alive`` comments) until the client goes away: a server that does not
        close after ``complete`` / ``[DONE]``."""
        return cls(kind="linger", keepalive=keepalive)

    @classmethod
    def drop(cls, after_chunks: int = 0) -> Fault:
        """Write ``after_chunks`` content events, then close the connection mid-body: the client
        sees a broken body (an incomplete chunked read), not a clean end."""
        return cls(kind="drop", after_chunks=after_chunks)

    @classmethod
    def truncate(cls, after_chunks: int | None = None) -> Fault:
        """End the body cleanly without the terminal event (``[DONE]`` / web ``complete``);
        with ``after_chunks``, right after that many content events."""
        return cls(kind="truncate", after_chunks=after_chunks)

    @classmethod
    def finish_error(cls) -> Fault:
        """IDE: the final choice has ``finish_reason: "error"`` (``/responses``: ``response.failed``;
        web: an error event instead of ``complete``)."""
        return cls(kind="finish_error")

    @classmethod
    def midstream_error(cls, after_chunks: int = 1, *, message: str = "upstream error") -> Fault:
        """After ``after_chunks`` content events write ``{"error": {"code": 500, "message": …}}``
        and end the body (no terminal event)."""
        return cls(kind="midstream_error", after_chunks=after_chunks, message=message)

    @classmethod
    def early_failure(
        cls,
        message: str = "Encrypted function output content could not be decrypted or decoded",
        *,
        as_error_event: bool = False,
    ) -> Fault:
        """``/responses``: announce the response (``response.created``, ``.in_progress``), then
        fail before any output: ``response.failed`` carrying ``message``, or with
        ``as_error_event`` an ``error`` event (protocol.md §10.5). Nothing was generated, so a
        client may resend. On other routes: the mid-stream error before the first event."""
        return cls(kind="early_failure", message=message, payload="error" if as_error_event else "")

    @classmethod
    def malformed_json(cls, after_chunks: int = 1) -> Fault:
        """After ``after_chunks`` content events write a ``data: {not json`` event, then carry on."""
        return cls(kind="malformed_json", after_chunks=after_chunks)

    @classmethod
    def oversized_event(cls, size: int = 2 * 1024 * 1024, *, after_chunks: int = 0) -> Fault:
        """After ``after_chunks`` content events write one valid JSON event of about ``size``
        bytes (an unknown event type padded with ``x``), then carry on."""
        return cls(kind="oversized_event", size=size, after_chunks=after_chunks)

    @classmethod
    def trickle(cls) -> Fault:
        """Write the body one byte per write (honouring ``pacing``)."""
        return cls(kind="trickle")

    # -- content faults ----------------------------------------------------------------------
    @classmethod
    def malformed_model(cls, entry: object = None) -> Fault:
        """``/models`` lists one more entry, malformed: ``entry`` (any JSON value), by default
        ``{"id": 42, "name": null, "capabilities": "not-an-object", "supported_endpoints":
        "nope"}``. A client must skip it and keep the rest (protocol.md §3.6)."""
        return cls(
            kind="extra_model",
            payload=json.dumps(MALFORMED_MODEL if entry is None else entry),
        )

    @classmethod
    def token_envelope(cls, *, omit: tuple[str, ...] = (), **fields: object) -> Fault:
        """The next Copilot token envelope carries ``fields`` (replacing or adding keys) and
        lacks the keys in ``omit``: bogus lifetimes such as ``expires_at`` in milliseconds or
        as a string, ``refresh_in=0`` or ``-60``, ``refresh_in`` beyond ``expires_at``, or no
        ``refresh_in`` at all. The token itself stays valid for the configured time."""
        return cls(kind="token_envelope", payload=json.dumps(fields), omit=tuple(omit))

    def __post_init__(self) -> None:
        if self.after_chunks is not None and self.after_chunks < 0:
            raise ValueError("after_chunks cannot be negative")
        if self.keepalive is not None and self.keepalive <= 0:
            raise ValueError("keepalive must be a positive number of seconds")
        if self.seconds < 0 or self.size < 0:
            raise ValueError("seconds and size cannot be negative")

    # -- helpers -----------------------------------------------------------------------------
    @property
    def is_status(self) -> bool:
        return self.kind in STATUS_KINDS

    @property
    def is_stream(self) -> bool:
        return self.kind in STREAM_KINDS
