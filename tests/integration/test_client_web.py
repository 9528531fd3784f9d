"""CopilotClient against the emulator over real sockets: conversations, threading, errors."""

from __future__ import annotations

import anyio
import pytest

import copilot_anyio
from copilot_anyio import (
    ChatChunk,
    CopilotClient,
    CredentialsError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    UsageError,
    WebSessionInvalidError,
)
from copilot_anyio.emulator import EmulatorConfig, Fault, reply_deltas, reply_for, serve_emulator

from ._support import ALICE, emulated_client

pytestmark = pytest.mark.anyio


async def test_stream_chat_streams_the_reply_as_deltas() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            async with client.stream_chat("Explain SSE") as stream:
                chunks = [chunk async for chunk in stream]
            result = stream.result
    assert result is not None
    texts = [c.text for c in chunks if c.type == "content"]
    assert texts == reply_deltas("Explain SSE")
    assert result.text == reply_for("Explain SSE")
    assert chunks[-1].type == "complete"
    assert result.message_id == chunks[-1].data["id"]
    assert result.thread_id
    assert (
        emu.stats.count("web.threads.create", 200) + emu.stats.count("web.threads.create", 201) == 1
    )


async def test_follow_up_in_a_thread_sends_parent_message_id_and_keeps_context() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            thread = client.thread()
            async with thread.stream("first question") as stream:
                first = await stream.final()
            assert thread.parent_message_id == first.message_id
            async with thread.stream("second question") as stream:
                second = await stream.final()
            sent = [r.json() for r in emu.stats.requests_to("web.messages.create")]
    assert [s["parentMessageID"] for s in sent] == ["root", first.message_id]
    assert second.thread_id == first.thread_id == thread.id
    assert second.text == reply_for("second question", turn=2)


async def test_non_streaming_send_returns_the_whole_answer() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            thread = await client.new_thread()
            result = await thread.send("hello there")
            again = await thread.send("and again")
            body = emu.stats.last_request("web.messages.create").json()
    assert result.text == reply_for("hello there")
    assert again.text == reply_for("and again", turn=2)
    assert body["streaming"] is False
    assert body["parentMessageID"] == result.message_id


async def test_list_resume_and_delete_threads() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (_emu, client):
            thread = client.thread()
            first = await thread.send("remember me")
            assert thread.id is not None
            listed = await client.list_threads()
            assert thread.id in [t.id for t in listed]
            resumed = await client.resume_thread(thread.id)
            assert resumed.parent_message_id == first.message_id
            async with resumed.stream("what did I say?") as stream:
                follow_up = await stream.final()
            assert follow_up.text == reply_for("what did I say?", turn=2)
            await thread.delete()
            assert thread.id not in [t.id for t in await client.list_threads()]


async def test_cookies_reach_github_only_and_secrets_stay_out_of_reprs() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            async with client.stream_chat("hi") as stream:
                await stream.final()
            token_request = emu.stats.last_request("web.token")
            lease = await client.web_token()
    assert "alice-session" in token_request.headers.get("cookie", "")
    assert emu.stats.cookie_leaks == 0
    assert lease is not None
    for text in (repr(client), repr(lease), repr(stream), repr(client.statistics())):
        assert "alice-session" not in text
        assert lease.value not in text


async def test_a_401_is_recovered_by_one_token_refresh() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            thread = client.thread()
            await thread.send("warm up")
            emu.script("web.messages.create", Fault.token_expired())
            async with thread.stream("after expiry") as stream:
                result = await stream.final()
            fetches = client.statistics().token_fetches
    assert result.text == reply_for("after expiry", turn=2)
    assert fetches == 2
    assert emu.stats.count("web.messages.create", 401) == 1


async def test_expired_tokens_are_replaced_transparently() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            thread = client.thread()
            await thread.send("one")
            emu.expire_tokens()
            result = await thread.send("two")
    assert result.text == reply_for("two", turn=2)
    assert emu.stats.web_tokens_issued == 2


async def test_a_second_401_is_raised_not_looped() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", Fault.token_expired(), times=2)
            with pytest.raises(copilot_anyio.AuthenticationError) as info:
                async with client.stream_chat("doomed"):
                    pass  # pragma: no cover - entering raises
    assert info.value.status_code == 401
    assert emu.stats.count("web.messages.create", 401) == 2


@pytest.mark.parametrize(
    ("fault", "error", "retry_after"),
    [
        (Fault.rate_limited("7"), RateLimitError, 7.0),
        (Fault.rate_limited("Wed, 21 Oct 2015 07:28:00 GMT"), RateLimitError, 0.0),
        (Fault.quota_exceeded(retry_after="3600"), QuotaExceededError, 3600.0),
    ],
)
async def test_rate_limit_and_quota_map_to_typed_errors_with_retry_after(
    fault: Fault, error: type[RateLimitError | QuotaExceededError], retry_after: float
) -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.messages.create", fault)
            with pytest.raises(error) as info:
                async with client.stream_chat("limited"):
                    pass  # pragma: no cover - entering raises
    assert isinstance(info.value, RateLimitError | QuotaExceededError)
    assert info.value.retry_after == retry_after
    assert info.value.status_code in (402, 429)
    assert info.value.code is not None
    # never hammered: exactly one attempt
    assert emu.stats.count("web.messages.create") == 1


