"""Per-request context and the response shapes both flavours share."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._config import EmulatorConfig
from ._faults import Fault
from ._framing import Event, Plan, StreamSpec, apply_fault
from ._state import EmulatorState, RecordedRequest
from ._writer import PlannedBody

#: Headers CAPI puts on error replies (protocol.md §5.1).
_ERROR_HEADERS = {
    "content-security-policy": "default-src 'none'; sandbox",
    "x-content-type-options": "nosniff",
    "x-github-backend": "Kubernetes",
    "strict-transport-security": "max-age=31536000",
}
TEXT_PLAIN = "text/plain; charset=utf-8"


def dumps(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def request_ids(request: Request) -> dict[str, str]:
    """``x-request-id`` (echoed when the client sent one) and ``x-github-request-id``."""
    return {
        "x-request-id": request.headers.get("x-request-id") or secrets.token_hex(16),
        "x-github-request-id": ":".join(secrets.token_hex(4).upper() for _ in range(5)),
    }


def text_error(
    request: Request,
    status: int,
    body: object,
    *,
    headers: dict[str, str] | None = None,
    content_type: str = TEXT_PLAIN,
) -> Response:
    """An error as CAPI sends it: JSON bodies (dict) serialised with a trailing newline and
    labelled ``text/plain``; strings sent as they are (a newline is appended if missing)."""
    text = body if isinstance(body, str) else dumps(body)
    if text and not text.endswith("\n"):
        text += "\n"
    all_headers = {**_ERROR_HEADERS, **request_ids(request), **(headers or {})}
    all_headers["content-type"] = content_type
    return Response(text.encode(), status_code=status, headers=all_headers)


def fault_response(request: Request, fault: Fault) -> Response:
    """The reply of a status fault: its body verbatim, with CAPI's error headers."""
    headers = {**_ERROR_HEADERS, **request_ids(request), **dict(fault.headers)}
    headers["content-type"] = fault.content_type
    return Response(fault.body.encode(), status_code=fault.status_code, headers=headers)


@dataclass
class Ctx:
    """What a route handler gets: the shared state (not the :class:`Emulator` owning it), the
    request and its record, and the fault scripted for it."""

    state: EmulatorState
    request: Request
    route: str
    body: bytes
    record: RecordedRequest
    fault: Fault | None

    @property
    def config(self) -> EmulatorConfig:
        """The settings in force for this request."""
        return self.state.config

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def json_body(self) -> Any:
        """The body as JSON, whatever ``Content-Type`` says; ``None`` if empty or not JSON."""
        return self.record.json()

    def json(
        self, payload: object, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """A JSON reply; ``stall``, ``drop`` and ``trickle`` faults apply to its body."""
        data = dumps(payload).encode()
        all_headers = {"content-type": "application/json; charset=utf-8", **(headers or {})}
        fault = self.fault
        if fault is None or fault.kind not in ("stall", "drop", "trickle"):
            return Response(data, status_code=status, headers=all_headers)
        text = data.decode()
        half = len(text) // 2
        spec = StreamSpec(
            events=[
                Event(text[:half], kind="content", raw=True),
                Event(text[half:], kind="done", raw=True),
            ],
            error_event=lambda message: Event("", raw=True),
            finish_error=list,
            oversized_event=lambda size: Event("", raw=True),
            sse=False,
        )
        # after_chunks=0 would cut before the first half: a JSON body always shows its first half.
        plan = apply_fault(spec, fault)
        if fault.kind != "trickle":
            plan = Plan(spec.events[:1], ending=plan.ending, keepalive=plan.keepalive)
        return self._planned(
            plan, status=status, headers=all_headers, media_type="application/json"
        )

    def stream(
        self, spec: StreamSpec, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        """An SSE reply with the scripted stream fault (if any) applied."""
        all_headers = {"cache-control": "no-cache", **(headers or {})}
        plan = apply_fault(spec, self.fault)
        return self._planned(
            plan, status=status, headers=all_headers, media_type="text/event-stream"
        )

    def _planned(
        self, plan: Plan, *, status: int, headers: dict[str, str], media_type: str
    ) -> Response:
        return PlannedBody(
            plan,
            streams=self.state.streams,
            config=self.state.config,
            status_code=status,
            headers=headers,
            media_type=media_type,
        )
