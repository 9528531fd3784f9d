"""The httpx transport's setup: one TLS context per setting, none for plain-http hosts."""

from __future__ import annotations

import ssl
import time
from typing import Any

import anyio
import pytest

from copilot_anyio._http import unsafe_header
from copilot_anyio._transport import HTTPXTransport, _httpx

pytestmark = pytest.mark.anyio


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, bool]]:
    """Records every CA-bundle load (made slow, as a real one is) on an empty cache."""
    seen: list[tuple[Any, bool]] = []

    def create_ssl_context(verify: Any = True, trust_env: bool = True) -> ssl.SSLContext:
        seen.append((verify, trust_env))
        time.sleep(0.05)
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    monkeypatch.setattr("httpx.create_ssl_context", create_ssl_context)
    monkeypatch.setattr(_httpx, "_ssl_contexts", {})
    return seen


async def test_a_thousand_first_uses_load_the_ca_bundle_once(
    builds: list[tuple[Any, bool]],
) -> None:
    transports: list[HTTPXTransport] = []

    async def open_one() -> None:
        transports.append(await HTTPXTransport.open(tls=True))

    async with anyio.create_task_group() as tg:
        for _ in range(1000):
            tg.start_soon(open_one)
    for transport in transports:
        await transport.aclose()
    assert builds == [(True, True)]


async def test_each_setting_has_its_own_context(builds: list[tuple[Any, bool]]) -> None:
    for trust_env in (True, False, True, False):
        await (await HTTPXTransport.open(tls=True, trust_env=trust_env)).aclose()
    assert builds == [(True, True), (True, False)]


async def test_plain_http_hosts_load_no_ca_bundle(builds: list[tuple[Any, bool]]) -> None:
    await (await HTTPXTransport.open(tls=False)).aclose()
    assert builds == []


async def test_an_https_proxy_still_gets_a_real_context(builds: list[tuple[Any, bool]]) -> None:
    await (await HTTPXTransport.open(tls=False, proxy="https://127.0.0.1:9")).aclose()
    assert builds == [(True, True)]


@pytest.mark.parametrize(
    ("headers", "bad"),
    [
        ({"Authorization": "Bearer a\r\nX: y"}, "Authorization"),
        ({"Authorization": "Bearer caf\u00e9"}, "Authorization"),
        ({"A": "ok", "B": "nul\x00"}, "B"),
        ({"Bad Name": "v"}, "Bad Name"),
        ({"X:Y": "v"}, "X:Y"),
        ({"\n": "v"}, "(unprintable)"),
    ],
)
def test_unsafe_header_names_the_header_not_the_value(headers: dict[str, str], bad: str) -> None:
    assert unsafe_header(headers) == bad


def test_ordinary_headers_are_safe() -> None:
    assert unsafe_header({"Authorization": "Bearer abc.DEF-123_~+/=", "Accept": "*/*"}) is None
