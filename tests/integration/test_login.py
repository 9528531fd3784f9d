"""Signing in by the device flow and signing out, against the emulator over real sockets.

Waits between polls go through an injected ``sleep`` that records what it was asked and returns
at once, so the intervals are asserted exactly and no test waits for real.
"""

from __future__ import annotations

import json
import logging
import stat
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

import copilot_anyio
from copilot_anyio import (
    AuthorizationDeniedError,
    DeviceCodeExpiredError,
    DeviceFlowError,
    LoginResult,
    ServerError,
    UsageError,
    device_login,
    logout,
)
from copilot_anyio import _login as login_module
from copilot_anyio._http import Request, Response
from copilot_anyio._transport import HTTPXTransport
from copilot_anyio.emulator import Emulator, EmulatorConfig, Fault, serve_emulator
from copilot_anyio.ide import DeviceCode
from copilot_anyio.ide._credentials import parse_token_store
from copilot_anyio.ide._store import write_token_store
from copilot_anyio.ide._wire import device_code_request

pytestmark = pytest.mark.anyio

OTHER_HOST_TOKEN = "gho_OTHERotherOTHERotherOTHERother0000"


class RecordingSleep:
    """Stands in for ``anyio.sleep``: records each wait, returns after a checkpoint."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.lowlevel.checkpoint()


class Codes:
    """An ``on_code`` that remembers what it was shown."""

    def __init__(self) -> None:
        self.seen: list[DeviceCode] = []

    def __call__(self, code: DeviceCode) -> None:
        self.seen.append(code)


@asynccontextmanager
async def emulator(*script: str, **config: Any) -> AsyncIterator[Emulator]:
    with anyio.fail_after(20):
        async with serve_emulator(EmulatorConfig(device_poll_script=script, **config)) as emu:
            yield emu


def options(emu: Emulator, path: Path, **extra: Any) -> dict[str, Any]:
    """Every host at the emulator, the store in the test's directory, no ambient environment."""
    return {
        "github_url": emu.base_url,
        "github_api_url": emu.base_url,
        "store_path": path,
        "env": {},
        **extra,
    }


def polls(emu: Emulator) -> int:
    return sum(1 for r in emu.stats.request_log if r.route == "device.token")


def requests_to(emu: Emulator, route: str) -> int:
    return sum(1 for r in emu.stats.request_log if r.route == route)


def host_of(emu: Emulator) -> str:
    return emu.base_url.split("://", 1)[1]


class Disk:
    """What is on disk at a store's place, read in a worker thread."""

    def __init__(self, store: Path) -> None:
        self.exists = store.exists()
        self.dir_exists = store.parent.exists()
        self.text = store.read_text(encoding="utf-8") if self.exists else ""
        self.mode = stat.S_IMODE(store.stat().st_mode) if self.exists else 0
        self.names = sorted(p.name for p in store.parent.iterdir()) if self.dir_exists else []

    @classmethod
    async def read(cls, store: Path) -> Disk:
        return await anyio.to_thread.run_sync(cls, store)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "config" / "credentials.json"


# --- authorised ------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX file modes")
async def test_authorised_token_is_stored_0600_atomically_keeping_other_hosts(
    store: Path,
) -> None:
    await anyio.to_thread.run_sync(
        lambda: write_token_store(store, OTHER_HOST_TOKEN, host="acme.ghe.com", user="ada")
    )
    sleep, codes = RecordingSleep(), Codes()
    async with emulator() as emu:  # authorised at the first poll
        result = await device_login(on_code=codes, **options(emu, store, sleep=sleep))
        login = emu.state.account_for_user_token(result.token)
        host = host_of(emu)
    assert isinstance(result, LoginResult)
    assert result.token.startswith("ghu_")
    assert result.host == host
    assert result.user == login
    assert result.stored_at == store
    assert [c.user_code for c in codes.seen] == [codes.seen[0].user_code]
    assert sleep.waits == [1.0]  # one interval before the first poll (the floor of 1 s)

    disk = await Disk.read(store)
    assert disk.mode == 0o600
    assert disk.names == ["credentials.json"]  # no temporary file left
    text = disk.text
    mine = parse_token_store(text, host=result.host)
    assert mine is not None
    assert (mine.token, mine.user) == (result.token, login)
    other = parse_token_store(text, host="acme.ghe.com")
    assert other is not None
    assert (other.token, other.user) == (OTHER_HOST_TOKEN, "ada")


