"""Which transport a client opens: the lean one, unless httpx is asked for or needed.

The rule, in order:

1. an httpx transport given to the client (``transport=httpx.AsyncHTTPTransport(...)``) is
   used through httpx;
2. ``http="lean"`` or ``http="httpx"`` given to the client;
3. the ``COPILOT_ANYIO_TRANSPORT`` environment variable (``lean`` or ``httpx``);
4. httpx when the proxy (given, or from the environment with ``trust_env``) is a SOCKS proxy,
   which only httpx speaks; otherwise the lean transport, which streams at several times
   httpx's rate for a fraction of its CPU (see the README's Architecture section).
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from typing import Any, Final

from .._config import Limits, Timeouts
from .._errors import UsageError
from ._base import Transport
from ._httpx import HTTPXTransport
from ._lean import LeanTransport

__all__ = ["HTTP_CHOICES", "TRANSPORT_ENV", "choose_http", "open_transport"]

TRANSPORT_ENV: Final = "COPILOT_ANYIO_TRANSPORT"
HTTP_CHOICES: Final = ("lean", "httpx")


def _socks(proxy: str | None, trust_env: bool) -> bool:
    if proxy is not None:
        return proxy.lower().startswith("socks")
    if not trust_env:
        return False
    return any(
        url.lower().startswith("socks")
        for scheme, url in urllib.request.getproxies_environment().items()
        if scheme in ("http", "https", "all")
    )


def choose_http(
    http: str | None, *, proxy: str | None = None, trust_env: bool = True, httpx_given: bool = False
) -> str:
    """``"lean"`` or ``"httpx"`` by the rule in the module docstring (UsageError when unknown)."""
    if httpx_given:
        return "httpx"
    where = "http"
    if http is None:
        http = os.environ.get(TRANSPORT_ENV) or None
        where = f"the environment variable {TRANSPORT_ENV}"
    if http is None:
        return "httpx" if _socks(proxy, trust_env) else "lean"
    if http not in HTTP_CHOICES:
        raise UsageError(f"{where} must be one of {', '.join(HTTP_CHOICES)}, not {http!r}")
    if http == "lean" and proxy is not None and _socks(proxy, trust_env):
        raise UsageError("the lean transport does not speak SOCKS: use http='httpx'")
    return http


async def open_transport(
    http: str | None,
    *,
    timeouts: Timeouts,
    limits: Limits,
    proxy: str | None = None,
    verify: ssl.SSLContext | str | bool = True,
    trust_env: bool = True,
    tls: bool = True,
    httpx_transport: Any = None,
) -> Transport:
    """Open the transport ``choose_http`` picks, its TLS context built off the event loop."""
    chosen = choose_http(
        http, proxy=proxy, trust_env=trust_env, httpx_given=httpx_transport is not None
    )
    if chosen == "httpx":
        return await HTTPXTransport.open(
            timeouts=timeouts,
            limits=limits,
            proxy=proxy,
            verify=verify,
            httpx_transport=httpx_transport,
            trust_env=trust_env,
            tls=tls,
        )
    return await LeanTransport.open(
        timeouts=timeouts, limits=limits, proxy=proxy, verify=verify, trust_env=trust_env, tls=tls
    )
