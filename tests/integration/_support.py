"""Shared helpers for the client's integration tests: an emulator and a client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from copilot_anyio import CopilotClient
from copilot_anyio.emulator import Emulator, EmulatorConfig, serve_emulator

ALICE = {"user_session": "alice-session"}


@asynccontextmanager
async def emulated_client(
    config: EmulatorConfig | None = None, **client_options: Any
) -> AsyncIterator[tuple[Emulator, CopilotClient]]:
    """The bundled emulator on a loopback port, and a CopilotClient whose hosts all point at it."""
    async with serve_emulator(config) as emu:
        options: dict[str, Any] = {"cookies": ALICE}
        options.update(client_options)
        async with CopilotClient(
            github_url=emu.base_url,
            github_api_url=emu.base_url,
            api_url=emu.base_url,
            env={},
            **options,
        ) as client:
            yield emu, client
