"""Stream outcomes, cancellation and load: the client against the emulator over real sockets."""

from __future__ import annotations

import random

import anyio
import pytest

from copilot_anyio import (
    ChatResult,
    EventTooLarge,
    IncompleteStreamError,
    Limits,
    MalformedEventError,
    StreamInterruptedError,
    StreamServerError,
    StreamStalledError,
    Timeouts,
)
from copilot_anyio.emulator import Emulator, EmulatorConfig, Fault, reply_deltas, reply_for

from ._support import emulated_client

pytestmark = pytest.mark.anyio


async def _wait_until_idle(emu: Emulator) -> None:
    """Every stream's socket is closed (the emulator notices on its next write or read)."""
    with anyio.fail_after(5):
        await emu.wait_streams_closed()


@pytest.mark.parametrize("keepalive", [None, 0.05])
async def test_a_stalled_stream_ends_with_stalled_error_and_the_partial_text(
    keepalive: float | None,
) -> None:
    prompt = "stall me"
    with anyio.fail_after(15):
        async with emulated_client(timeouts=Timeouts(idle=0.5)) as (emu, client):
            emu.script("web.messages.create", Fault.stall(after_chunks=3, keepalive=keepalive))
            received: list[str] = []
            with pytest.raises(StreamStalledError) as info:
                async with client.stream_chat(prompt) as stream:
                    # A loop, not a comprehension: what arrived before the error must be kept.
                    async for text in stream.text_deltas():
                        received.append(text)  # noqa: PERF401
            await _wait_until_idle(emu)
    expected = "".join(reply_deltas(prompt)[:3])
    assert info.value.partial_text == expected
    assert "".join(received) == expected
    assert stream.error is info.value


async def test_a_dropped_connection_ends_with_interrupted_error_and_the_partial_text() -> None:
    prompt = "drop me"
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.drop(after_chunks=4))
            with pytest.raises(StreamInterruptedError) as info:
                async with client.stream_chat(prompt) as stream:
                    async for _ in stream:
                        pass
    assert info.value.partial_text == "".join(reply_deltas(prompt)[:4])


async def test_a_stream_without_complete_is_incomplete_not_done() -> None:
    prompt = "cut me short"
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            thread = client.thread()
            emu.script("web.messages.create", Fault.truncate(after_chunks=2))
            with pytest.raises(IncompleteStreamError) as info:
                async with thread.stream(prompt) as stream:
                    await stream.final()
    assert info.value.partial_text == "".join(reply_deltas(prompt)[:2])
    assert stream.result is None
    assert thread.parent_message_id == "root"  # an incomplete turn is not recorded


async def test_a_mid_stream_error_object_is_a_stream_server_error() -> None:
    prompt = "fail midway"
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.midstream_error(after_chunks=2))
            with pytest.raises(StreamServerError) as info:
                async with client.stream_chat(prompt) as stream:
                    await stream.final()
    assert info.value.partial_text == "".join(reply_deltas(prompt)[:2])


async def test_a_malformed_json_line_ends_the_stream_with_the_partial_text() -> None:
    # The unreadable event may have carried text: a "success" without it would lose text.
    prompt = "one bad line"
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.malformed_json(after_chunks=1))
            with pytest.raises(MalformedEventError) as info:
                async with client.stream_chat(prompt) as stream:
                    await stream.final()
    assert info.value.partial_text == reply_deltas(prompt)[0]


async def test_an_oversized_event_is_refused_with_bounded_memory() -> None:
    with anyio.fail_after(15):
        async with emulated_client(max_event_size=64 * 1024) as (emu, client):
            emu.script("web.messages.create", Fault.oversized_event(size=256 * 1024))
            with pytest.raises(EventTooLarge) as info:
                async with client.stream_chat("huge") as stream:
                    await stream.final()
    assert info.value.limit == 64 * 1024


@pytest.mark.parametrize("separator", ["\n", "\n\n", "\r\n"])
async def test_framing_variants_and_one_byte_writes_decode_identically(separator: str) -> None:
    prompt = "framing"
    with anyio.fail_after(20):
        async with emulated_client(EmulatorConfig(line_separator=separator)) as (emu, client):
            emu.script("web.messages.create", Fault.trickle())
            async with client.stream_chat(prompt) as stream:
                trickled = await stream.final()
            async with client.stream_chat(prompt) as stream:
                whole = await stream.final()
    assert trickled.text == whole.text == reply_for(prompt)


async def test_a_server_that_lingers_after_complete_does_not_delay_the_outcome() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.linger())
            started = anyio.current_time()
            async with client.stream_chat("and then silence") as stream:
                result = await stream.final()
                got_result = anyio.current_time() - started
            left = anyio.current_time() - started
            await _wait_until_idle(emu)
    assert result.text == reply_for("and then silence")
    assert got_result < 0.5  # not after the post-complete drain gives up
    assert left < 1.0  # leaving waits only briefly for the body's end
    assert emu.stats.streams_aborted == 1  # the lingering body was closed by the client


