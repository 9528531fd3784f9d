"""Every IDE-flavour failure the emulator can stage, as the client's typed errors; and the token
exchange under load (single flight while Copilot tokens expire every two seconds)."""

from __future__ import annotations

import json
import random
import time

import anyio
import pytest

from copilot_anyio import (
    AuthenticationError,
    ClientVersionUnsupportedError,
    ContextLengthExceededError,
    CopilotAccessDeniedError,
    GitHubTokenRejectedError,
    IdeVersions,
    Limits,
    ModelNotSupportedError,
    PermissionDeniedError,
    PolicyDeniedError,
    QuotaExceededError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TokenNotUsableForCopilotError,
    UnsupportedAPIForModelError,
    WrongHostError,
)
from copilot_anyio.emulator import EmulatorConfig, Fault, default_models, reply_for

from ._ide_support import ide_client, user

pytestmark = pytest.mark.anyio

#: Retries without waiting long.
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_cap=0.02)


def _error_body(message: str, code: str | None = None) -> str:
    error: dict[str, str] = {"message": message}
    if code is not None:
        error["code"] = code
    return json.dumps({"error": error}) + "\n"


# -- 400 ---------------------------------------------------------------------------------------
async def test_a_model_the_account_may_not_use_is_model_not_supported() -> None:
    # claude-sonnet-4.5 is listed (it serves /chat/completions) but gated by a policy the
    # account has not accepted: the server answers 400 model_not_supported.
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            with pytest.raises(ModelNotSupportedError) as info:
                await client.chat.completions.create(model="claude-sonnet-4.5", messages=user("x"))
            sent = len(emu.stats.requests_to("chat.completions"))
    assert info.value.status_code == 400
    assert info.value.code == "model_not_supported"
    assert "not supported" in str(info.value)
    assert sent == 1  # a 400 is never retried


async def test_a_stale_model_list_meets_unsupported_api_for_model() -> None:
    # The client's kept list says gpt-4.1 serves /chat/completions; the server no longer does.
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            await client.models.list()
            models = default_models()
            models[0]["supported_endpoints"] = ["/responses"]
            emu.config.models = models
            with pytest.raises(UnsupportedAPIForModelError) as info:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
    assert info.value.code == "unsupported_api_for_model"
    assert "/chat/completions" in str(info.value)


async def test_a_prompt_over_the_limit_is_context_length_exceeded() -> None:
    body = _error_body(
        "prompt token count of 140123 exceeds the limit of 128000",
        "model_max_prompt_tokens_exceeded",
    )
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.status(400, body=body))
            with pytest.raises(ContextLengthExceededError) as info:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("x" * 1000)
                ) as stream:
                    await stream.final()
    assert info.value.status_code == 400
    assert "exceeds the limit" in str(info.value)


# -- 401 and 421: drop the token, exchange again, send once more -------------------------------
async def test_one_401_is_answered_by_one_new_exchange() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            await client.models.list()
            emu.script("chat.completions", Fault.token_expired())
            created = await client.chat.completions.create(model="gpt-4.1", messages=user("a"))
            emu.expire_tokens()  # the server's own expiry, not a scripted one
            async with client.chat.completions.stream(model="gpt-4.1", messages=user("b")) as s:
                streamed = await s.final()
            statuses = [r.status for r in emu.stats.requests_to("chat.completions")]
            exchanges = emu.stats.copilot_tokens_issued
            client_exchanges = client.statistics().copilot_token_exchanges
    assert created.choices[0].message.content == reply_for("a")
    assert streamed.choices[0].message.content == reply_for("b")
    assert statuses == [401, 200, 401, 200]
    assert exchanges == 3
    assert client_exchanges == 3


async def test_a_second_401_in_a_row_is_an_authentication_error() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.token_expired(), times=2)
            with pytest.raises(AuthenticationError) as info:
                await client.chat.completions.create(model="gpt-4.1", messages=user("a"))
            attempts = len(emu.stats.requests_to("chat.completions"))
            exchanges = emu.stats.copilot_tokens_issued
            # The next request starts afresh.
            after = await client.chat.completions.create(model="gpt-4.1", messages=user("b"))
    assert info.value.status_code == 401
    assert "token expired" in str(info.value)
    assert attempts == 2
    assert exchanges == 2
    assert after.choices[0].message.content == reply_for("b")


