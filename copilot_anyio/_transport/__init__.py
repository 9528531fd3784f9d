"""Transports: the protocol every transport follows, and the implementations behind it."""

from __future__ import annotations

from ._base import CLOSE_GRACE as CLOSE_GRACE
from ._base import MAX_ERROR_BODY as MAX_ERROR_BODY
from ._base import Transport as Transport
from ._base import close_response as close_response
from ._base import read_body as read_body
from ._base import read_error_body as read_error_body
from ._httpx import HTTPXTransport as HTTPXTransport
from ._lean import LeanTransport as LeanTransport
from ._select import HTTP_CHOICES as HTTP_CHOICES
from ._select import TRANSPORT_ENV as TRANSPORT_ENV
from ._select import choose_http as choose_http
from ._select import open_transport as open_transport

__all__ = [
    "CLOSE_GRACE",
    "HTTP_CHOICES",
    "MAX_ERROR_BODY",
    "TRANSPORT_ENV",
    "HTTPXTransport",
    "LeanTransport",
    "Transport",
    "choose_http",
    "close_response",
    "open_transport",
    "read_body",
    "read_error_body",
]
