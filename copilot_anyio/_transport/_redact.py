"""Credentials out of the HTTP stack's debug logs.

httpcore traces every step of a request on its ``httpcore.*`` loggers at DEBUG, and the trace of
``receive_response_headers`` prints the response headers whole, ``Set-Cookie`` included: a
github.com reply that rotates the session cookie would put the user's session into any log
that runs at DEBUG. (Request headers are not traced: httpcore prints a request as
``<Request [b'POST']>``.) This filter, installed on those loggers when the httpx transport is
imported, replaces the value of every credential-bearing header in such a record with
``<redacted>`` and leaves the rest of the record alone.

Pure: the standard library's ``logging`` and ``re`` only.
"""

from __future__ import annotations

import logging
import re
from typing import Final

__all__ = ["HTTP_STACK_LOGGERS", "RedactCredentials", "install", "redact"]

#: The loggers httpx and httpcore write to (``httpx`` logs each request's method, URL, status).
HTTP_STACK_LOGGERS: Final = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)

#: A ``(name, value)`` pair of a credential-bearing header as httpcore prints it: a tuple of
#: two bytes reprs (either quote style) or two str reprs. Group 1 keeps the name and the comma.
_SECRET_PAIR: Final = re.compile(
    r"""(\(\s*b?(['"])(?:set-cookie|cookie|authorization|proxy-authorization)\2\s*,\s*)"""
    r"""b?(['"])(?:\\.|(?!\3).)*\3""",
    re.IGNORECASE,
)
_REDACTED: Final = "b'<redacted>'"


def redact(text: str) -> str:
    """``text`` with the value of every credential header pair replaced by ``<redacted>``."""
    return _SECRET_PAIR.sub(lambda m: m.group(1) + _REDACTED, text)


class RedactCredentials(logging.Filter):
    """Rewrites a record's message without credential header values; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = ()
        return True


_FILTER: Final = RedactCredentials()


def install() -> None:
    """Attach the filter to the HTTP stack's loggers (idempotent)."""
    for name in HTTP_STACK_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