async def test_a_misdirected_request_exchanges_again_and_is_sent_once_more() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.misdirected())
            created = await client.chat.completions.create(model="gpt-4.1", messages=user("a"))
            emu.script("chat.completions", Fault.misdirected())
            async with client.chat.completions.stream(model="gpt-4.1", messages=user("b")) as s:
                streamed = await s.final()
            statuses = [r.status for r in emu.stats.requests_to("chat.completions")]
            exchanges = emu.stats.copilot_tokens_issued
            emu.script("chat.completions", Fault.misdirected(), times=2)
            with pytest.raises(WrongHostError) as info:
                await client.chat.completions.create(model="gpt-4.1", messages=user("c"))
    assert created.choices[0].message.content == reply_for("a")
    assert streamed.choices[0].message.content == reply_for("b")
    assert statuses == [421, 200, 421, 200]
    assert exchanges == 3
    assert info.value.status_code == 421


# -- 402, 403 ----------------------------------------------------------------------------------
async def test_quota_exceeded_says_when_it_resets() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.quota_exceeded("3600"))
            before = time.time()
            with pytest.raises(QuotaExceededError) as seconds:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            emu.script("chat.completions", Fault.quota_exceeded("Wed, 01 Jan 2200 00:00:00 GMT"))
            with pytest.raises(QuotaExceededError) as date:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("x")
                ) as stream:
                    await stream.final()
            attempts = len(emu.stats.requests_to("chat.completions"))
    assert seconds.value.status_code == 402
    assert seconds.value.code == "quota_exceeded"
    assert seconds.value.retry_after == 3600
    assert seconds.value.resets_at is not None
    assert before + 3600 <= seconds.value.resets_at <= time.time() + 3600
    assert date.value.resets_at == pytest.approx(7258118400, abs=1)
    assert attempts == 2  # never retried


async def test_a_policy_refusal_carries_the_servers_message() -> None:
    said = (
        "You are not authorized to use this Copilot feature, it requires an enterprise or "
        "organization policy to be enabled."
    )
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.status(403, body=_error_body(said)))
            with pytest.raises(PolicyDeniedError) as info:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            emu.script("chat.completions", Fault.status(403, body=_error_body("forbidden")))
            with pytest.raises(PermissionDeniedError) as plain:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            attempts = len(emu.stats.requests_to("chat.completions"))
    assert info.value.message == said
    assert said in str(info.value)
    assert not isinstance(plain.value, PolicyDeniedError)
    assert attempts == 2


# -- 429 ---------------------------------------------------------------------------------------
async def test_short_window_rate_limits_name_their_window_and_are_not_retried() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("chat.completions", Fault.session_rate_limited(2733, plan="pro"))
            with pytest.raises(RateLimitError) as session:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            emu.script("chat.completions", Fault.weekly_rate_limited(180_000))
            with pytest.raises(RateLimitError) as weekly:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("x")
                ) as stream:
                    await stream.final()
            emu.script("chat.completions", Fault.rate_limited("1"))
            with pytest.raises(RateLimitError) as plain:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            attempts = len(emu.stats.requests_to("chat.completions"))
    assert session.value.window == "session"
    assert session.value.code == "user_global_rate_limited:pro"
    assert session.value.retry_after == 2733
    assert weekly.value.window == "weekly"
    assert weekly.value.retry_after == 180_000
    assert plain.value.window is None
    assert plain.value.retry_after == 1
    assert attempts == 3  # none retried by default


async def test_a_short_rate_limit_is_retried_when_the_policy_allows() -> None:
    retry = RetryPolicy(max_retries=2, max_retry_after=1.0)
    with anyio.fail_after(15):
        async with ide_client(retry=retry) as (emu, client):
            emu.script("chat.completions", Fault.rate_limited("0.05"))
            created = await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            emu.script("chat.completions", Fault.rate_limited("30"))
            with pytest.raises(RateLimitError):
                await client.chat.completions.create(model="gpt-4.1", messages=user("y"))
            statuses = [r.status for r in emu.stats.requests_to("chat.completions")]
    assert created.choices[0].message.content == reply_for("x")
    assert statuses == [429, 200, 429]