async def test_pending_then_authorised_polls_at_the_interval(store: Path) -> None:
    sleep = RecordingSleep()
    async with emulator(*["authorization_pending"] * 3) as emu:
        result = await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
        assert polls(emu) == 4
    assert sleep.waits == [1.0, 1.0, 1.0, 1.0]
    assert result.stored_at == store
    assert (await Disk.read(store)).exists


async def test_an_async_on_code_is_awaited_before_polling(store: Path) -> None:
    events: list[str] = []
    sleep = RecordingSleep()

    async def show(code: DeviceCode) -> None:
        await anyio.lowlevel.checkpoint()
        events.append(f"shown, {polls(emu)} polls")

    async with emulator() as emu:
        await device_login(on_code=show, **options(emu, store, sleep=sleep))
        events.append(f"done, {polls(emu)} polls")
    assert events == ["shown, 0 polls", "done, 1 polls"]


async def test_store_false_writes_nothing(store: Path) -> None:
    async with emulator() as emu:
        result = await device_login(
            on_code=Codes(), **options(emu, store, sleep=RecordingSleep(), store=False)
        )
    assert result.stored_at is None
    assert result.token
    assert not (await Disk.read(store)).dir_exists


async def test_the_login_is_not_asked_of_an_api_host_nobody_named(store: Path) -> None:
    # Another GitHub than github.com, and no API URL given: the new token must not travel to
    # api.github.com (or anywhere else) just to learn the login.
    async with emulator() as emu:
        result = await device_login(
            on_code=Codes(),
            github_url=emu.base_url,
            store_path=store,
            env={},
            sleep=RecordingSleep(),
        )
        assert requests_to(emu, "copilot.user") == 0
    assert result.user is None
    found = parse_token_store((await Disk.read(store)).text, host=result.host)
    assert found is not None
    assert found.user is None


async def test_the_environment_names_the_hosts(store: Path) -> None:
    async with emulator() as emu:
        env = {"COPILOT_GITHUB_URL": emu.base_url, "COPILOT_GITHUB_API_URL": emu.base_url}
        result = await device_login(
            on_code=Codes(), store_path=store, env=env, sleep=RecordingSleep()
        )
        assert requests_to(emu, "copilot.user") == 1
        assert result.host == host_of(emu)
    assert result.user is not None


async def test_the_config_dir_variable_moves_the_store(tmp_path: Path) -> None:
    async with emulator() as emu:
        env = {"COPILOT_ANYIO_CONFIG_DIR": str(tmp_path / "cfg"), "HOME": str(tmp_path / "home")}
        result = await device_login(
            on_code=Codes(),
            github_url=emu.base_url,
            github_api_url=emu.base_url,
            env=env,
            sleep=RecordingSleep(),
        )
    assert result.stored_at == tmp_path / "cfg" / "credentials.json"
    assert (await Disk.read(tmp_path / "cfg" / "credentials.json")).exists
    assert not (await Disk.read(tmp_path / "home" / "x")).dir_exists


async def test_the_store_defaults_to_the_xdg_config_home(tmp_path: Path) -> None:
    if sys.platform in ("darwin", "win32"):
        pytest.skip("XDG rules apply on Linux and other Unixes")
    async with emulator() as emu:
        env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
        result = await device_login(
            on_code=Codes(),
            github_url=emu.base_url,
            github_api_url=emu.base_url,
            env=env,
            sleep=RecordingSleep(),
        )
    assert result.stored_at == tmp_path / "xdg" / "copilot-anyio" / "credentials.json"
    assert (await Disk.read(result.stored_at)).exists


# --- slow_down -------------------------------------------------------------------------------


async def test_slow_down_adds_five_seconds_and_keeps_the_new_interval(store: Path) -> None:
    # The server's own interval stays 0 (below ours): the client adds 5 s by itself.
    sleep = RecordingSleep()
    async with emulator(
        "slow_down", "authorization_pending", "authorization_pending", device_slow_down_increment=0
    ) as emu:
        await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
    assert sleep.waits == [1.0, 6.0, 6.0, 6.0]


