"""Bogus token lifetimes from a server never become a refresh loop (the Hardening issue, item 3):
an idle client fetches no more tokens than its requests need, on both flavours."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from copilot_anyio import CopilotClient
from copilot_anyio.emulator import Fault, reply_for, serve_emulator

from ._raw_http import Seen, json_reply, raw_server, sse_reply
from ._support import ALICE

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("expires_in", [1e-6, 0.001, 0, -5])
async def test_a_web_token_said_to_live_a_microsecond_is_not_refetched_in_a_loop(
    expires_in: float,
) -> None:
    async def routes(request: Seen) -> bytes:
        if request.path.endswith("/chat/token"):
            return json_reply(
                "200 OK", '{"token": "' + "t" * 40 + f'", "expires_in": {expires_in}}}'
            )
        if request.path.endswith("/threads"):
            return json_reply("201 Created", '{"thread_id": "t1"}')
        return sse_reply('{"type":"content","body":"hi"}', '{"type":"complete","id":"m1"}')

    with anyio.fail_after(15):
        async with raw_server(routes) as server:
            url = server.url
            async with CopilotClient(
                cookies=ALICE, github_url=url, api_url=url, github_api_url=url, env={}
            ) as client:
                assert (await client.threads.send("hello")).text == "hi"
                await anyio.sleep(1.5)  # idle: only the background refresh could fetch now
                fetches = client.statistics().token_fetches
    token_requests = [seen for seen in server.seen if seen.path.endswith("/chat/token")]
    assert fetches == len(token_requests)
    assert fetches <= 2  # a loop would have made hundreds


@pytest.mark.parametrize(
    "envelope",
    [
        {"refresh_in": 0},
        {"refresh_in": -60},
        {"refresh_in": 1e-6},
        {"expires_at": "past"},
        {"refresh_in": 0, "expires_at": "past"},
    ],
)
async def test_an_idle_ide_client_exchanges_no_more_than_its_requests_need(
    envelope: dict[str, Any],
) -> None:
    if envelope.get("expires_at") == "past":
        envelope = {**envelope, "expires_at": int(time.time()) - 3600}
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            emu.script("copilot.token", Fault.token_envelope(**envelope), times=1000)
            url = emu.base_url
            async with CopilotClient(
                github_token=emu.state.issue_user_token(),
                github_url=url,
                github_api_url=url,
                api_url=url,
                env={},
            ) as client:
                messages = [{"role": "user", "content": "hello"}]
                completion = await client.chat.completions.create(
                    model="gpt-4.1", messages=messages
                )
                await anyio.sleep(1.5)  # idle
                exchanges = client.statistics().copilot_token_exchanges
            issued = emu.stats.copilot_tokens_issued
    assert completion.choices[0].message.content == reply_for("hello")
    assert exchanges == issued
    assert exchanges <= 2