# -- 466 ---------------------------------------------------------------------------------------
async def test_a_retired_api_version_names_the_pins_sent() -> None:
    versions = IdeVersions(api_version="2025-01-01")
    config = EmulatorConfig(sunset_api_versions=frozenset({"2025-01-01"}))
    with anyio.fail_after(15):
        async with ide_client(config, versions=versions) as (emu, client):
            with pytest.raises(ClientVersionUnsupportedError) as listing:
                await client.models.list()
            emu.config.sunset_api_versions = frozenset()
            await client.models.list()
            emu.script("chat.completions", Fault.api_version_unsupported())
            with pytest.raises(ClientVersionUnsupportedError) as chat:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            attempts = len(emu.stats.requests_to("chat.completions"))
    for error in (listing.value, chat.value):
        assert error.status_code == 466
        assert error.pins["x-github-api-version"] == "2025-01-01"
        assert error.pins["editor-version"] == versions.editor_version
        assert "2025-01-01" in str(error)
        assert "api_version" in str(error)
    assert attempts == 1


# -- 5xx ---------------------------------------------------------------------------------------
async def test_server_errors_are_retried_per_the_policy() -> None:
    with anyio.fail_after(15):
        async with ide_client(retry=FAST_RETRY) as (emu, client):
            emu.script("chat.completions", Fault.server_error(500))
            emu.script("chat.completions", Fault.server_error(502))
            created = await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            emu.script("chat.completions", Fault.server_error(504))
            async with client.chat.completions.stream(model="gpt-4.1", messages=user("y")) as s:
                streamed = await s.final()
            emu.script("chat.completions", Fault.server_error(500), times=3)
            with pytest.raises(ServerError) as exhausted:
                await client.chat.completions.create(model="gpt-4.1", messages=user("z"))
            emu.script("chat.completions", Fault.unavailable())
            with pytest.raises(ServerError) as unavailable:
                await client.chat.completions.create(model="gpt-4.1", messages=user("w"))
            statuses = [r.status for r in emu.stats.requests_to("chat.completions")]
    assert created.choices[0].message.content == reply_for("x")
    assert streamed.choices[0].message.content == reply_for("y")
    assert exhausted.value.status_code == 500
    assert unavailable.value.status_code == 503
    assert statuses == [500, 502, 200, 504, 200, 500, 500, 500, 503]


async def test_no_retries_when_the_policy_says_none() -> None:
    with anyio.fail_after(15):
        async with ide_client(retry=RetryPolicy(max_retries=0)) as (emu, client):
            emu.script("chat.completions", Fault.server_error(502))
            with pytest.raises(ServerError):
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            attempts = len(emu.stats.requests_to("chat.completions"))
    assert attempts == 1


# -- the token exchange ------------------------------------------------------------------------
async def test_a_github_token_the_server_does_not_know_is_rejected() -> None:
    token = "ghu_" + "N" * 36
    config = EmulatorConfig(accounts={"ghu_" + "K" * 36: "known"})
    with anyio.fail_after(15):
        async with ide_client(config, github_token=token) as (emu, client):
            with pytest.raises(GitHubTokenRejectedError) as info:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
            with pytest.raises(GitHubTokenRejectedError):
                await client.models.list()
            sent = len(emu.stats.requests_to("chat.completions"))
    assert info.value.status_code == 401
    assert "github_token=" in str(info.value)  # where the token came from
    assert token not in str(info.value)
    assert token not in repr(info.value)
    assert sent == 0


async def test_a_token_of_a_kind_the_exchange_refuses_is_not_usable() -> None:
    pat = "ghp_" + "P" * 36
    with anyio.fail_after(15):
        async with ide_client(github_token=pat) as (emu, client):
            with pytest.raises(TokenNotUsableForCopilotError) as classic:
                await client.chat.completions.create(model="gpt-4.1", messages=user("x"))
        oauth = "gho_" + "O" * 36
        async with ide_client(github_token=oauth) as (emu, client):
            emu.script("copilot.token", Fault.not_a_copilot_token())
            with pytest.raises(TokenNotUsableForCopilotError) as gh_cli:
                await client.models.list()
    assert classic.value.status_code == 403
    assert classic.value.token_kind == "a classic personal access token"
    assert gh_cli.value.status_code == 404
    assert gh_cli.value.token_kind is not None
    assert "OAuth app token" in gh_cli.value.token_kind
    assert gh_cli.value.token_source == "github_token="
    for error, token in ((classic.value, pat), (gh_cli.value, oauth)):
        assert token not in str(error)
        assert token not in repr(error)


