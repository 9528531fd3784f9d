"""Cancellation is honoured even where the library blocks a thread, and the library's own async
generators are always closed (trio reports one that is not; warnings are errors here)."""

from __future__ import annotations

import errno
import gc
import os
import time
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest

from copilot_anyio import CopilotClient, GithubCopilot, PermissionDeniedError
from copilot_anyio.emulator import Fault, serve_emulator

from ._support import ALICE, emulated_client

pytestmark = pytest.mark.anyio

BIG = "x" * (200 * 1024)  # well past the 64 KiB read of an error body
NOWHERE = "http://127.0.0.1:9"  # nothing is sent before the cookies are read


# --- a cookies file that blocks --------------------------------------------------------------


def _release(fifo: Path, patience: float) -> bool:
    """Let a reader blocked opening ``fifo`` go on: a writer appears and leaves at once (the
    reader then reads an empty file). False when no reader showed up within ``patience``."""
    deadline = time.monotonic() + patience
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() > deadline:
                return False
            time.sleep(0.01)  # no reader has it open yet
            continue
        os.close(fd)
        return True


async def _cancel_within(fifo: Path, enter: Any) -> float:
    """Seconds that ``move_on_after(0.5)`` around ``enter()`` took to return.

    A rescue task releases the FIFO after 3 s, so a library that waits for its reading thread
    fails this test (by the time) instead of hanging it; afterwards the abandoned thread is
    released either way, so no thread is left blocked when the test ends.
    """
    reached = []
    async with anyio.create_task_group() as tg:

        async def rescue() -> None:
            await anyio.sleep(3.0)
            await anyio.to_thread.run_sync(_release, fifo, 1.0)

        tg.start_soon(rescue)
        started = anyio.current_time()
        with anyio.move_on_after(0.5) as scope:
            await enter()
            reached.append("past the cookies")  # pragma: no cover - the read never ends
        elapsed = anyio.current_time() - started
        tg.cancel_scope.cancel()
    assert scope.cancelled_caught
    assert not reached
    assert await anyio.to_thread.run_sync(_release, fifo, 5.0)
    return elapsed


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "cookies.txt"
    os.mkfifo(path)
    return path


async def test_a_cookies_file_that_blocks_does_not_delay_a_cancel(fifo: Path) -> None:
    async def enter() -> None:
        async with CopilotClient(cookies_file=fifo, github_url=NOWHERE, api_url=NOWHERE, env={}):
            pass  # pragma: no cover

    with anyio.fail_after(10):
        elapsed = await _cancel_within(fifo, enter)
    assert elapsed < 1.5


async def test_the_facade_reading_a_blocking_cookies_file_is_cancelled_promptly(
    fifo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COPILOT_COOKIES", raising=False)
    monkeypatch.setenv("COPILOT_COOKIES_FILE", str(fifo))

    async def enter() -> None:
        answer = GithubCopilot.create_async_generator(
            "gpt-4o", [{"role": "user", "content": "hi"}], github_url=NOWHERE, api_url=NOWHERE
        )
        async with aclosing(answer):
            await anext(answer)

    with anyio.fail_after(10):
        elapsed = await _cancel_within(fifo, enter)
    assert elapsed < 1.5


# --- error bodies over the cap ------------------------------------------------------------------


async def test_an_error_body_over_the_cap_leaves_no_generator_open() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            for _ in range(3):
                emu.script("web.messages.create", Fault.status(403, body=BIG))
                with pytest.raises(PermissionDeniedError) as info:
                    await client.chat("hello")
                assert len(info.value.body) == 64 * 1024
                emu.script("web.messages.create", Fault.status(403, body=BIG))
                with pytest.raises(PermissionDeniedError):
                    async with client.stream_chat("hello") as stream:
                        await stream.final()
            gc.collect()
            await anyio.sleep(0.05)  # finalizers the collection scheduled run now


async def test_the_facade_with_an_error_body_over_the_cap_leaves_no_generator_open() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            for _ in range(3):
                emu.script("web.messages.create", Fault.status(403, body=BIG))
                with pytest.raises(PermissionDeniedError):
                    async with aclosing(
                        GithubCopilot.create_async_generator(
                            "gpt-4o",
                            [{"role": "user", "content": "hi"}],
                            cookies=ALICE,
                            github_url=emu.base_url,
                            api_url=emu.base_url,
                        )
                    ) as answer:
                        async for _ in answer:
                            pass  # pragma: no cover - the message POST fails
            gc.collect()
            await anyio.sleep(0.05)


# --- a generator of ours left open is reported ----------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["trio"])  # asyncio does not report collected generators
async def test_trio_reports_a_facade_generator_left_open_by_its_name(anyio_backend: str) -> None:
    # The pytest filter ignores only the HTTP stack's nested generators (tests/
    # test_warning_filter.py); this shows the name trio gives ours, which that filter leaves
    # an error.
    with anyio.fail_after(10):
        async with serve_emulator() as emu:
            holder = [
                GithubCopilot.create_async_generator(
                    "gpt-4o",
                    [{"role": "user", "content": "hi"}],
                    cookies=ALICE,
                    return_conversation=True,
                    github_url=emu.base_url,
                    api_url=emu.base_url,
                )
            ]
            await anext(holder[0])  # suspended at its first yield, holding its connections
            with pytest.warns(ResourceWarning) as caught:
                holder.clear()  # the last reference: collected (and reported) right here
            await anyio.sleep(0.1)  # trio closes it from a system task
    assert any(
        "'copilot_anyio._compat.GithubCopilot.create_async_generator' was garbage collected"
        in str(w.message)
        for w in caught
    )