async def test_slow_down_adopts_a_longer_interval_from_the_server(store: Path) -> None:
    sleep = RecordingSleep()
    async with emulator("slow_down", "authorization_pending", device_slow_down_increment=20) as emu:
        await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
    assert sleep.waits == [1.0, 20.0, 20.0]


async def test_slow_down_twice_adds_up(store: Path) -> None:
    sleep = RecordingSleep()
    async with emulator("slow_down", "slow_down", device_slow_down_increment=0) as emu:
        await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
    assert sleep.waits == [1.0, 6.0, 11.0]


# --- expired, denied, refused ----------------------------------------------------------------


@pytest.mark.parametrize("code", ["expired_token", "token_expired", "incorrect_device_code"])
async def test_expired_code_is_its_own_error_and_stores_nothing(store: Path, code: str) -> None:
    async with emulator("authorization_pending", code) as emu:
        with pytest.raises(DeviceCodeExpiredError) as caught:
            await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
        assert polls(emu) == 2
    assert caught.value.error_code == code
    assert "start the sign-in again" in str(caught.value)
    assert not (await Disk.read(store)).dir_exists


async def test_polling_stops_at_the_codes_expiry(store: Path) -> None:
    # The server would say "pending" for ever; the code lives 5 s, polls come every 1 s.
    sleep = RecordingSleep()
    async with emulator(*["authorization_pending"] * 50, device_expires_in=5) as emu:
        with pytest.raises(DeviceCodeExpiredError) as caught:
            await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
        assert polls(emu) == 5
    assert sleep.waits == [1.0] * 5
    assert caught.value.error_code == "expired_token"
    assert not (await Disk.read(store)).dir_exists


async def test_the_last_wait_is_cut_to_the_codes_expiry(store: Path) -> None:
    sleep = RecordingSleep()
    async with emulator(
        "slow_down",
        *["authorization_pending"] * 10,
        device_expires_in=9,
        device_slow_down_increment=0,
    ) as emu:
        with pytest.raises(DeviceCodeExpiredError):
            await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
        assert polls(emu) == 3
    assert sleep.waits == [1.0, 6.0, 2.0]


async def test_access_denied_is_its_own_error_and_stores_nothing(store: Path) -> None:
    async with emulator("authorization_pending", "access_denied") as emu:
        with pytest.raises(AuthorizationDeniedError) as caught:
            await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
    assert caught.value.error_code == "access_denied"
    assert not (await Disk.read(store)).dir_exists


@pytest.mark.parametrize(
    "code", ["device_flow_disabled", "unsupported_grant_type", "incorrect_client_credentials"]
)
async def test_a_refused_flow_is_a_device_flow_error(store: Path, code: str) -> None:
    async with emulator(code) as emu:
        with pytest.raises(DeviceFlowError) as caught:
            await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
        assert polls(emu) == 1  # not worth another poll
    assert type(caught.value) is DeviceFlowError
    assert caught.value.error_code == code
    assert code in str(caught.value)


@pytest.mark.parametrize("status", [200, 400])
async def test_a_refused_device_code_request_is_a_device_flow_error(
    store: Path, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator refuses a device-code request without a client id, as GitHub does.
    original = device_code_request

    def without_client_id(github_url: str, **kwargs: Any) -> Request:
        request = original(github_url, **kwargs)
        return Request(request.method, request.url, request.headers, {"scope": "read:user"})

    monkeypatch.setattr(login_module, "device_code_request", without_client_id)
    codes = Codes()
    async with emulator(device_error_status=status) as emu:
        with pytest.raises(DeviceFlowError) as caught:
            await device_login(on_code=codes, **options(emu, store, sleep=RecordingSleep()))
    assert caught.value.error_code == "incorrect_client_credentials"
    assert codes.seen == []


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (("authorization_pending", "slow_down"), None),
        (("access_denied",), AuthorizationDeniedError),
        (("expired_token",), DeviceCodeExpiredError),
    ],
)
async def test_error_replies_with_status_400_read_the_same(
    store: Path, script: tuple[str, ...], expected: type[Exception] | None
) -> None:
    sleep = RecordingSleep()
    async with emulator(*script, device_error_status=400, device_slow_down_increment=0) as emu:
        if expected is None:
            await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
            assert sleep.waits == [1.0, 1.0, 6.0]
        else:
            with pytest.raises(expected):
                await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))


