"""Signing in once, then every client finds the token: login → store → discovery → chat."""

from __future__ import annotations

import anyio
import pytest

from copilot_anyio import CopilotClient, CredentialsError, device_login
from copilot_anyio.emulator import EmulatorConfig, reply_for, serve_emulator

pytestmark = pytest.mark.anyio


async def test_a_client_finds_the_token_login_stored(tmp_path: anyio.Path) -> None:
    config_dir = str(tmp_path)
    with anyio.fail_after(30):
        async with serve_emulator(EmulatorConfig()) as emu:
            url = emu.base_url
            env = {"COPILOT_ANYIO_CONFIG_DIR": config_dir}
            result = await device_login(
                on_code=lambda code: None, env=env, github_url=url, github_api_url=url
            )
            assert result.stored_at is not None
            async with CopilotClient(
                github_url=url, github_api_url=url, api_url=url, env=env
            ) as client:
                assert client.flavours == {"ide"}
                completion = await client.chat.completions.create(
                    model="gpt-4.1", messages=[{"role": "user", "content": "stored"}]
                )
            exchange = emu.stats.last_request("copilot.token")
    assert completion.choices[0].message.content == reply_for("stored")
    # The exchange was made with the token the sign-in stored, and nothing else.
    assert exchange.headers["authorization"] == f"token {result.token}"


async def test_without_the_store_the_same_client_says_where_it_looked(
    tmp_path: anyio.Path,
) -> None:
    env = {"COPILOT_ANYIO_CONFIG_DIR": str(tmp_path)}
    with pytest.raises(CredentialsError) as info:
        async with CopilotClient(env=env):
            pass  # pragma: no cover
    assert str(tmp_path) in str(info.value)
