"""The gpt4free-compatible facade, driven as the provider's documentation shows, on the emulator."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import anyio
import pytest

from copilot_anyio import Conversation, CredentialsError, GithubCopilot, RateLimitError
from copilot_anyio.emulator import EmulatorConfig, Fault, reply_for, serve_emulator

from ._support import ALICE

pytestmark = pytest.mark.anyio


def test_class_attributes_match_the_provider() -> None:
    assert GithubCopilot.label == "GitHub Copilot"
    assert GithubCopilot.url == "https://github.com/copilot"
    assert GithubCopilot.working is True
    assert GithubCopilot.needs_auth is True
    assert GithubCopilot.supports_stream is True
    assert GithubCopilot.default_model == "gpt-4o"
    assert GithubCopilot.models == ["gpt-4o", "o1-mini", "o1-preview", "claude-3.5-sonnet"]
    assert Conversation("abc").conversation_id == "abc"


async def test_the_documented_example_runs_against_the_emulator() -> None:
    # The provider's usage example, with the emulator standing in for github.com: a web token
    # fetched beforehand plays "your_api_key", and the conversation id is a real thread.
    messages = [{"role": "user", "content": "Hello, how are you?"}]
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            hosts: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}
            pieces = [
                p
                async for p in GithubCopilot.create_async_generator(
                    model="", messages=messages, cookies=ALICE, return_conversation=True, **hosts
                )
            ]
            conversation = pieces[0]
            assert isinstance(conversation, Conversation)
            api_key = emu.stats.last_request("web.messages.create").headers["authorization"]
            responses = [
                r
                async for r in GithubCopilot.create_async_generator(
                    model="gpt-4o",
                    messages=messages,
                    api_key=api_key.removeprefix("GitHub-Bearer "),
                    proxy=None,
                    cookies={"your_cookie": "your_cookie_value"},
                    conversation_id=conversation.conversation_id,
                    **hosts,
                )
            ]
            sent = emu.stats.last_request("web.messages.create").json()
    assert pieces[1:] == [reply_for("Hello, how are you?")]
    assert sent["model"] == "gpt-4o"
    assert responses == [reply_for("Hello, how are you?")]  # non-streaming: one piece


async def test_streaming_yields_deltas_and_return_conversation_continues_the_thread() -> None:
    history = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
    ]
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            hosts: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}
            out = [
                p
                async for p in GithubCopilot.create_async_generator(
                    "gpt-4o", history, stream=True, cookies=ALICE, return_conversation=True, **hosts
                )
            ]
            conversation = out[0]
            assert isinstance(conversation, Conversation)
            first_sent = emu.stats.last_request("web.messages.create").json()
            history += [
                {"role": "assistant", "content": "".join(map(str, out[1:]))},
                {"role": "user", "content": "second"},
            ]
            follow = [
                p
                async for p in GithubCopilot.create_async_generator(
                    "gpt-4o",
                    history,
                    stream=True,
                    cookies=ALICE,
                    conversation=conversation,
                    return_conversation=True,
                    **hosts,
                )
            ]
            second_sent = emu.stats.last_request("web.messages.create").json()
    assert len(out) > 3  # streamed in pieces
    assert "".join(map(str, out[1:])) == reply_for("first")
    assert first_sent["content"] == "first"  # only the last user message
    assert follow[0] is conversation
    assert second_sent["content"] == "second"
    assert second_sent["parentMessageID"] != "root"
    assert "".join(map(str, follow[1:])) == reply_for("second", turn=2)


async def test_without_return_conversation_the_transcript_is_flattened() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what is SSE?"},
    ]
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            hosts: dict[str, Any] = {"github_url": emu.base_url, "api_url": emu.base_url}
            answer = [
                p
                async for p in GithubCopilot.create_async_generator(
                    "gpt-4o", messages, cookies=ALICE, **hosts
                )
            ]
            sent = emu.stats.last_request("web.messages.create").json()
            assert emu.stats.count("web.threads.create") == 1
    assert "System: be brief" in sent["content"]
    assert "User: what is SSE?" in sent["content"]
    assert len(answer) == 1


async def test_closing_the_generator_early_closes_the_response() -> None:
    with anyio.fail_after(15):
        async with serve_emulator(EmulatorConfig(pacing=0.02)) as emu:
            agen = GithubCopilot.create_async_generator(
                "gpt-4o",
                [{"role": "user", "content": "long"}],
                stream=True,
                cookies=ALICE,
                github_url=emu.base_url,
                api_url=emu.base_url,
            )
            async with aclosing(agen) as pieces:
                async for _ in pieces:
                    break
            with anyio.fail_after(5):
                await emu.wait_streams_closed()
            assert emu.stats.streams_aborted == 1


async def test_errors_are_typed_and_credentials_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COPILOT_COOKIES", raising=False)
    monkeypatch.delenv("COPILOT_COOKIES_FILE", raising=False)
    with pytest.raises(CredentialsError):
        async with aclosing(
            GithubCopilot.create_async_generator("", [{"role": "user", "content": "hi"}])
        ) as agen:
            async for _ in agen:
                pass  # pragma: no cover
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            emu.script("web.messages.create", Fault.rate_limited("30"))
            with pytest.raises(RateLimitError) as info:
                async for _ in GithubCopilot.create_async_generator(
                    "gpt-4o",
                    [{"role": "user", "content": "hi"}],
                    cookies=ALICE,
                    github_url=emu.base_url,
                    api_url=emu.base_url,
                ):
                    pass  # pragma: no cover
    assert info.value.retry_after == 30.0
