"""Embeddings, routing refusals, usage and credit totals, the spend cap, quotas, short-window
rate limits and stream timing of the IDE flavour, over real sockets."""

from __future__ import annotations

import math
from collections import defaultdict
from contextlib import AsyncExitStack
from typing import Any

import anyio
import pytest

from copilot_anyio import (
    Limits,
    RateLimitError,
    RetryPolicy,
    SpendCapReachedError,
    UnsupportedEndpointError,
)
from copilot_anyio.emulator import EmulatorConfig, Fault, reply_for
from copilot_anyio.ide import ChatCompletion, Message, Response

from ._ide_support import ide_client, user

pytestmark = pytest.mark.anyio

CLAUDE = "claude-sonnet-4.5"
EMBEDDER = "text-embedding-3-small"
BILLED = EmulatorConfig(copilot_usage=True)


def _billed(**changes: Any) -> EmulatorConfig:
    return EmulatorConfig(copilot_usage=True, **changes)


# -- embeddings ---------------------------------------------------------------------------------
async def test_embeddings_come_back_in_order_with_their_usage() -> None:
    texts = ["alpha", "beta", "alpha"]
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            listed = await client.embeddings.create(model=EMBEDDER, input=texts)
            one = await client.embeddings.create(model=EMBEDDER, input="beta", dimensions=8)
            sent = [r.json() for r in emu.stats.requests_to("embeddings")]
            totals = client.usage()[EMBEDDER]
    assert [d.index for d in listed.data] == [0, 1, 2]
    vectors = [d.embedding for d in listed.data]
    assert [len(v) for v in vectors] == [16, 16, 16]  # the emulator's default size
    assert vectors[0] == vectors[2] != vectors[1]  # the same text, the same vector
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, abs_tol=1e-6) for v in vectors)
    assert len(one.data) == 1
    assert len(one.data[0].embedding) == 8
    assert listed.model == EMBEDDER
    assert listed.usage is not None
    assert one.usage is not None
    assert listed.usage.prompt_tokens > 0
    assert sent == [
        {"model": EMBEDDER, "input": texts},
        {"model": EMBEDDER, "input": "beta", "dimensions": 8},
    ]
    assert totals.requests == 2
    assert totals.prompt_tokens == listed.usage.prompt_tokens + one.usage.prompt_tokens


# -- routing before sending ---------------------------------------------------------------------
async def test_each_endpoint_refuses_a_model_that_does_not_serve_it_before_sending() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.state.set_policy("octo", CLAUDE, enabled=True)
            refusals: dict[str, UnsupportedEndpointError] = {}
            with pytest.raises(UnsupportedEndpointError) as caught:
                await client.responses.create(model="gpt-4o-2024-11-20", input="x")
            refusals["responses.create"] = caught.value
            with pytest.raises(UnsupportedEndpointError) as caught:
                async with client.responses.stream(model=CLAUDE, input="x") as stream:
                    await stream.final()
            refusals["responses.stream"] = caught.value
            with pytest.raises(UnsupportedEndpointError) as caught:
                await client.messages.create(model="gpt-4.1", messages=user("x"), max_tokens=5)
            refusals["messages.create"] = caught.value
            with pytest.raises(UnsupportedEndpointError) as caught:
                async with client.messages.stream(
                    model="gpt-5-codex", messages=user("x"), max_tokens=5
                ) as stream:
                    await stream.final()
            refusals["messages.stream"] = caught.value
            with pytest.raises(UnsupportedEndpointError) as caught:
                await client.embeddings.create(model="gpt-4.1", input=["x"])
            refusals["embeddings.create"] = caught.value
            with pytest.raises(UnsupportedEndpointError) as caught:
                await client.chat.completions.create(model=EMBEDDER, messages=user("x"))
            refusals["chat.completions.create"] = caught.value
            sent = [r.route for r in emu.stats.request_log]
    assert {k: (e.model, e.endpoint, e.supported) for k, e in refusals.items()} == {
        "responses.create": ("gpt-4o-2024-11-20", "/responses", ("/chat/completions",)),
        "responses.stream": (CLAUDE, "/responses", ("/chat/completions", "/v1/messages")),
        "messages.create": ("gpt-4.1", "/v1/messages", ("/chat/completions", "/responses")),
        "messages.stream": ("gpt-5-codex", "/v1/messages", ("/responses",)),
        "embeddings.create": ("gpt-4.1", "/embeddings", ("/chat/completions", "/responses")),
        "chat.completions.create": (EMBEDDER, "/chat/completions", ("/embeddings",)),
    }
    for error in refusals.values():
        for endpoint in error.supported:
            assert endpoint in str(error)  # the message names what the model does serve
    # nothing but the token exchange and the model list went out
    assert set(sent) == {"copilot.token", "models"}


