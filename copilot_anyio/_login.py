"""Signing in with a GitHub account (the OAuth device flow), and signing out.

Theory of operation
-------------------
``device_login`` asks github.com for a device code, hands the user code and the page to enter
it on to the caller's ``on_code``, then polls until GitHub answers with a token or a final
error. Every decision about a reply is ``ide._device_flow``'s (pure); this module only sends,
waits and writes:

* **Waiting** is the injected ``sleep`` (``anyio.sleep`` by default) between polls, never a
  busy loop: the first poll also waits one interval, as RFC 8628 §3.5 asks.
* **Expiry** is kept here too, not only by GitHub: polling stops once the code's lifetime has
  passed. Time passed is the larger of the event loop's clock and the sum of the waits asked
  of ``sleep``, so a test that injects a sleep which returns at once still sees the code
  expire after the same number of polls as a real run would.
* **A poll that gets no answer** (a network failure, a 5xx without an OAuth ``error``) is
  tried again at the next interval; after ``MAX_UNANSWERED_POLLS`` such polls in a row the last
  failure is raised. Polls go through the send loop without its own retries: the poll interval
  is the backoff.
* **The account's login** is asked of ``copilot_internal/user`` once signed in, best effort: a
  failure leaves ``LoginResult.user`` None. The new token only goes to the API host when that
  host is known to belong to the same GitHub (the public github.com, or an API URL given as an
  argument or in ``COPILOT_GITHUB_API_URL``), never to a default that may be another GitHub's.
* **The store** (``ide._store``) is written in a worker thread: atomic, mode 0600, other hosts'
  entries kept. Its key is the GitHub host (with its port, if the URL names one).

Nothing here logs, raises or shows the device code, the user code or the token: log lines name
the host and intervals, errors carry GitHub's error code and description.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final, cast, final

import anyio

from ._config import DEFAULT_GITHUB_URL, ENV_GITHUB_API_URL, Hosts, Timeouts
from ._errors import (
    APIStatusError,
    CopilotError,
    DeviceFlowError,
    TransportError,
    UsageError,
)
from ._http import Request, header_safe
from ._retry import RetryPolicy
from ._send import Sender
from ._transport import CLOSE_GRACE, HTTPXTransport, Transport, close_response, read_body
from .ide._credentials import store_host_key, token_store_path
from .ide._device_flow import (
    Authorized,
    Denied,
    DeviceCode,
    Expired,
    Failed,
    Pending,
    SlowDown,
    classify_poll,
    parse_device_code,
    parse_oauth_body,
)
from .ide._store import remove_token_store_entry, write_token_store
from .ide._wire import (
    COPILOT_CLIENT_ID,
    GITHUB_AUTH_SCHEME,
    copilot_user_request,
    device_code_request,
    device_token_request,
)

__all__ = ["MAX_UNANSWERED_POLLS", "LoginResult", "device_login", "logout"]

logger = logging.getLogger("copilot_anyio")

#: Polls in a row that may go unanswered (network failure, 5xx) before sign-in gives up.
MAX_UNANSWERED_POLLS: Final = 5
#: The most of an OAuth reply that is read (they are a few hundred bytes).
_MAX_OAUTH_BODY: Final = 64 * 1024
#: The request that asks for a device code is retried as any request is; polls are not.
_NO_RETRIES: Final = RetryPolicy(max_retries=0)


@final
@dataclass(frozen=True, slots=True)
class LoginResult:
    """A finished sign-in.

    Attributes:
        token: the GitHub token (``ghu_…``); never shown in ``repr``.
        host: the GitHub host signed in to: the store's key (``"github.com"``).
        user: the account's login, when it could be learnt, else None.
        stored_at: the token store written, or None when ``store=False``.
        client_id: the OAuth app the token belongs to.
        scope: the scopes GitHub granted (often ``""``; Copilot access does not depend on them).
    """

    token: str = field(repr=False)
    host: str
    user: str | None
    stored_at: Path | None
    client_id: str = COPILOT_CLIENT_ID
    scope: str = ""


def _store_location(store_path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path:
    if store_path is not None:
        return Path(store_path)
    home = env.get("HOME") if not sys.platform.startswith("win") else None
    return Path(token_store_path(env, platform=sys.platform, home=home or str(Path.home())))


def _request_id() -> str:
    return str(uuid.uuid4())


def _usable_login(value: Any) -> str | None:
    # Printed by the CLI and written to the store: a short printable word, or nothing.
    if not isinstance(value, str) or not 0 < len(value) <= 100:
        return None
    plain = value.isascii() and value.isprintable() and not any(c.isspace() for c in value)
    return value if plain else None


def _oauth_error(payload: Mapping[str, Any]) -> bool:
    """Is this an OAuth error reply? (Its ``error`` is a code; a 5xx page from a proxy or
    another API may carry an ``error`` object instead.)"""
    error = payload.get("error")
    return isinstance(error, str) and bool(error)


async def _oauth_call(
    sender: Sender, request: Request
) -> tuple[int, dict[str, Any], APIStatusError | None]:
    """Status, decoded OAuth reply, and the status error when the status was 300 or more.

    GitHub may answer device-flow errors with 400: the decision is the reply's, not the
    status's, so an error status is not raised here.
    """
    try:
        response = await sender.send(request)
    except APIStatusError as exc:
        return exc.status_code, parse_oauth_body(exc.body), exc
    try:
        body = await read_body(response, within=sender.timeouts.first_byte, limit=_MAX_OAUTH_BODY)
    finally:
        await close_response(response)
    return response.status_code, parse_oauth_body(body.decode("utf-8", "replace")), None


async def _device_code(sender: Sender, github_url: str, client_id: str) -> DeviceCode:
    request = device_code_request(github_url, request_id=_request_id(), client_id=client_id)
    _, payload, error = await _oauth_call(sender, request)
    if error is not None and not _oauth_error(payload):
        raise error  # a 5xx or a page: the server's failure, typed by its status
    return parse_device_code(payload)


async def _identify(sender: Sender, github_api_url: str, token: str) -> str | None:
    request = copilot_user_request(github_api_url, request_id=_request_id())
    request = request.with_headers({"Authorization": f"{GITHUB_AUTH_SCHEME} {token}"})
    try:
        payload = await sender.send_json(request)
    except CopilotError as exc:
        logger.debug("device sign-in: the account's login is unknown (%s)", type(exc).__name__)
        return None
    return _usable_login(payload.get("login")) if isinstance(payload, dict) else None


class _Elapsed:
    """Time since the code was issued: the event loop's clock, or the waits asked of an
    injected ``sleep`` if they add up to more (see the module docstring)."""

    __slots__ = ("_slept", "_started")

    def __init__(self) -> None:
        self._started = anyio.current_time()
        self._slept = 0.0

    def add_wait(self, seconds: float) -> None:
        self._slept += seconds

    def __call__(self) -> float:
        return max(anyio.current_time() - self._started, self._slept)


async def _poll_until_done(
    sender: Sender,
    github_url: str,
    code: DeviceCode,
    *,
    client_id: str,
    elapsed: _Elapsed,
    sleep: Callable[[float], Awaitable[object]],
) -> Authorized:
    interval = code.interval
    unanswered = 0
    while True:
        remaining = code.expires_in - elapsed()
        if remaining <= 0:
            logger.debug("device sign-in: the code's lifetime is over; polling stops")
            raise Expired("expired_token").error()
        wait = min(interval, remaining)
        await sleep(wait)
        elapsed.add_wait(wait)
        request = device_token_request(
            github_url, device_code=code.device_code, request_id=_request_id(), client_id=client_id
        )
        try:
            status, payload, error = await _oauth_call(sender, request)
        except TransportError as exc:
            unanswered += 1
            if unanswered >= MAX_UNANSWERED_POLLS:
                raise
            logger.debug("device sign-in: a poll went unanswered (%s)", type(exc).__name__)
            continue
        if error is not None and status >= 500 and not _oauth_error(payload):
            unanswered += 1
            if unanswered >= MAX_UNANSWERED_POLLS:
                raise error
            logger.debug("device sign-in: a poll got HTTP %d", status)
            continue
        unanswered = 0
        outcome = classify_poll(status, payload, interval=interval)
        match outcome:
            case Authorized():
                return outcome
            case Pending():
                interval = outcome.interval
            case SlowDown():
                interval = outcome.interval
                logger.debug("device sign-in: asked to slow down; polling every %g s", interval)
            case Expired() | Denied():
                raise outcome.error()
            case Failed():
                raise outcome.error


async def device_login(
    *,
    on_code: Callable[[DeviceCode], Awaitable[None] | None],
    github_url: str | None = None,
    github_api_url: str | None = None,
    client_id: str = COPILOT_CLIENT_ID,
    store: bool = True,
    store_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    transport: Transport | None = None,
    timeouts: Timeouts | None = None,
    sleep: Callable[[float], Awaitable[object]] = anyio.sleep,
) -> LoginResult:
    """Sign in with a GitHub account by the OAuth device flow, and store the token.

    Asks GitHub for a code, passes it to ``on_code`` (show ``code.user_code`` and
    ``code.verification_uri`` to the user), then polls until the user has entered it. Nothing
    blocks the event loop: waits are ``sleep``, the store is written in a worker thread.

    Args:
        on_code: called once with the ``DeviceCode`` (``copilot_anyio.ide.DeviceCode``); may be
            a plain function or a coroutine function. Polling starts when it returns, and the
            code's lifetime counts from before it was called.
        github_url: the GitHub to sign in to; else ``COPILOT_GITHUB_URL``, else github.com.
        github_api_url: its REST API, asked for the account's login; else
            ``COPILOT_GITHUB_API_URL``; for github.com, api.github.com. Unknown for another
            GitHub: then the login is not asked for (``LoginResult.user`` is None).
        client_id: the OAuth app; Copilot's own by default (tokens of other apps may not be
            exchangeable for Copilot tokens).
        store: write the token to the library's token store.
        store_path: the store file to write; else ``$COPILOT_ANYIO_CONFIG_DIR/credentials.json``,
            else ``copilot-anyio/credentials.json`` in the user's config directory
            (``$XDG_CONFIG_HOME`` or ``~/.config``, ``~/Library/Application Support`` on macOS,
            ``%LOCALAPPDATA%`` on Windows).
        env: the environment to read (default ``os.environ``).
        transport: send through this transport (not closed here); by default an httpx one is
            opened and closed.
        timeouts: network phase timeouts of each request (not a deadline for the sign-in:
            wrap the call in ``anyio.fail_after`` or ``move_on_after`` for that).
        sleep: waits between polls (tests pass one that returns at once).

    Returns:
        A ``LoginResult``: the token (hidden from its repr), the host, the login if known and
        where the token was stored.

    Raises:
        DeviceCodeExpiredError: the code expired before the user entered it (GitHub said so,
            or its lifetime passed): start again.
        AuthorizationDeniedError: the user declined.
        DeviceFlowError: GitHub refused the flow (``.error_code``: ``device_flow_disabled``,
            ``incorrect_client_credentials``...) or answered something unreadable.
        APIStatusError: asking for a code failed with an HTTP error (``ServerError``...), or
            ``MAX_UNANSWERED_POLLS`` polls in a row did.
        TransportError: the network failed asking for a code, or on that many polls in a row.
        UsageError: an argument is unusable (checked before any request).
        OSError: the store could not be written (the old store is left as it was).

    Cancellation stops the flow at once, during a wait or a request; the connections are
    closed on the way out and nothing is stored.
    """
    if not callable(on_code):
        raise UsageError("on_code: expected a function that shows the code to the user")
    if not (isinstance(cast(object, client_id), str) and client_id and header_safe(client_id)):
        raise UsageError("client_id: expected a non-empty OAuth app client id")
    environ: Mapping[str, str] = os.environ if env is None else env
    hosts = Hosts.resolve(environ, github_url=github_url, github_api_url=github_api_url)
    api_known = (
        github_api_url is not None
        or bool(environ.get(ENV_GITHUB_API_URL))
        or hosts.github_url == DEFAULT_GITHUB_URL
    )
    host = store_host_key(hosts.github_url)
    target = _store_location(store_path, environ) if store else None
    timeouts = timeouts or Timeouts()
    own_transport = transport is None
    if transport is None:
        tls = hosts.github_url.startswith("https:") or (
            api_known and hosts.github_api_url.startswith("https:")
        )
        transport = await HTTPXTransport.open(timeouts=timeouts, tls=tls)
    try:
        sender = Sender(transport, retry=RetryPolicy(), timeouts=timeouts)
        poller = Sender(transport, retry=_NO_RETRIES, timeouts=timeouts)
        code = await _device_code(sender, hosts.github_url, client_id)
        elapsed = _Elapsed()
        logger.debug(
            "device sign-in to %s: the code lasts %g s; polling every %g s",
            host,
            code.expires_in,
            code.interval,
        )
        shown = on_code(code)
        if inspect.isawaitable(shown):
            await shown
        authorized = await _poll_until_done(
            poller, hosts.github_url, code, client_id=client_id, elapsed=elapsed, sleep=sleep
        )
        if not header_safe(authorized.token):
            raise DeviceFlowError("GitHub's sign-in reply held a token that cannot be sent")
        user = (
            await _identify(sender, hosts.github_api_url, authorized.token) if api_known else None
        )
    finally:
        if own_transport:
            with anyio.move_on_after(CLOSE_GRACE, shield=True):
                await transport.aclose()
    if target is not None:
        write = partial(
            write_token_store, target, authorized.token, host=host, client_id=client_id, user=user
        )
        await anyio.to_thread.run_sync(write)
    logger.debug("device sign-in to %s: done%s", host, "; token stored" if target else "")
    return LoginResult(
        token=authorized.token,
        host=host,
        user=user,
        stored_at=target,
        client_id=client_id,
        scope=authorized.scope,
    )


async def logout(
    *,
    github_url: str | None = None,
    store_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Forget the stored token of a GitHub host (the store is rewritten atomically).

    The token itself stays valid on GitHub until revoked there (Settings → Applications →
    Authorized GitHub Apps): without the app's secret a client cannot revoke it.

    Args:
        github_url: whose token to forget; else ``COPILOT_GITHUB_URL``, else github.com.
        store_path, env: as for ``device_login``.

    Returns:
        Whether a token was removed. A missing store, or one without that host, is not an
        error (False); other hosts' tokens are kept.

    Raises:
        UsageError: ``github_url`` is not an http(s) URL.
        OSError: the store could not be rewritten (it is left as it was).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    hosts = Hosts.resolve(environ, github_url=github_url)
    target = _store_location(store_path, environ)
    remove = partial(remove_token_store_entry, target, host=store_host_key(hosts.github_url))
    return await anyio.to_thread.run_sync(remove)