async def test_breaking_out_early_closes_the_response() -> None:
    with anyio.fail_after(15):
        async with emulated_client(EmulatorConfig(pacing=0.02)) as (emu, client):
            async with client.stream_chat("long answer") as stream:
                async for _ in stream:
                    break
            await _wait_until_idle(emu)
            assert emu.stats.streams_aborted == 1
            assert client.statistics().requests_in_flight == 0
            # the client is still fine for other conversations
            result = await client.chat("still there?")
    assert result.text == reply_for("still there?")


async def test_cancelling_a_consumer_closes_its_response_and_spares_the_others() -> None:
    with anyio.fail_after(20):
        async with emulated_client(EmulatorConfig(pacing=0.01)) as (emu, client):
            results: dict[str, ChatResult] = {}

            async def converse(name: str) -> None:
                async with client.stream_chat(name) as stream:
                    results[name] = await stream.final()

            async with anyio.create_task_group() as tg:
                tg.start_soon(converse, "kept-1")
                tg.start_soon(converse, "kept-2")
                with anyio.move_on_after(0.15):
                    await converse("cancelled")
            await _wait_until_idle(emu)
            assert client.statistics().requests_in_flight == 0
    assert set(results) == {"kept-1", "kept-2"}
    assert all(results[n].text == reply_for(n) for n in results)
    assert emu.stats.streams_aborted == 1


@pytest.mark.slow
async def test_tokens_expiring_every_second_under_200_concurrent_conversations() -> None:
    """200 conversations of two turns each while web tokens live 1.5 s: none fails, and the
    client never has more than one token fetch in flight (checked on both sides)."""
    config = EmulatorConfig(web_token_ttl=1.5, pacing=0.01, token_delay=0.05)
    failures: list[BaseException] = []
    done = 0
    with anyio.fail_after(90):
        async with emulated_client(config, web_token_ttl=1.5) as (emu, client):

            async def converse(i: int) -> None:
                nonlocal done
                thread = client.thread()
                try:
                    for turn in (1, 2):
                        prompt = f"conversation {i} turn {turn}"
                        async with thread.stream(prompt) as stream:
                            result = await stream.final()
                        assert result.text == reply_for(prompt, turn=turn)
                        await anyio.sleep(random.uniform(0, 1.0))
                    done += 1
                except Exception as exc:  # collected, so one failure does not hide the rest
                    failures.append(exc)

            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(converse, i)
            stats = client.statistics()
    assert failures == []
    assert done == 200
    assert stats.max_token_fetches_in_flight == 1
    assert emu.stats.max_token_requests_in_flight == 1
    assert stats.token_fetches >= 2  # the tokens really did expire and get replaced


@pytest.mark.slow
async def test_a_thousand_concurrent_conversations_each_get_their_own_answer() -> None:
    results: dict[int, str] = {}
    with anyio.fail_after(120):
        async with emulated_client(limits=Limits(max_concurrent_requests=100)) as (emu, client):

            async def converse(i: int) -> None:
                async with client.stream_chat(f"question number {i}") as stream:
                    results[i] = (await stream.final()).text

            async with anyio.create_task_group() as tg:
                for i in range(1000):
                    tg.start_soon(converse, i)
            assert client.statistics().requests_in_flight == 0
            assert emu.stats.web_tokens_issued == 1
    assert len(results) == 1000
    mismatched = [i for i, text in results.items() if text != reply_for(f"question number {i}")]
    assert mismatched == []


@pytest.mark.slow
async def test_cancelling_one_in_ten_at_random_points_leaves_nothing_open() -> None:
    rng = random.Random(1234)
    completed: dict[int, str] = {}
    cancelled = 0
    with anyio.fail_after(90):
        async with emulated_client(EmulatorConfig(pacing=0.005)) as (emu, client):

            async def converse(i: int, cancel_after: float | None) -> None:
                nonlocal cancelled
                with anyio.CancelScope() as scope:
                    if cancel_after is not None:
                        scope.deadline = anyio.current_time() + cancel_after
                    async with client.stream_chat(f"q{i}") as stream:
                        completed[i] = (await stream.final()).text
                if scope.cancelled_caught:
                    cancelled += 1

            async with anyio.create_task_group() as tg:
                for i in range(300):
                    cancel_after = rng.uniform(0.0, 0.3) if i % 10 == 0 else None
                    tg.start_soon(converse, i, cancel_after)
            await _wait_until_idle(emu)
            assert client.statistics().requests_in_flight == 0
            assert emu.stats.streams_open == 0
    assert cancelled >= 1
    assert len(completed) + cancelled == 300
    assert all(text == reply_for(f"q{i}") for i, text in completed.items())