# -- usage totals -------------------------------------------------------------------------------
def _own_count(result: ChatCompletion | Response | Message) -> tuple[int, int, float]:
    """(prompt tokens, completion tokens, nano-AIU) as each API reports them."""
    if isinstance(result, ChatCompletion):
        assert result.usage is not None
        assert result.copilot_usage is not None
        usage = result.usage
        return usage.prompt_tokens, usage.completion_tokens, result.copilot_usage.total_nano_aiu
    if isinstance(result, Response):
        assert result.usage is not None
        assert result.copilot_usage is not None
        r_usage = result.usage
        return r_usage.input_tokens, r_usage.output_tokens, result.copilot_usage.total_nano_aiu
    assert result.usage is not None
    assert result.copilot_usage is not None
    m_usage = result.usage
    prompt = (
        m_usage.input_tokens
        + (m_usage.cache_read_input_tokens or 0)
        + (m_usage.cache_creation_input_tokens or 0)
    )
    return prompt, m_usage.output_tokens, result.copilot_usage.total_nano_aiu


async def test_usage_and_credit_totals_add_up_across_1000_concurrent_requests() -> None:
    n = 1000
    results: list[tuple[str, ChatCompletion | Response | Message]] = []
    with anyio.fail_after(120):
        async with ide_client(BILLED) as (emu, client):
            emu.state.set_policy("octo", CLAUDE, enabled=True)

            async def one(i: int) -> None:
                prompt = f"question {i} " + "x" * (i % 37)
                kind = i % 6
                result: ChatCompletion | Response | Message
                if kind == 0:
                    model = "gpt-4.1"
                    result = await client.chat.completions.create(
                        model=model, messages=user(prompt)
                    )
                elif kind == 1:
                    model = "gpt-4o"
                    async with client.chat.completions.stream(
                        model=model, messages=user(prompt)
                    ) as s:
                        result = await s.final()
                elif kind == 2:
                    model = "gpt-5-codex"
                    result = await client.responses.create(model=model, input=prompt)
                elif kind == 3:
                    model = "gpt-5-mini"
                    async with client.responses.stream(model=model, input=prompt) as r:
                        result = await r.final()
                elif kind == 4:
                    model = CLAUDE
                    result = await client.messages.create(
                        model=model, messages=user(prompt), max_tokens=100
                    )
                else:
                    model = CLAUDE
                    async with client.messages.stream(
                        model=model, messages=user(prompt), max_tokens=100
                    ) as m:
                        result = await m.final()
                results.append((model, result))

            async with anyio.create_task_group() as tg:
                for i in range(n):
                    tg.start_soon(one, i)
            totals = client.usage()
            served = sum(emu.stats.count(r, 200) for r in ("chat.completions", "responses"))
            served += emu.stats.count("messages", 200)
    assert len(results) == served == n
    expected: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    asked: dict[str, set[str]] = defaultdict(set)
    for model, result in results:
        prompt, completion, nano = _own_count(result)
        asked[model].add(result.model)
        entry = expected[result.model]  # totals go by the model the reply names
        entry[0] += 1
        entry[1] += prompt
        entry[2] += completion
        entry[3] += nano
    # the emulator names dated versions for the gpt-4 models (gpt-4o is gpt-4o-2024-11-20)
    assert dict(asked) == {
        "gpt-4.1": {"gpt-4.1-2025-04-14"},
        "gpt-4o": {"gpt-4o-2024-11-20"},
        "gpt-5-codex": {"gpt-5-codex"},
        "gpt-5-mini": {"gpt-5-mini"},
        CLAUDE: {CLAUDE},
    }
    assert set(totals) == set(expected)
    for model, (requests, prompt_sum, completion_sum, nano_sum) in expected.items():
        got = totals[model]
        assert (got.requests, got.prompt_tokens, got.completion_tokens) == (
            requests,
            prompt_sum,
            completion_sum,
        ), model
        assert got.unmetered_requests == 0
        assert got.nano_aiu == nano_sum
        assert got.credits == pytest.approx(nano_sum / 1e9)
    assert sum(t.requests for t in totals.values()) == n
    assert sum(t.credits for t in totals.values()) > 0


async def test_credits_stay_zero_and_requests_unmetered_without_copilot_usage() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (_, client):
            completion = await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            totals = client.usage()[completion.model]
    assert completion.copilot_usage is None
    assert completion.usage is not None
    assert totals.requests == totals.unmetered_requests == 1
    assert totals.credits == 0.0
    assert totals.prompt_tokens == completion.usage.prompt_tokens