async def test_an_account_without_copilot_is_told_why() -> None:
    with anyio.fail_after(15):
        async with ide_client() as (emu, client):
            emu.script("copilot.token", Fault.forbidden("not_signed_up"))
            with pytest.raises(CopilotAccessDeniedError) as info:
                async with client.chat.completions.stream(
                    model="gpt-4.1", messages=user("x")
                ) as stream:
                    await stream.final()
    assert info.value.status_code == 403
    assert info.value.notification_id == "not_signed_up"
    assert info.value.url == "https://github.com/github-copilot/signup?editor={EDITOR}"
    assert info.value.can_signup_for_limited is True
    assert "No access to GitHub Copilot found" in str(info.value)


async def test_a_retry_after_401_never_reuses_a_token_past_its_expiry() -> None:
    """Tokens live 2 s. A request held by the server for 5 s is refused with the first token;
    meanwhile another request replaced that token at 2.5 s, and the replacement has expired by
    the time the first one retries. The retry should exchange again, not send it."""
    config = EmulatorConfig(copilot_token_ttl=2, copilot_token_valid_for=2.0)
    with anyio.fail_after(20):
        async with ide_client(config) as (emu, client):
            await client.models.list()  # the first token, from t = 0
            emu.script("chat.completions", Fault.delay(5.0))
            outcome: dict[str, str] = {}
            errors: list[Exception] = []

            async def held() -> None:
                try:
                    completion = await client.chat.completions.create(
                        model="gpt-4.1", messages=user("held")
                    )
                except AuthenticationError as exc:
                    errors.append(exc)
                else:
                    outcome["held"] = completion.choices[0].message.content or ""

            async with anyio.create_task_group() as tg:
                tg.start_soon(held)
                await anyio.sleep(2.5)
                other = await client.chat.completions.create(model="gpt-4.1", messages=user("o"))
                outcome["other"] = other.choices[0].message.content or ""
            if errors:
                raise errors[0]
    assert outcome == {"held": reply_for("held"), "other": reply_for("o")}


# -- 6. load -----------------------------------------------------------------------------------
@pytest.mark.slow
async def test_200_concurrent_streams_while_copilot_tokens_live_two_seconds() -> None:
    """Two waves of 200 concurrent streams, the second after the first wave's token expired:
    no request fails, no more than one exchange is ever in flight (checked on both sides), and
    every answer is right."""
    config = EmulatorConfig(
        copilot_token_ttl=2,
        copilot_token_valid_for=2.0,
        copilot_refresh_in=1,
        token_delay=0.05,  # an exchange takes a while: time for others to pile up behind it
        chunk_size=512,  # a few writes per stream (each one paced), so the streams overlap
        pacing=0.02,
    )
    failures: list[BaseException] = []
    answered = 0
    with anyio.fail_after(60):
        async with ide_client(config, limits=Limits(max_concurrent_requests=200)) as (
            emu,
            client,
        ):
            start = anyio.current_time()

            async def converse(i: int) -> None:
                nonlocal answered
                for wave in (1, 2):
                    prompt = f"stream {i} wave {wave}"
                    try:
                        async with client.chat.completions.stream(
                            model="gpt-4.1", messages=user(prompt)
                        ) as stream:
                            final = await stream.final()
                        assert final.choices[0].message.content == reply_for(prompt)
                        answered += 1
                    except Exception as exc:  # collected, so one failure does not hide the rest
                        failures.append(exc)
                    # The second wave starts once the first wave's token has expired.
                    await anyio.sleep_until(start + 2.2 + random.uniform(0, 0.2))

            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(converse, i)
            stats = client.statistics()
            issued = emu.stats.copilot_tokens_issued
            max_in_flight = emu.stats.max_token_requests_in_flight
            refused = emu.stats.requests[("chat.completions", 401)]
    assert failures == []
    assert answered == 400
    assert stats.max_copilot_token_exchanges_in_flight == 1
    assert max_in_flight <= 1
    assert stats.copilot_token_exchanges >= 2
    assert issued == stats.copilot_token_exchanges
    # A refusal (a request that waited in a busy loop past its token's life) is absorbed by a
    # re-exchange, which several refusals at once share (single flight): refusals may outnumber
    # exchanges under load, but stay exceptional. Were neither the background refresh nor the
    # lease's lifetime keeping tokens fresh, the whole second wave (200 requests) would be.
    assert refused < 50