# --- server errors ---------------------------------------------------------------------------


async def test_a_server_error_on_a_poll_is_polled_through(store: Path) -> None:
    sleep = RecordingSleep()
    async with emulator() as emu:
        emu.script("device.token", Fault.server_error(502), times=2)
        result = await device_login(on_code=Codes(), **options(emu, store, sleep=sleep))
        assert polls(emu) == 3
    assert sleep.waits == [1.0, 1.0, 1.0]
    assert result.stored_at == store


async def test_polls_unanswered_too_often_raise_the_server_error(store: Path) -> None:
    async with emulator() as emu:
        emu.script("device.token", Fault.server_error(500), times=20)
        with pytest.raises(ServerError) as caught:
            await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
        assert polls(emu) == login_module.MAX_UNANSWERED_POLLS
    assert caught.value.status_code == 500
    assert not (await Disk.read(store)).dir_exists


async def test_a_dropped_poll_is_polled_through(store: Path) -> None:
    # The dropped reply is a "pending" one: a dropped success would have spent the code (the
    # server issued a token the client never saw, as on GitHub).
    async with emulator("authorization_pending") as emu:
        emu.script("device.token", Fault.drop())
        result = await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
    assert result.token


async def test_a_server_error_on_the_code_request_is_raised_before_on_code(store: Path) -> None:
    codes = Codes()
    async with emulator() as emu:
        emu.script("device.code", Fault.status(503, body="down for maintenance"), times=5)
        with pytest.raises(ServerError) as caught:
            await device_login(on_code=codes, **options(emu, store, sleep=RecordingSleep()))
        assert polls(emu) == 0
    assert caught.value.status_code == 503
    assert codes.seen == []


async def test_a_failed_login_lookup_still_signs_in(store: Path) -> None:
    async with emulator() as emu:
        emu.script("copilot.user", Fault.server_error(500), times=5)
        result = await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
    assert result.user is None
    assert result.stored_at == store


# --- cancellation ----------------------------------------------------------------------------


class SpyTransport:
    """A real httpx transport that counts responses still open and whether it was closed."""

    opened: ClassVar[list[SpyTransport]] = []

    def __init__(self, inner: HTTPXTransport) -> None:
        self.inner = inner
        self.open_responses = 0
        self.closed = False

    @classmethod
    async def open(cls, **kwargs: Any) -> SpyTransport:
        spy = cls(await HTTPXTransport.open(**kwargs))
        cls.opened.append(spy)
        return spy

    async def send(self, request: Request) -> Response:
        response = await self.inner.send(request)
        self.open_responses += 1
        inner_stream = response.stream
        spy = self

        class Body:
            def __aiter__(self) -> Any:
                return inner_stream.__aiter__()

            async def aclose(self) -> None:
                spy.open_responses -= 1
                await inner_stream.aclose()

        return Response(response.status_code, response.headers, Body(), response.request)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[SpyTransport]:
    monkeypatch.setattr(SpyTransport, "opened", [])
    monkeypatch.setattr(login_module, "HTTPXTransport", SpyTransport)
    return SpyTransport


async def test_cancelled_while_a_poll_waits_for_the_server(
    store: Path, spy: type[SpyTransport]
) -> None:
    async with emulator() as emu:
        emu.script("device.token", Fault.delay(30))
        started = anyio.current_time()
        with anyio.move_on_after(0.5) as scope:
            await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
        took = anyio.current_time() - started
        assert polls(emu) == 1
    assert scope.cancelled_caught
    assert took < 3
    [transport] = spy.opened
    assert transport.closed
    assert transport.open_responses == 0
    assert not (await Disk.read(store)).dir_exists


