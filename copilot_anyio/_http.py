"""HTTP requests and responses as plain data, the seam between the library and its transports.

A ``Request`` says what to send; it never holds a credential (the send loop adds the
``Authorization`` header, the transport the configured cookies). A ``Response`` is what any
transport hands back: status, headers and a body read as an async byte stream that must be
closed. Pure: this module imports no event loop and no HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request"]


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as data. ``headers`` never include cookies: the transport adds those."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    send_cookies: bool = False

    def __repr__(self) -> str:
        # Authorization values are secrets: show only which headers are set.
        return f"Request({self.method} {self.url}, headers={sorted(self.headers)})"
