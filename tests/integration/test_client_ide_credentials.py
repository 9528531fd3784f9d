"""Where the IDE flavour's GitHub token comes from, in order, each source signing in for real;
and what a client missing one flavour's credential says (never a token value)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from copilot_anyio import CopilotClient, CredentialsError
from copilot_anyio.emulator import (
    Emulator,
    EmulatorConfig,
    serve_emulator,
    write_editor_credentials,
)
from copilot_anyio.ide._credentials import encode_token_store, store_host_key, token_store_path

from ._ide_support import hosts, user

pytestmark = pytest.mark.anyio

#: The sources, first found wins.
CHAIN = (
    "argument",
    "COPILOT_GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "apps.json",
    "hosts.json",
    "token store",
)
EMULATOR_HOST = "127.0.0.1"


def _login(source: str) -> str:
    return "via-" + source.replace(".", "-").replace(" ", "-").replace("_", "-").lower()


def _write_sources(emu: Emulator, root: Path, sources: tuple[str, ...]) -> dict[str, Any]:
    """Put a token of its own (minted for the login ``_login(source)``) in each of ``sources``;
    the client options and environment that point at them."""
    home = root / "home"
    config = root / "config"
    home.mkdir(exist_ok=True)
    env: dict[str, str] = {"HOME": str(home), "XDG_CONFIG_HOME": str(config)}
    options: dict[str, Any] = {"env": env}
    for source in sources:
        token = emu.issue_user_token(_login(source))
        if source == "argument":
            options["github_token"] = token
        elif source == "apps.json":
            write_editor_credentials(config, token, host=EMULATOR_HOST)
        elif source == "hosts.json":
            write_editor_credentials(
                config, token, host=EMULATOR_HOST, apps_json=False, hosts_json=True
            )
        elif source == "token store":
            path = Path(token_store_path(env, platform=sys.platform, home=str(home)))
            path.parent.mkdir(parents=True, exist_ok=True)
            # the store is keyed by host and port, as `copilot-anyio login` writes it
            key = store_host_key(emu.base_url)
            path.write_text(encode_token_store(key, token), encoding="utf-8")
        else:
            env[source] = token
    return options


@pytest.mark.parametrize("first", range(len(CHAIN)), ids=CHAIN)
async def test_the_first_credential_found_signs_in(first: int, tmp_path: Path) -> None:
    """Every source from ``first`` down holds a token of another account; the first one wins."""
    # Only tokens the emulator minted are accounts: a token read from the wrong place, or
    # mangled on the way, cannot sign in.
    with anyio.fail_after(15):
        async with serve_emulator(EmulatorConfig(accounts={})) as emu:
            options = _write_sources(emu, tmp_path, CHAIN[first:])
            async with CopilotClient(**hosts(emu), **options) as client:
                shown = repr(client)
                completion = await client.chat.completions.create(
                    model="gpt-4.1", messages=user("who am I")
                )
            exchange = emu.stats.last_request("copilot.token")
            tokens = [t.value for t in emu.state.tokens.values() if t.account.startswith("via-")]
    assert exchange.status == 200
    assert exchange.account == _login(CHAIN[first])
    assert completion.choices[0].message.content
    assert all(token not in shown for token in tokens)


async def test_config_files_are_found_under_home_without_xdg_config_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with anyio.fail_after(15):
        async with serve_emulator(EmulatorConfig(accounts={})) as emu:
            token = emu.issue_user_token("via-home-config")
            write_editor_credentials(home / ".config", token, host=EMULATOR_HOST)
            async with CopilotClient(**hosts(emu), env={"HOME": str(home)}) as client:
                await client.models.list()
            account = emu.stats.last_request("copilot.token").account
    assert account == "via-home-config"


async def test_a_token_for_another_host_is_not_used(tmp_path: Path) -> None:
    config = tmp_path / "config"
    write_editor_credentials(config, "ghu_" + "E" * 36, host="github.example.com")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(config)}
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            with pytest.raises(CredentialsError) as info:
                async with CopilotClient(**hosts(emu), env=env):
                    pass
            exchanges = emu.stats.requests_to("copilot.token")
    assert exchanges == []
    assert str(config / "github-copilot" / "apps.json") in str(info.value)
    assert "E" * 36 not in str(info.value)


async def test_a_client_with_only_cookies_says_where_a_github_token_would_be() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            async with CopilotClient(
                **hosts(emu), env={}, cookies={"user_session": "secret-session-value"}
            ) as client:
                with pytest.raises(CredentialsError) as created:
                    await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
                with pytest.raises(CredentialsError) as streamed:
                    async with client.chat.completions.stream(
                        model="gpt-4.1", messages=user("x")
                    ) as stream:
                        await stream.final()
                with pytest.raises(CredentialsError) as listed:
                    await client.models.list()
                shown = repr(client)
            capi = [r for r in emu.stats.request_log if not r.route.startswith("web.")]
    for error in (created.value, streamed.value, listed.value):
        assert "COPILOT_GITHUB_TOKEN" in str(error)
        assert "github_token=" in str(error)
        assert "secret-session-value" not in str(error)
        assert "secret-session-value" not in repr(error)
    assert "secret-session-value" not in shown
    assert capi == []


async def test_a_client_with_only_a_github_token_says_where_cookies_would_be() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            token = emu.issue_user_token("ide-only")
            async with CopilotClient(**hosts(emu), env={}, github_token=token) as client:
                with pytest.raises(CredentialsError) as streamed:
                    async with client.threads.stream("hello") as stream:
                        await stream.final()
                with pytest.raises(CredentialsError) as listed:
                    await client.threads.list()
                # The IDE flavour works all the same.
                completion = await client.chat.completions.create(
                    model="gpt-4.1", messages=user("x")
                )
                shown = repr(client)
            web = [r for r in emu.stats.request_log if r.route.startswith("web.")]
    for error in (streamed.value, listed.value):
        assert "COPILOT_COOKIES" in str(error)
        assert token not in str(error)
        assert token not in repr(error)
    assert token not in shown
    assert completion.choices[0].message.content
    assert web == []


async def test_no_credential_at_all_is_refused_on_entry_naming_both_chains(
    tmp_path: Path,
) -> None:
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            with pytest.raises(CredentialsError) as info:
                async with CopilotClient(**hosts(emu), env=env):
                    pass
            requests = list(emu.stats.request_log)
    message = str(info.value)
    assert requests == []
    for name in ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "COPILOT_COOKIES"):
        assert name in message
    assert str(tmp_path / "config" / "github-copilot" / "hosts.json") in message
    assert str(tmp_path / "config" / "copilot-anyio" / "credentials.json") in message
