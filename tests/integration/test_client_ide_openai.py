"""The same emulator request through the unmodified openai SDK and through our client: the same
text, tool calls and usage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import openai
import pytest

from copilot_anyio import CopilotClient, IdeVersions
from copilot_anyio.emulator import Emulator, serve_emulator

from ._ide_support import TIME_TOOL, WEATHER_TOOL, hosts, user

pytestmark = [
    pytest.mark.anyio,
    # openai's AsyncStream leaves its SSE and HTTP async generators unclosed after [DONE]; trio
    # reports them when they are collected. That is the SDK's doing, so only it is silenced.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <async_generator object"
        r":pytest.PytestUnraisableExceptionWarning"
    ),
]

VERSIONS = IdeVersions()


@asynccontextmanager
async def both_clients(emu: Emulator) -> AsyncIterator[tuple[openai.AsyncOpenAI, CopilotClient]]:
    """The openai SDK with a Copilot token from the exchange route, and our client, both signed
    in with one GitHub token and sending the same identity headers."""
    github_token = emu.issue_user_token("parity")
    async with httpx.AsyncClient(base_url=emu.base_url) as http:
        envelope = (
            await http.get(
                "/copilot_internal/v2/token",
                headers={
                    "Authorization": f"token {github_token}",
                    "Copilot-Integration-Id": VERSIONS.integration_id,
                },
            )
        ).json()
    sdk = openai.AsyncOpenAI(
        base_url=envelope["endpoints"]["api"],
        api_key=envelope["token"],
        default_headers=VERSIONS.capi_headers(),
        max_retries=0,
    )
    async with (
        sdk,
        CopilotClient(**hosts(emu), env={}, github_token=github_token, versions=VERSIONS) as ours,
    ):
        yield sdk, ours


def _sdk(value: object) -> Any:
    """Plain dicts, as the SDK's typed parameters (TypedDicts) take them."""
    return value


def _usage(usage: Any) -> tuple[int, int, int]:
    assert usage is not None
    return usage.prompt_tokens, usage.completion_tokens, usage.total_tokens


def _calls(calls: Any) -> list[tuple[str, str, str]]:
    assert calls
    return [(c.id, c.function.name, c.function.arguments) for c in calls]


MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "first"},
    {"role": "assistant", "content": "an earlier answer"},
    {"role": "user", "content": "compare the two clients"},
]


async def test_create_gives_the_same_text_and_usage() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu, both_clients(emu) as (sdk, ours):
            theirs = await sdk.chat.completions.create(
                model="gpt-4.1",
                messages=_sdk(MESSAGES),
            )
            mine = await ours.chat.completions.create(model="gpt-4.1", messages=MESSAGES)
    assert mine.choices[0].message.content == theirs.choices[0].message.content
    assert mine.choices[0].message.content
    assert mine.choices[0].finish_reason == theirs.choices[0].finish_reason
    assert _usage(mine.usage) == _usage(theirs.usage)
    assert mine.model == theirs.model


async def test_streams_give_the_same_text_and_usage() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu, both_clients(emu) as (sdk, ours):
            stream = await sdk.chat.completions.create(
                model="gpt-4.1",
                messages=_sdk(MESSAGES),
                stream=True,
                stream_options={"include_usage": True},
            )
            their_text = ""
            their_usage = None
            async with stream:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        their_text += chunk.choices[0].delta.content
                    if chunk.usage is not None:
                        their_usage = chunk.usage
            async with ours.chat.completions.stream(model="gpt-4.1", messages=MESSAGES) as s:
                my_text = "".join([text async for text in s.text_deltas()])
                mine = await s.final()
    assert my_text == their_text
    assert mine.choices[0].message.content == their_text
    assert _usage(mine.usage) == _usage(their_usage)


async def test_tool_calls_are_the_same_created_and_streamed() -> None:
    messages = user("call get_weather and get_time")
    tools = [WEATHER_TOOL, TIME_TOOL]
    with anyio.fail_after(15):
        async with serve_emulator() as emu, both_clients(emu) as (sdk, ours):
            theirs = await sdk.chat.completions.create(
                model="gpt-4.1",
                messages=_sdk(messages),
                tools=_sdk(tools),
            )
            mine = await ours.chat.completions.create(
                model="gpt-4.1", messages=messages, tools=tools
            )
            stream = await sdk.chat.completions.create(
                model="gpt-4.1",
                messages=_sdk(messages),
                tools=_sdk(tools),
                stream=True,
            )
            # What the SDK's user assembles by hand: pieces joined by index.
            assembled: dict[int, list[str]] = {}
            async with stream:
                async for chunk in stream:
                    for choice in chunk.choices:
                        for piece in choice.delta.tool_calls or ():
                            entry = assembled.setdefault(piece.index, ["", "", ""])
                            entry[0] += piece.id or ""
                            if piece.function is not None:
                                entry[1] += piece.function.name or ""
                                entry[2] += piece.function.arguments or ""
            async with ours.chat.completions.stream(
                model="gpt-4.1", messages=messages, tools=tools
            ) as s:
                streamed = await s.final()
    expected = _calls(theirs.choices[0].message.tool_calls)
    assert len(expected) == 2
    assert _calls(mine.choices[0].message.tool_calls) == expected
    assert [tuple(assembled[i]) for i in sorted(assembled)] == expected
    assert _calls(streamed.choices[0].message.tool_calls) == expected
    assert mine.choices[0].finish_reason == theirs.choices[0].finish_reason == "tool_calls"
    assert _usage(mine.usage) == _usage(theirs.usage)
