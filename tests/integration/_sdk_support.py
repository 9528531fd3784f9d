"""The unmodified openai and anthropic SDKs, and our client, signed in to one emulator account."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import httpx
import openai

from copilot_anyio import CopilotClient, IdeVersions
from copilot_anyio.emulator import Emulator

from ._ide_support import hosts

VERSIONS = IdeVersions()

#: claude-sonnet-4.5 serves /v1/messages; the default catalogue gates it by policy.
CLAUDE = "claude-sonnet-4.5"


async def copilot_token(emu: Emulator, github_token: str) -> tuple[str, str]:
    """(Copilot token, CAPI base URL) from the emulator's exchange, as any client gets them."""
    async with httpx.AsyncClient(base_url=emu.base_url) as http:
        reply = await http.get(
            "/copilot_internal/v2/token",
            headers={
                "Authorization": f"token {github_token}",
                "Copilot-Integration-Id": VERSIONS.integration_id,
            },
        )
    envelope = reply.json()
    return str(envelope["token"]), str(envelope["endpoints"]["api"])


def enable_claude(emu: Emulator, github_token: str) -> None:
    """Accept the Claude model's policy for the account of ``github_token``."""
    account = emu.state.account_for_user_token(github_token)
    assert account is not None
    emu.state.set_policy(account, CLAUDE, enabled=True)


@asynccontextmanager
async def ours(emu: Emulator, github_token: str, **options: Any) -> AsyncIterator[CopilotClient]:
    async with CopilotClient(
        **hosts(emu), env={}, github_token=github_token, versions=VERSIONS, **options
    ) as client:
        yield client


@asynccontextmanager
async def openai_and_ours(
    emu: Emulator,
) -> AsyncIterator[tuple[openai.AsyncOpenAI, CopilotClient]]:
    github_token = emu.issue_user_token("parity")
    token, api = await copilot_token(emu, github_token)
    sdk = openai.AsyncOpenAI(
        base_url=api, api_key=token, default_headers=VERSIONS.capi_headers(), max_retries=0
    )
    async with sdk, ours(emu, github_token) as client:
        yield sdk, client


@asynccontextmanager
async def anthropic_and_ours(
    emu: Emulator,
) -> AsyncIterator[tuple[anthropic.AsyncAnthropic, CopilotClient]]:
    github_token = emu.issue_user_token("parity")
    enable_claude(emu, github_token)
    token, api = await copilot_token(emu, github_token)
    # ``auth_token`` is sent as ``Authorization: Bearer``, which is what CAPI reads.
    sdk = anthropic.AsyncAnthropic(
        base_url=api, auth_token=token, default_headers=VERSIONS.capi_headers(), max_retries=0
    )
    async with sdk, ours(emu, github_token) as client:
        yield sdk, client


def sdk_params(value: object) -> Any:
    """Plain dicts, as the SDKs' typed parameters (TypedDicts) take them."""
    return value