async def test_server_errors_are_retried_then_raised() -> None:
    with anyio.fail_after(20):
        async with emulated_client(
            retry=copilot_anyio.RetryPolicy(max_retries=2, backoff_base=0.01)
        ) as (emu, client):
            thread = await client.new_thread()
            emu.script("web.messages.create", Fault.server_error(502))
            async with thread.stream("flaky") as stream:
                recovered = await stream.final()
            emu.script("web.messages.create", Fault.server_error(500), times=3)
            with pytest.raises(ServerError) as info:
                async with thread.stream("down"):
                    pass  # pragma: no cover - entering raises
    assert recovered.text == reply_for("flaky")
    assert info.value.status_code == 500
    assert emu.stats.count("web.messages.create", 500) == 3


async def test_unavailable_without_retry_after_is_a_server_error() -> None:
    with anyio.fail_after(15):
        async with emulated_client(retry=copilot_anyio.RetryPolicy(max_retries=0)) as (emu, client):
            emu.script("web.messages.create", Fault.unavailable())
            with pytest.raises(ServerError) as info:
                await client.chat("busy?")
    assert info.value.status_code == 503


async def test_refused_cookies_raise_web_session_invalid() -> None:
    with anyio.fail_after(15):
        async with emulated_client() as (emu, client):
            emu.script("web.token", Fault.status(401, body="Unauthorized"))
            with pytest.raises(WebSessionInvalidError):
                await client.chat("who am i")


async def test_an_error_inside_the_client_block_arrives_bare() -> None:
    with anyio.fail_after(15):
        with pytest.raises(RateLimitError):
            async with emulated_client() as (emu, client):
                emu.script("web.threads.create", Fault.rate_limited("1"))
                await client.new_thread()


async def test_user_exceptions_are_not_wrapped_in_groups() -> None:
    with anyio.fail_after(15):
        with pytest.raises(KeyError):
            async with emulated_client() as (_emu, client):
                async with client.stream_chat("x") as stream:
                    await stream.final()
                raise KeyError("mine")


async def test_a_client_needs_credentials() -> None:
    # Editor files are only looked for on entry (in a worker thread), so that is where a
    # client with no credential at all is refused, naming where each flavour's would be.
    with pytest.raises(CredentialsError) as missing:
        async with CopilotClient(env={}):
            pass  # pragma: no cover
    for where in ("COPILOT_COOKIES", "COPILOT_GITHUB_TOKEN", "GH_TOKEN", "copilot-anyio login"):
        assert where in str(missing.value)
    with pytest.raises(CredentialsError) as info:
        CopilotClient(cookies={"logged_in": "yes"}, env={})
    assert "yes" not in str(info.value)


async def test_cookies_come_from_a_cookies_txt_file(tmp_path: anyio.Path) -> None:
    path = anyio.Path(tmp_path) / "cookies.txt"
    await path.write_text(
        "# Netscape HTTP Cookie File\n"
        "127.0.0.1\tFALSE\t/\tTRUE\t0\tuser_session\tfrom-file\n"
        ".example.org\tTRUE\t/\tTRUE\t0\tuser_session\tother-site\n"
    )
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            async with CopilotClient(
                cookies_file=str(path), github_url=emu.base_url, api_url=emu.base_url, env={}
            ) as client:
                result = await client.chat("from a file")
            cookie = emu.stats.last_request("web.token").headers["cookie"]
    assert result.text == reply_for("from a file")
    assert cookie == "user_session=from-file"


async def test_environment_variables_choose_hosts_and_cookies() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            env = {
                "COPILOT_GITHUB_URL": emu.base_url,
                "COPILOT_API_URL": emu.base_url + "/",
                "COPILOT_COOKIES": "user_session=env-session; logged_in=yes",
            }
            async with CopilotClient(env=env) as client:
                result = await client.chat("via env")
            assert emu.accounts_seen()
    assert result.text == reply_for("via env")


async def test_using_a_closed_client_is_a_usage_error() -> None:
    client = CopilotClient(cookies=ALICE, env={})
    with pytest.raises(UsageError):
        await client.chat("not opened")
    with pytest.raises(UsageError):
        client.stream_chat("not opened")


async def test_a_given_web_token_is_used_without_cookies() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu:
            async with CopilotClient(
                cookies=ALICE, github_url=emu.base_url, api_url=emu.base_url, env={}
            ) as client:
                lease = await client.web_token()
            assert lease is not None
            async with CopilotClient(
                web_token=lease.value, github_url=emu.base_url, api_url=emu.base_url, env={}
            ) as client:
                result = await client.chat("token only")
                stats = client.statistics()
    assert result.text == reply_for("token only")
    assert stats.token_fetches == 0


async def test_text_deltas_and_chunk_types() -> None:
    with anyio.fail_after(15):
        async with emulated_client(EmulatorConfig(chunk_size=5)) as (_emu, client):
            async with client.stream_chat("tiny writes split UTF-8") as stream:
                text = "".join([t async for t in stream.text_deltas()])
                assert isinstance(stream.result, copilot_anyio.ChatResult)
    assert text == reply_for("tiny writes split UTF-8")
    assert ChatChunk("content", "a") == ChatChunk("content", "a", {"ignored": 1})