# -- the spend cap ------------------------------------------------------------------------------
async def _cost_of_one(prompt: str) -> float:
    """What one chat completion of ``prompt`` costs on the emulator, in nano-AIU."""
    async with ide_client(BILLED) as (_, client):
        completion = await client.chat.completions.create(model="gpt-4.1", messages=user(prompt))
    assert completion.copilot_usage is not None
    return completion.copilot_usage.total_nano_aiu


@pytest.mark.parametrize("allowed", [3.0, 2.5], ids=["cap-at-three", "cap-between"])
async def test_the_spend_cap_stops_new_requests_at_the_cap_and_not_before(allowed: float) -> None:
    prompt = "what does it cost?"
    with anyio.fail_after(20):
        nano = await _cost_of_one(prompt)
        cap = allowed * nano / 1e9  # three requests reach it (or pass it), two do not
        async with ide_client(BILLED, limits=Limits(max_ai_credits=cap)) as (emu, client):
            sent = [
                await client.chat.completions.create(model="gpt-4.1", messages=user(prompt))
                for _ in range(3)
            ]
            before = emu.stats.count("chat.completions")
            with pytest.raises(SpendCapReachedError) as refused:
                await client.chat.completions.create(model="gpt-4.1", messages=user(prompt))
            with pytest.raises(SpendCapReachedError):
                await client.responses.create(model="gpt-5-codex", input=prompt)
            with pytest.raises(SpendCapReachedError):
                async with client.responses.stream(model="gpt-5-codex", input=prompt) as s:
                    await s.final()
            with pytest.raises(SpendCapReachedError):
                await client.embeddings.create(model=EMBEDDER, input=["x"])
            after = emu.stats.count("chat.completions") + emu.stats.count("responses")
            after += emu.stats.count("embeddings")
    assert len(sent) == before == 3
    assert after == 3  # nothing more was sent
    assert refused.value.cap == pytest.approx(cap)
    assert refused.value.spent == pytest.approx(3 * nano / 1e9)
    assert refused.value.model == "gpt-4.1"
    assert "max_ai_credits" in str(refused.value)


async def test_requests_in_flight_when_the_cap_is_reached_finish() -> None:
    prompt = "in flight"
    with anyio.fail_after(30):
        nano = await _cost_of_one(prompt)
        limits = Limits(max_ai_credits=nano / 1e9)  # one request's worth
        async with ide_client(_billed(pacing=0.01), limits=limits) as (emu, client):
            async with AsyncExitStack() as stack:
                streams = [
                    await stack.enter_async_context(
                        client.chat.completions.stream(model="gpt-4.1", messages=user(prompt))
                    )
                    for _ in range(4)
                ]
                finals = [await s.final() for s in streams]
            spent = sum(t.credits for t in client.usage().values())
            with pytest.raises(SpendCapReachedError):
                await client.chat.completions.create(model="gpt-4.1", messages=user(prompt))
            requests = emu.stats.count("chat.completions")
    assert [f.choices[0].message.content for f in finals] == [reply_for(prompt)] * 4
    assert spent == pytest.approx(4 * nano / 1e9)  # past the cap: what was in flight counts
    assert requests == 4


# -- quotas -------------------------------------------------------------------------------------
async def test_quota_reads_the_plan_every_snapshot_and_the_windows() -> None:
    config = _billed(usage_windows={"session": 42.5, "weekly": 80.0})
    with anyio.fail_after(15):
        async with ide_client(config) as (emu, client):
            await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            await client.chat.completions.create(model="gpt-4.1", messages=user("y"))
            user_info = await client.quota()
            sent = emu.stats.last_request("copilot.user")
    assert user_info.login == "octo"
    assert user_info.plan == "free"
    assert user_info.sku == "free_limited_copilot"
    assert user_info.chat_enabled is True
    assert user_info.token_based_billing is True
    assert user_info.quota_reset_date is not None
    assert user_info.quota_resets_at is not None
    assert set(user_info.quotas) == {
        "chat",
        "completions",
        "premium_interactions",
        "session",
        "weekly",
    }
    chat = user_info.chat
    assert chat is not None
    assert (chat.entitlement, chat.remaining, chat.percent_remaining) == (50, 48, 96.0)
    assert chat.source == "user"
    assert not chat.exhausted
    completions = user_info.completions
    assert completions is not None
    assert completions.remaining == 2000
    session, weekly = user_info.session, user_info.weekly
    assert session is not None
    assert weekly is not None
    assert session.percent_remaining == 42.5
    assert weekly.percent_remaining == 80.0
    assert session.resets_at is not None
    assert weekly.resets_at is not None
    assert session.resets_at < weekly.resets_at + 7 * 86400
    assert sent.headers["authorization"].startswith("token ")  # the GitHub token reads it


