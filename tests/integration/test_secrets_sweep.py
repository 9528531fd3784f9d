"""No secret escapes: canary cookies and tokens through every error path we can script.

Each test plants distinctive canary values (the session cookie, a second github.com cookie, a
``web_token=``, the web tokens a server issues, a session cookie a server sets), drives the
client and the facade into an error over real sockets, with every logger at DEBUG, and then
looks for the canaries in every log record, in the ``str``/``repr``/``args`` of each error and
of everything reachable from it, and in the repr of every library object reachable from the
client, its threads, streams and results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import anyio
import pytest

from copilot_anyio import (
    APIStatusError,
    AuthenticationError,
    CopilotClient,
    CopilotError,
    EventTooLarge,
    GithubCopilot,
    IncompleteStreamError,
    MalformedEventError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    RetryPolicy,
    ServerError,
    StreamInterruptedError,
    StreamServerError,
    StreamStalledError,
    Timeouts,
    TransportError,
    UnexpectedResponseError,
    WebSessionInvalidError,
)
from copilot_anyio._http import Request
from copilot_anyio.emulator import Emulator, Fault, serve_emulator
from copilot_anyio.web import _wire as wire
from tests._secrets import exception_texts, leaks, record_texts

from ._raw_http import RESET, Seen, html_reply, json_reply, raw_server, sse_reply

pytestmark = pytest.mark.anyio

SESSION = "CANARY-SESSION-b8e2f7d1c3a9"
GH_SESS = "CANARY-GHSESS-5c0ffee7d00d"
COOKIES = {"user_session": SESSION, "_gh_sess": GH_SESS, "logged_in": "yes"}
GIVEN_TOKEN = "CANARY-GIVEN-WEB-TOKEN-41f3e6a2"
ISSUED_TOKEN = "CANARY-ISSUED-WEB-TOKEN-9a7b5c3d"
SET_COOKIE = "CANARY-SET-COOKIE-77e1a0b4"
CANARIES = (SESSION, GH_SESS, GIVEN_TOKEN, ISSUED_TOKEN, SET_COOKIE)

#: Every logger that could see a request: ours, the HTTP stack, the emulator's server.
LOGGERS = ("", "copilot_anyio", "httpx", "httpcore", "hypercorn", "hypercorn.error", "asyncio")

FAST: dict[str, Any] = {
    "retry": RetryPolicy(max_retries=1, backoff_base=0.01, backoff_cap=0.02),
    "timeouts": Timeouts(first_byte=0.5, idle=0.5),
}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


# --- what is reachable ---------------------------------------------------------------------------


def library_reprs(*roots: object) -> Iterator[str]:
    """The repr of every copilot_anyio object reachable from ``roots`` through attributes,
    slots and containers (private ones included: a repr is printed wherever it is)."""
    seen: set[int] = set()
    todo: list[tuple[object, int]] = [(root, 0) for root in roots]
    while todo:
        obj, depth = todo.pop()
        if id(obj) in seen or depth > 8 or isinstance(obj, str | bytes | int | float | bool):
            continue
        seen.add(id(obj))
        if type(obj).__module__.startswith("copilot_anyio"):
            yield repr(obj)
            yield str(obj)
        children: list[object] = []
        if isinstance(obj, dict):
            children.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            children.extend(obj)
        elif type(obj).__module__.startswith("copilot_anyio"):
            children.extend(getattr(obj, "__dict__", {}).values())
            slots = [s for k in type(obj).__mro__ for s in getattr(k, "__slots__", ())]
            children.extend(getattr(obj, slot) for slot in slots if hasattr(obj, slot))
        todo.extend((child, depth + 1) for child in children)


def issued_tokens(emu: Emulator) -> set[str]:
    """Every web token the client sent to the emulator (the emulator mints random ones)."""
    values = {r.headers.get("authorization", "") for r in emu.stats.request_log}
    return {v.split(" ", 1)[-1] for v in values if v}


def assert_nothing_leaked(
    logs: pytest.LogCaptureFixture,
    errors: list[BaseException],
    reprs: list[str],
    canaries: set[str],
) -> None:
    canaries = canaries | set(CANARIES)
    assert all(len(c) >= 20 for c in canaries)  # distinctive: no false alarm from a short one
    found = leaks(record_texts(logs.records), canaries)
    assert not found, f"in a log record: {found[:3]}"
    for error in errors:
        found = leaks(exception_texts(error), canaries)
        assert not found, f"in {type(error).__name__} or its chain: {found[:3]}"
    found = leaks(reprs, canaries)
    assert not found, f"in a repr: {found[:3]}"


# --- the emulator's faults -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str
    fault: Callable[[], Fault]
    expected: type[CopilotError]
    times: int = 1
    streams: bool = False  # a fault of the reply body (not of the status)
    #: the facade retries 5xx twice (the client here: once), so it needs one fault more
    facade_extra: int = 0

    def __str__(self) -> str:
        return f"{self.route}-{self.fault().kind}-{self.expected.__name__}"


def _set_cookie_401() -> Fault:
    return Fault.status(
        401,
        body="unauthorized",
        headers={"set-cookie": f"user_session={SET_COOKIE}; Path=/; HttpOnly"},
    )


def _login_page() -> Fault:
    return Fault.status(200, body="<html><title>Sign in</title></html>", content_type="text/html")


CASES = [
    Case("web.token", Fault.token_expired, WebSessionInvalidError),
    Case("web.token", lambda: Fault.forbidden(), WebSessionInvalidError),
    Case("web.token", _set_cookie_401, WebSessionInvalidError),
    Case("web.token", _login_page, WebSessionInvalidError),
    Case("web.token", lambda: Fault.rate_limited("30"), RateLimitError),
    Case("web.token", lambda: Fault.server_error(500), ServerError, 2, facade_extra=1),
    Case("web.threads.create", Fault.token_expired, AuthenticationError, times=2),
    Case("web.threads.create", lambda: Fault.server_error(504), ServerError, 2, facade_extra=1),
    Case("web.messages.create", Fault.token_expired, AuthenticationError, times=2),
    Case("web.messages.create", lambda: Fault.forbidden(), PermissionDeniedError),
    Case("web.messages.create", lambda: Fault.rate_limited("30"), RateLimitError),
    Case("web.messages.create", lambda: Fault.session_rate_limited(), RateLimitError),
    Case("web.messages.create", lambda: Fault.quota_exceeded(), QuotaExceededError),
    Case("web.messages.create", lambda: Fault.server_error(502), ServerError, 2, facade_extra=1),
    Case("web.messages.create", lambda: Fault.unavailable(), ServerError),
    Case("web.messages.create", lambda: Fault.delay(3.0), ReadTimeout),
    Case("web.messages.create", lambda: Fault.stall(1), StreamStalledError, streams=True),
    Case("web.messages.create", lambda: Fault.drop(1), StreamInterruptedError, streams=True),
    Case("web.messages.create", lambda: Fault.truncate(), IncompleteStreamError, streams=True),
    Case("web.messages.create", lambda: Fault.finish_error(), StreamServerError, streams=True),
    Case("web.messages.create", lambda: Fault.midstream_error(1), StreamServerError, streams=True),
    Case("web.messages.create", lambda: Fault.malformed_json(1), MalformedEventError, streams=True),
    Case(
        "web.messages.create",
        lambda: Fault.oversized_event(2 * 1024 * 1024),
        EventTooLarge,
        streams=True,
    ),
]


async def _client_paths(emu: Emulator, case: Case) -> tuple[list[BaseException], list[object]]:
    """The client, streaming and (for status faults) not, and the facade, into ``case``."""
    errors: list[BaseException] = []
    objects: list[object] = []
    hosts: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}
    for streaming in (True, False) if not case.streams else (True,):
        emu.script(case.route, case.fault(), times=case.times)
        with pytest.raises(case.expected) as info:
            async with CopilotClient(
                cookies=COOKIES, github_api_url=emu.base_url, env={}, **hosts, **FAST
            ) as client:
                thread = client.threads()
                objects += [client, thread]
                try:
                    if streaming:
                        async with thread.stream("hello") as stream:
                            objects.append(stream)
                            await stream.final()
                    else:
                        objects.append(await thread.send("hello"))
                finally:
                    objects.append(client.statistics())
        errors.append(info.value)
        emu.stats.reset()

    emu.script(case.route, case.fault(), times=case.times + case.facade_extra)
    with pytest.raises(case.expected) as info:
        async with aclosing(
            GithubCopilot.create_async_generator(
                "gpt-4o",
                [{"role": "user", "content": "hello"}],
                stream=True,
                cookies=COOKIES,
                return_conversation=True,
                timeouts=FAST["timeouts"],
                **hosts,
            )
        ) as answer:
            objects.extend([piece async for piece in answer])
    errors.append(info.value)
    return errors, objects


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_no_secret_escapes_an_emulator_fault(
    logs: pytest.LogCaptureFixture, case: Case
) -> None:
    with anyio.fail_after(30):
        async with serve_emulator() as emu:
            errors, objects = await _client_paths(emu, case)
            canaries = issued_tokens(emu)
    reprs = list(library_reprs(*objects, *errors))
    assert_nothing_leaked(logs, errors, reprs, canaries)


async def test_a_refused_web_token_is_never_repeated(logs: pytest.LogCaptureFixture) -> None:
    errors: list[BaseException] = []
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            hosts: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}
            with pytest.raises(AuthenticationError) as info:
                async with CopilotClient(web_token=GIVEN_TOKEN, env={}, **hosts, **FAST) as client:
                    objects: list[object] = [client]
                    await client.chat("hello")
            errors.append(info.value)
            with pytest.raises(AuthenticationError) as info:
                async for _ in GithubCopilot.create_async_generator(
                    "gpt-4o", [{"role": "user", "content": "hi"}], api_key=GIVEN_TOKEN, **hosts
                ):
                    pass  # pragma: no cover - the first request fails
            errors.append(info.value)
    sent = {r.headers.get("authorization") for r in emu.stats.request_log}
    assert f"GitHub-Bearer {GIVEN_TOKEN}" in sent  # the canary really went out
    assert_nothing_leaked(logs, errors, list(library_reprs(*objects, *errors)), set())


# --- replies no emulator sends -------------------------------------------------------------------

_TOKEN_OK = json_reply(
    "200 OK", f'{{"token": "{ISSUED_TOKEN}"}}', f"set-cookie: _gh_sess={SET_COOKIE}"
)
_COMPLETE = sse_reply('{"type":"content","body":"hi"}', '{"type":"complete","id":"m1"}')
_THREAD = json_reply("201 Created", '{"thread_id": "t1"}')


def _raw(token: bytes, thread: bytes = _THREAD, message: bytes = _COMPLETE) -> Any:
    async def routes(request: Seen) -> bytes:
        if request.path.endswith("/chat/token"):
            return token
        if request.path.endswith("/threads"):
            return thread
        return message

    return routes


_LOGIN = html_reply("200 OK", "<html><title>Sign in</title><p>Sign in to GitHub</p></html>")
RAW_CASES: dict[str, tuple[Any, type[CopilotError]]] = {
    "token-with-crlf": (
        _raw(json_reply("200 OK", f'{{"token": "{ISSUED_TOKEN}\\r\\nX-Evil: 1"}}')),
        RemoteProtocolError,
    ),
    "token-with-space": (
        _raw(json_reply("200 OK", f'{{"token": "{ISSUED_TOKEN} x"}}')),
        RemoteProtocolError,
    ),
    "token-not-a-string": (_raw(json_reply("200 OK", '{"token": 7}')), RemoteProtocolError),
    "token-not-json": (
        _raw(json_reply("200 OK", f'{{"token": "{ISSUED_TOKEN}"')),
        WebSessionInvalidError,
    ),
    "token-login-page": (_raw(_LOGIN), WebSessionInvalidError),
    "token-reset": (_raw(RESET), TransportError),
    "token-redirect": (
        _raw(json_reply("302 Found", "", "location: http://127.0.0.1:9/login")),
        APIStatusError,
    ),
    "thread-401-html": (
        _raw(_TOKEN_OK, thread=html_reply("401 Unauthorized", "<html>no</html>")),
        AuthenticationError,
    ),
    "thread-redirect": (
        _raw(_TOKEN_OK, thread=json_reply("307 Temporary Redirect", "", "location: /x")),
        APIStatusError,
    ),
    "thread-reset": (_raw(_TOKEN_OK, thread=RESET), TransportError),
    "thread-not-json": (
        _raw(_TOKEN_OK, thread=json_reply("201 Created", "<html>")),
        RemoteProtocolError,
    ),
    "message-login-page": (_raw(_TOKEN_OK, message=_LOGIN), UnexpectedResponseError),
    "message-reset-before-headers": (_raw(_TOKEN_OK, message=RESET), ReadError),
    "message-reset-mid-stream": (
        _raw(_TOKEN_OK, message=RESET + _COMPLETE[: _COMPLETE.index(b"data:") + 20]),
        StreamInterruptedError,
    ),
}


@pytest.mark.parametrize("name", sorted(RAW_CASES))
async def test_no_secret_escapes_a_hostile_server(
    logs: pytest.LogCaptureFixture, name: str
) -> None:
    routes, expected = RAW_CASES[name]
    errors: list[BaseException] = []
    objects: list[object] = []
    with anyio.fail_after(20):
        async with raw_server(routes) as server:
            hosts: dict[str, Any] = {"github_url": server.url, "api_url": server.url}
            with pytest.raises(expected) as info:
                async with CopilotClient(
                    cookies=COOKIES, github_api_url=server.url, env={}, **hosts, **FAST
                ) as client:
                    objects.append(client)
                    async with client.stream_chat("hello") as stream:
                        objects.append(stream)
                        await stream.final()
            errors.append(info.value)
            with pytest.raises(expected) as info:
                async with aclosing(
                    GithubCopilot.create_async_generator(
                        "gpt-4o",
                        [{"role": "user", "content": "hello"}],
                        stream=True,
                        cookies=COOKIES,
                        timeouts=FAST["timeouts"],
                        **hosts,
                    )
                ) as answer:
                    objects.extend([piece async for piece in answer])
            errors.append(info.value)
    # The session went where it belongs (the token request), so the canary was really in play.
    assert any(SESSION in seen.headers.get("cookie", "") for seen in server.seen)
    assert_nothing_leaked(logs, errors, list(library_reprs(*objects, *errors)), set())


# --- reprs of values that hold secrets ----------------------------------------------------------


def test_a_request_carrying_credentials_shows_only_header_names() -> None:
    request = wire.web_token_request("https://github.com").with_headers(
        {"Cookie": f"user_session={SESSION}", "Authorization": f"GitHub-Bearer {ISSUED_TOKEN}"}
    )
    shown = repr(request) + str(request)
    assert "Cookie" in shown
    assert "Authorization" in shown
    assert not leaks([shown], CANARIES)
    bare = Request("GET", "https://api.example/x", headers={"Authorization": ISSUED_TOKEN})
    assert not leaks([repr(bare)], CANARIES)


GITHUB_TOKEN = "ghu_CANARYgithubToken0123456789abcdef"
COPILOT_TOKEN = "tid=CANARY-copilot-token;exp=1999999999;proxy-ep=proxy.example.com;8kp=1:abc"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 500])
def test_github_and_copilot_tokens_stay_out_of_the_ide_layers_values_and_errors(
    status: int,
) -> None:
    # The IDE flavour has no client over sockets yet; its public values and errors still hold
    # GitHub and Copilot tokens, so they are swept here directly.
    from copilot_anyio.ide import (
        Authorized,
        FoundToken,
        classify_poll,
        exchange_error,
        parse_copilot_token,
    )

    envelope = {"token": COPILOT_TOKEN, "expires_at": 1999999999, "refresh_in": 1500}
    values: list[object] = [
        Authorized(token=GITHUB_TOKEN),
        FoundToken(token=GITHUB_TOKEN, source="apps.json", user="octocat"),
        parse_copilot_token(envelope, now=0.0),
        classify_poll(200, {"access_token": GITHUB_TOKEN, "token_type": "bearer"}, interval=5),
    ]
    error = exchange_error(
        status, {"set-cookie": f"s={GITHUB_TOKEN}"}, "{}", now=0.0, token_source="apps.json"
    )
    texts = [*library_reprs(*values, error), *exception_texts(error)]
    assert len(texts) >= 8
    assert not leaks(texts, [GITHUB_TOKEN, COPILOT_TOKEN, COPILOT_TOKEN.split(";")[0]])
