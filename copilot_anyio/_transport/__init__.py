"""Transports: the protocol every transport follows, and the implementations behind it."""

from __future__ import annotations

from ._base import CLOSE_GRACE as CLOSE_GRACE
from ._base import MAX_ERROR_BODY as MAX_ERROR_BODY
from ._base import Transport as Transport
from ._base import close_response as close_response
from ._base import read_body as read_body
from ._base import read_error_body as read_error_body
from ._httpx import HTTPXTransport as HTTPXTransport

__all__ = [
    "CLOSE_GRACE",
    "MAX_ERROR_BODY",
    "HTTPXTransport",
    "Transport",
    "close_response",
    "read_body",
    "read_error_body",
]