async def test_cancelled_while_waiting_between_polls(store: Path, spy: type[SpyTransport]) -> None:
    shown = anyio.Event()

    def on_code(code: DeviceCode) -> None:
        shown.set()

    async with emulator(device_interval=60) as emu:
        started = anyio.current_time()
        async with anyio.create_task_group() as tg:

            async def sign_in() -> None:
                await device_login(on_code=on_code, **options(emu, store))  # the real sleep

            tg.start_soon(sign_in)
            await shown.wait()
            tg.cancel_scope.cancel()
        took = anyio.current_time() - started
        assert polls(emu) == 0
    assert took < 3
    [transport] = spy.opened
    assert transport.closed
    assert transport.open_responses == 0
    assert not (await Disk.read(store)).dir_exists


# --- secrets stay secret ---------------------------------------------------------------------


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


@pytest.mark.parametrize(
    "script",
    [
        ("authorization_pending",),
        ("slow_down", "access_denied"),
        ("expired_token",),
        ("device_flow_disabled",),
    ],
    ids=["authorised", "denied", "expired", "refused"],
)
async def test_no_token_or_code_in_logs_reprs_or_errors(
    store: Path, caplog: pytest.LogCaptureFixture, script: tuple[str, ...]
) -> None:
    caplog.set_level(logging.DEBUG)
    codes = Codes()
    error: BaseException | None = None
    result: LoginResult | None = None
    async with emulator(*script) as emu:
        try:
            result = await device_login(
                on_code=codes, **options(emu, store, sleep=RecordingSleep(), store=False)
            )
        except DeviceFlowError as raised:
            error = raised
        [grant] = emu.state.devices.values()
    secrets = [grant.device_code, grant.user_code, codes.seen[0].device_code]
    texts = [caplog.text]
    if result is not None:
        secrets.append(result.token)
        texts += [repr(result), str(result)]
    for exc in _chain(error):
        texts += [str(exc), repr(exc), repr(exc.args), repr(vars(exc))]
    assert error is not None or result is not None
    assert "device sign-in" in caplog.text  # the log was captured at all
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert codes.seen[0].device_code not in repr(codes.seen[0])


# --- logout ----------------------------------------------------------------------------------


async def test_logout_removes_the_hosts_token_and_keeps_the_others(store: Path) -> None:
    await anyio.to_thread.run_sync(
        lambda: write_token_store(store, OTHER_HOST_TOKEN, host="acme.ghe.com")
    )
    async with emulator() as emu:
        result = await device_login(on_code=Codes(), **options(emu, store, sleep=RecordingSleep()))
        assert await logout(github_url=emu.base_url, store_path=store, env={}) is True
        assert await logout(github_url=emu.base_url, store_path=store, env={}) is False
    disk = await Disk.read(store)
    assert result.token not in disk.text
    assert parse_token_store(disk.text, host=result.host) is None
    assert parse_token_store(disk.text, host="acme.ghe.com") is not None
    assert disk.names == ["credentials.json"]
    assert disk.mode == 0o600 or sys.platform.startswith("win")


async def test_logout_without_a_store_is_not_an_error(tmp_path: Path) -> None:
    env = {"COPILOT_ANYIO_CONFIG_DIR": str(tmp_path / "cfg")}
    assert await logout(env=env) is False
    assert not (await Disk.read(tmp_path / "cfg" / "credentials.json")).dir_exists


async def test_logout_defaults_to_github_com(store: Path) -> None:
    await anyio.to_thread.run_sync(lambda: write_token_store(store, OTHER_HOST_TOKEN))
    assert await logout(store_path=store, env={}) is True
    assert json.loads((await Disk.read(store)).text)["hosts"] == {}


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [{"on_code": None}, {"client_id": ""}, {"client_id": "a\r\nb"}, {"github_url": "ftp://x"}],
    ids=["on_code", "empty-client-id", "crlf-client-id", "github-url"],
)
async def test_bad_arguments_are_refused_before_any_request(
    store: Path, bad: dict[str, Any]
) -> None:
    async with emulator() as emu:
        kwargs: dict[str, Any] = {"on_code": Codes(), **options(emu, store), **bad}
        with pytest.raises(UsageError):
            await device_login(**kwargs)
        assert emu.stats.request_log == []


def test_exported_at_the_top() -> None:
    assert copilot_anyio.device_login is device_login
    assert copilot_anyio.logout is logout
    assert LoginResult.__module__ == "copilot_anyio"