async def test_quota_snapshots_follow_the_replies_headers_without_a_request() -> None:
    config = EmulatorConfig(usage_windows={"session": 61.0})
    with anyio.fail_after(15):
        async with ide_client(config) as (emu, client):
            empty = client.quota_snapshots
            await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            first = client.quota_snapshots
            config.usage_windows["session"] = 55.0
            async with client.responses.stream(model="gpt-5-codex", input="y") as stream:
                await stream.final()
            second = client.quota_snapshots
            user_reads = emu.stats.count("copilot.user")
    assert empty == {}
    assert user_reads == 0
    assert set(first) == {"chat", "premium_interactions", "session"}
    assert first["chat"].source == "header"
    assert first["chat"].percent_remaining == 98.0  # 49 of 50 left
    assert first["session"].percent_remaining == 61.0
    assert first["session"].reset_date is not None
    assert second["chat"].percent_remaining == 96.0
    assert second["session"].percent_remaining == 55.0


# -- short-window rate limits on the newer endpoints -------------------------------------------
async def test_session_and_weekly_limits_are_raised_with_their_window_not_retried() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.state.set_policy("octo", CLAUDE, enabled=True)
            emu.script("responses", Fault.session_rate_limited(2733, plan="pro"))
            with pytest.raises(RateLimitError) as session:
                async with client.responses.stream(model="gpt-5-codex", input="x") as stream:
                    await stream.final()
            after_session = client.quota_snapshots
            emu.script("messages", Fault.weekly_rate_limited(180_000))
            with pytest.raises(RateLimitError) as weekly:
                await client.messages.create(model=CLAUDE, messages=user("x"), max_tokens=10)
            attempts = (
                len(emu.stats.requests_to("responses")),
                len(emu.stats.requests_to("messages")),
            )
    assert (session.value.window, session.value.retry_after) == ("session", 2733)
    assert session.value.code == "user_global_rate_limited:pro"
    assert (weekly.value.window, weekly.value.retry_after) == ("weekly", 180_000)
    assert weekly.value.resets_at is not None
    assert attempts == (1, 1)  # not retried by default
    assert after_session["session"].percent_remaining == 0.0  # read from the 429's headers


async def test_a_window_limit_is_retried_only_when_max_retry_after_allows() -> None:
    retry = RetryPolicy(max_retry_after=60)
    with anyio.fail_after(15):
        async with ide_client(retry=retry) as (emu, client):
            emu.state.set_policy("octo", CLAUDE, enabled=True)
            emu.script("messages", Fault.session_rate_limited(0))
            message = await client.messages.create(model=CLAUDE, messages=user("x"), max_tokens=9)
            emu.script("responses", Fault.weekly_rate_limited(0))
            async with client.responses.stream(model="gpt-5-codex", input="y") as stream:
                response = await stream.final()
            emu.script("responses", Fault.weekly_rate_limited(180_000))
            with pytest.raises(RateLimitError) as too_long:
                await client.responses.create(model="gpt-5-codex", input="z")
            statuses = {
                route: [r.status for r in emu.stats.requests_to(route)]
                for route in ("messages", "responses")
            }
    assert message.text == reply_for("x")
    assert response.output_text == reply_for("y")
    assert too_long.value.retry_after == 180_000
    assert statuses == {"messages": [429, 200], "responses": [429, 200, 429]}


# -- stream timing ------------------------------------------------------------------------------
async def test_stream_timing_is_present_and_sane() -> None:
    pacing = 0.01
    with anyio.fail_after(30):
        async with ide_client(EmulatorConfig(pacing=pacing)) as (emu, client):
            emu.state.set_policy("octo", CLAUDE, enabled=True)
            streams: dict[str, Any] = {
                "chat": client.chat.completions.stream(model="gpt-4.1", messages=user("t")),
                "responses": client.responses.stream(model="gpt-5-codex", input="t"),
                "messages": client.messages.stream(model=CLAUDE, messages=user("t"), max_tokens=9),
            }
            before = streams["chat"].timing
            timings = {}
            for name, stream in streams.items():
                started = anyio.current_time()
                async with stream:
                    await stream.final()
                elapsed = anyio.current_time() - started
                timings[name] = (stream.timing, elapsed)
    assert (before.time_to_first_token, before.inter_token_p50, before.inter_token_p95) == (
        None,
        None,
        None,
    )
    for name, (timing, elapsed) in timings.items():
        ttft, p50, p95 = timing.time_to_first_token, timing.inter_token_p50, timing.inter_token_p95
        assert ttft is not None, name
        assert p50 is not None, name
        assert p95 is not None, name
        assert 0 < ttft < elapsed, name
        assert pacing * 0.5 <= p50 <= p95 < elapsed, name
