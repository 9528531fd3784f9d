"""Shared helpers for the IDE flavour's client tests: an emulator and a client signed in to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio

from copilot_anyio import CopilotClient
from copilot_anyio.emulator import Emulator, EmulatorConfig, serve_emulator

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


def user(text: str) -> list[dict[str, Any]]:
    """A conversation of one user message."""
    return [{"role": "user", "content": text}]


def hosts(emu: Emulator) -> dict[str, Any]:
    """Every host of a client pointed at the emulator."""
    return {"github_url": emu.base_url, "github_api_url": emu.base_url, "api_url": emu.base_url}


@asynccontextmanager
async def ide_client(
    config: EmulatorConfig | None = None,
    *,
    env: Mapping[str, str] | None = None,
    **client_options: Any,
) -> AsyncIterator[tuple[Emulator, CopilotClient]]:
    """The emulator on a loopback port, and a client signed in with a GitHub token it minted."""
    async with serve_emulator(config) as emu:
        options: dict[str, Any] = {"github_token": emu.issue_user_token("octo")}
        options.update(client_options)
        async with CopilotClient(**hosts(emu), env={} if env is None else env, **options) as client:
            yield emu, client


async def wait_until_idle(emu: Emulator) -> None:
    """Every streamed body of the emulator has ended (its socket closed or completed)."""
    with anyio.fail_after(5):
        await emu.wait_streams_closed()


def library_tasks() -> list[str]:
    """The names of the client tasks running now (the emulator's aside), sorted."""
    names = [task.name or "" for task in anyio.get_running_tasks()]
    return sorted(
        name
        for name in names
        if name.startswith("copilot_anyio.") and not name.startswith("copilot_anyio.emulator")
    )
