"""The emulator's web "threads" flavour, over real sockets (protocol.md §2)."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx
import pytest

from copilot_anyio.emulator import (
    Emulator,
    EmulatorConfig,
    reply_deltas,
    reply_for,
    serve_emulator,
)

from ._sse_lines import data_lines

pytestmark = pytest.mark.anyio

COOKIE = {"Cookie": "user_session=fake-session-value; logged_in=yes"}


def events(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(d) for d in data_lines(raw)]


async def web_token(client: httpx.AsyncClient, cookie: str = COOKIE["Cookie"]) -> str:
    response = await client.post("/github-copilot/chat/token", headers={"Cookie": cookie})
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    assert isinstance(token, str)
    return token


async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"GitHub-Bearer {await web_token(client)}"}


async def new_thread(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    response = await client.post("/github/chat/threads", headers=headers, json={})
    assert response.status_code == 201, response.text
    thread_id = response.json()["thread_id"]
    assert isinstance(thread_id, str)
    return thread_id


def message_body(content: str, parent: str = "root", *, streaming: bool = True) -> dict[str, Any]:
    return {
        "content": content,
        "intent": "conversation",
        "references": [],
        "context": [],
        "streaming": streaming,
        "model": "gpt-4.1",
        "mode": "immersive",
        "parentMessageID": parent,
        "responseMessageID": "00000000-0000-4000-8000-000000000000",
    }


async def post_message(
    client: httpx.AsyncClient, headers: dict[str, str], thread_id: str, body: dict[str, Any]
) -> httpx.Response:
    response = await client.post(
        f"/github/chat/threads/{thread_id}/messages", headers=headers, json=body
    )
    return response


async def test_chat_token_requires_user_session() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            missing = await client.post("/github-copilot/chat/token")
            empty = await client.post(
                "/github-copilot/chat/token", headers={"Cookie": "user_session="}
            )
            token = await web_token(client)
    assert missing.status_code == 401
    assert empty.status_code == 401
    assert len(token) == 108
    assert token.endswith("=")
    assert emu.stats.web_tokens_issued == 1
    assert emu.stats.requests[("web.token", 401)] == 2


@pytest.mark.parametrize("status", [403, 404, 302])
async def test_chat_token_failure_status_is_configurable(status: int) -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(web_session_failure_status=status)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            response = await client.post("/github-copilot/chat/token")
    assert response.status_code == status
    if status == 302:
        assert response.headers["location"].startswith("/login")
        assert "text/html" in response.headers["content-type"]


async def test_strict_web_headers() -> None:
    strict = {
        "GitHub-Verified-Fetch": "true",
        "X-Requested-With": "XMLHttpRequest",
        "Origin": "https://github.com",
    }
    with anyio.fail_after(10):
        config = EmulatorConfig(strict_web_headers=True)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            bare = await client.post("/github-copilot/chat/token", headers=COOKIE)
            full = await client.post("/github-copilot/chat/token", headers={**COOKIE, **strict})
    assert bare.status_code == 403
    assert full.status_code == 200
    assert "token" in full.json()


async def test_web_token_expiry_field() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(web_token_expiry_field="expiration", web_token_ttl=60)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            body = (await client.post("/github-copilot/chat/token", headers=COOKIE)).json()
    assert set(body) == {"token", "expiration"}
    assert body["expiration"].startswith(time.strftime("%Y", time.gmtime()))


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        ("text/plain;charset=UTF-8", b'{"custom_copilot_id": null}'),
        ("text/event-stream", b"{}"),
        (None, b""),
        ("application/json", b"null"),
    ],
)
async def test_thread_create_accepts_browser_content_types(
    content_type: str | None, body: bytes
) -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            if content_type is not None:
                headers["Content-Type"] = content_type
            response = await client.post("/github/chat/threads", headers=headers, content=body)
            threads = emu.threads()
    assert response.status_code == 201
    reply = response.json()
    assert reply["thread_id"] == reply["thread"]["id"] == threads[0].id
    assert set(reply["thread"]) >= {"id", "name", "createdAt", "updatedAt", "sharedAt"}


async def test_thread_create_rejects_other_content_types_and_bad_json() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            xml = await client.post(
                "/github/chat/threads",
                headers={**headers, "Content-Type": "application/xml"},
                content=b"<a/>",
            )
            broken = await client.post(
                "/github/chat/threads",
                headers={**headers, "Content-Type": "application/json"},
                content=b"{",
            )
    assert xml.status_code == 415
    assert broken.status_code == 400


async def test_thread_create_status_200_option() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(thread_create_status=200)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            response = await client.post("/github/chat/threads", headers=await auth(client))
    assert response.status_code == 200


async def test_streamed_message_is_reply_for_prompt() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            async with client.stream(
                "POST",
                f"/github/chat/threads/{thread_id}/messages",
                headers={**headers, "Content-Type": "text/event-stream"},
                json=message_body("Explain SSE in one sentence."),
            ) as response:
                raw = await response.aread()
                response_headers = response.headers
    assert response.status_code == 200
    assert response_headers["content-type"].startswith("text/event-stream")
    assert response_headers["access-control-allow-origin"] == "https://github.com"
    assert b"event:" not in raw
    assert b"[DONE]" not in raw
    evs = events(raw)
    contents = [e["body"] for e in evs if e["type"] == "content"]
    assert contents == reply_deltas("Explain SSE in one sentence.")
    assert "".join(contents) == reply_for("Explain SSE in one sentence.")
    complete = evs[-1]
    assert complete["type"] == "complete"
    assert complete["role"] == "assistant"
    assert complete["model"] == "gpt-4.1"
    assert complete["id"] != "00000000-0000-4000-8000-000000000000"
    assert complete["createdAt"].endswith("Z")
    assert len(complete["createdAt"].split(".")[1]) == 10
    assert emu.stats.streams_completed == 1
    assert emu.stats.streams_open == 0


async def test_threading_by_parent_message_id() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            first = events(
                (await post_message(client, headers, thread_id, message_body("hi"))).content
            )
            first_id = first[-1]["id"]
            second = events(
                (
                    await post_message(client, headers, thread_id, message_body("hi", first_id))
                ).content
            )
            third = events(
                (
                    await post_message(
                        client, headers, thread_id, message_body("hi", second[-1]["id"])
                    )
                ).content
            )
            unknown = await post_message(client, headers, thread_id, message_body("hi", "nope"))
            recorded = [
                r.json()["parentMessageID"] for r in emu.stats.requests_to("web.messages.create")
            ]
            parents = emu.stats.parent_message_ids
            stored = emu.threads()[0].messages

    def text(evs: list[dict[str, Any]]) -> str:
        return "".join(e["body"] for e in evs if e["type"] == "content")

    assert text(first) == reply_for("hi", turn=1)
    assert text(second) == reply_for("hi", turn=2)
    assert text(third) == reply_for("hi", turn=3)
    assert len({text(first), text(second), text(third)}) == 3
    assert unknown.status_code == 400
    assert recorded == ["root", first_id, second[-1]["id"], "nope"]
    assert parents == recorded
    assert [m.turn for m in stored] == [1, 1, 2, 2, 3, 3]
    assert [m.role for m in stored[:2]] == ["user", "assistant"]
    # The reply's parent is the turn's user message.
    assert first[-1]["parentMessageID"] == stored[0].id


async def test_empty_parent_starts_a_chain() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            body = message_body("x", "")
            evs = events((await post_message(client, headers, thread_id, body)).content)
            del body["parentMessageID"]
            evs2 = events((await post_message(client, headers, thread_id, body)).content)
    assert "".join(e["body"] for e in evs if e["type"] == "content") == reply_for("x", turn=1)
    assert "".join(e["body"] for e in evs2 if e["type"] == "content") == reply_for("x", turn=1)


async def test_non_streaming_reply_is_json() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            minimal = {"content": "hello", "intent": "conversation", "references": []}
            response = await post_message(client, headers, thread_id, minimal)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["message"]
    assert message["content"] == reply_for("hello")
    assert message["role"] == "assistant"
    assert message["threadID"] == thread_id


async def test_sse_when_not_streaming_switch() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(web_sse_when_not_streaming=True)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            response = await post_message(
                client, headers, thread_id, message_body("q", streaming=False)
            )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events(response.content)[-1]["type"] == "complete"


async def test_auto_model_reports_routing_and_empty_complete_model_switch() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(web_empty_complete_model=True)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            body = {**message_body("q"), "model": "auto"}
            evs = events((await post_message(client, headers, thread_id, body)).content)
    assert [e["type"] for e in evs[:2]] == ["threadAutoPickedModel", "routedModel"]
    assert evs[1]["model"] == "gpt-4.1"
    assert evs[-1]["model"] == ""
    assert evs[-1]["turnId"] == ""


async def test_message_validation() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            no_content = await post_message(client, headers, thread_id, {"intent": "conversation"})
            unknown_thread = await post_message(client, headers, "missing", message_body("x"))
    assert no_content.status_code == 400
    assert unknown_thread.status_code == 404


async def test_list_messages_and_delete() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            first = await new_thread(client, headers)
            second = await new_thread(client, headers)
            await post_message(client, headers, first, message_body("name me", streaming=False))
            listed = (
                await client.get("/github/chat/threads", params={"per_page": 30}, headers=headers)
            ).json()
            messages = (
                await client.get(f"/github/chat/threads/{first}/messages", headers=headers)
            ).json()
            deleted = await client.delete(f"/github/chat/threads/{first}", headers=headers)
            again = await client.delete(f"/github/chat/threads/{first}", headers=headers)
            after = (await client.get("/github/chat/threads", headers=headers)).json()
    assert [t["id"] for t in listed["threads"]] == [second, first]
    assert messages["thread"]["id"] == first
    assert messages["thread"]["name"] == "name me"
    assert [m["role"] for m in messages["messages"]] == ["user", "assistant"]
    assert messages["messages"][1]["content"] == reply_for("name me")
    assert deleted.status_code == 204
    assert again.status_code == 404
    assert [t["id"] for t in after["threads"]] == [second]


async def test_threads_are_per_account() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            alice = {
                "Authorization": f"GitHub-Bearer {await web_token(client, 'user_session=alice')}"
            }
            bob = {"Authorization": f"GitHub-Bearer {await web_token(client, 'user_session=bob')}"}
            thread_id = await new_thread(client, alice)
            await post_message(client, alice, thread_id, message_body("a", streaming=False))
            await post_message(client, alice, thread_id, message_body("b", streaming=False))
            bob_view = await client.get(f"/github/chat/threads/{thread_id}/messages", headers=bob)
            bob_list = (await client.get("/github/chat/threads", headers=bob)).json()
    accounts = {t.account for t in emu.threads()}
    assert len(accounts) == 1
    assert len(emu.accounts_seen()) == 2
    assert accounts < emu.accounts_seen()
    (alice_login,) = accounts
    assert emu.stats.usage == {alice_login: 2}
    assert bob_view.status_code == 404
    assert bob_list == {"threads": []}


async def test_accounts_config_limits_sessions() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(accounts={"good-session": "octocat"})
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            bad = await client.post(
                "/github-copilot/chat/token", headers={"Cookie": "user_session=other"}
            )
            await web_token(client, "user_session=good-session")
    assert bad.status_code == 401
    assert emu.stats.last_request("web.token").account == "octocat"


async def test_github_bearer_required_and_expiry() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            missing = await client.get("/github/chat/threads")
            wrong_scheme = await client.get(
                "/github/chat/threads",
                headers={
                    "Authorization": headers["Authorization"].replace("GitHub-Bearer", "token")
                },
            )
            ok = await client.get("/github/chat/threads", headers=headers)
            emu.expire_tokens()
            expired = await client.get("/github/chat/threads", headers=headers)
            fresh = await client.get("/github/chat/threads", headers=await auth(client))
    assert missing.status_code == 401
    assert wrong_scheme.status_code == 401
    assert ok.status_code == 200
    assert expired.status_code == 401
    assert expired.text == "unauthorized: token expired\n"
    assert expired.headers["content-type"].startswith("text/plain")
    assert fresh.status_code == 200


async def test_web_token_ttl() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(web_token_ttl=0.2)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            ok = await client.get("/github/chat/threads", headers=headers)
            await anyio.sleep(0.3)
            late = await client.get("/github/chat/threads", headers=headers)
    assert ok.status_code == 200
    assert late.status_code == 401


async def test_thread_api_accepts_copilot_token() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            user_token = emu.issue_user_token()
            envelope = (
                await client.get(
                    "/copilot_internal/v2/token", headers={"Authorization": f"token {user_token}"}
                )
            ).json()
            headers = {"Authorization": f"Bearer {envelope['token']}"}
            thread_id = await new_thread(client, headers)
            emu.config.threads_accept_copilot_token = False
            refused = await client.get("/github/chat/threads", headers=headers)
    assert thread_id
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("separator", "joiner"),
    [("\n", b"\ndata: "), ("\n\n", b"\n\ndata: "), ("\r\n", b"\r\n\r\ndata: ")],
)
async def test_line_separators(separator: str, joiner: bytes) -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(line_separator=separator)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            raw = (await post_message(client, headers, thread_id, message_body("sep"))).content
    n_events = len(reply_deltas("sep")) + 1
    assert raw.startswith(b"data: ")
    assert raw.count(joiner) == n_events - 1
    if separator == "\n":
        assert b"\n\n" not in raw
    if separator != "\r\n":
        assert b"\r" not in raw
    assert "".join(e.get("body", "") for e in events(raw)) == reply_for("sep")


async def test_chunk_size_and_pacing() -> None:
    with anyio.fail_after(20):
        config = EmulatorConfig(chunk_size=1)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            emu.stats.reset()
            raw = (await post_message(client, headers, thread_id, message_body("bytes"))).content
            sent = emu.stats.bytes_sent
            emu.config.chunk_size = None
            emu.config.pacing = 0.01
            started = anyio.current_time()
            paced = (await post_message(client, headers, thread_id, message_body("bytes"))).content
            elapsed = anyio.current_time() - started
    # Multi-byte characters were cut across writes and still arrive intact.
    assert "".join(e.get("body", "") for e in events(raw)) == reply_for("bytes")
    assert sent == len(raw)
    n_writes = len(reply_deltas("bytes")) + 1
    assert elapsed >= 0.01 * (n_writes - 1)
    assert "".join(e.get("body", "") for e in events(paced)) == reply_for("bytes")


async def test_cookie_leaks_are_counted() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            assert emu.stats.cookie_leaks == 0
            await client.get("/github/chat/threads", headers={**headers, **COOKIE})
            await client.get("/github/chat/threads", headers={**headers, "Cookie": "theme=dark"})
    assert emu.stats.cookie_leaks == 1


async def test_stats_reset_and_request_log() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            emu.stats.reset()
            listed = await client.get("/github/chat/threads", headers={**headers, "X-Probe": "1"})
            sent = emu.stats.bytes_sent
            last = emu.stats.last_request("web.threads.list")
            header_map = emu.stats.last_request_headers["web.threads.list"]
            emu.stats.reset()
            after = dict(emu.stats.requests)
            with pytest.raises(LookupError):
                emu.stats.last_request("web.threads.list")
    assert last.headers["x-probe"] == "1"
    assert header_map["x-probe"] == "1"
    assert last.status == 200
    assert last.method == "GET"
    assert after == {}
    assert sent == len(listed.content)
    assert emu.stats.web_tokens_issued == 0


async def test_extra_web_events_come_before_content() -> None:
    extras: list[dict[str, Any]] = [
        {"type": "bing-search", "name": "bing-search", "status": "started"},
        {"type": "annotations", "annotations": []},
        {"type": "somethingNew", "x": 1},
    ]
    with anyio.fail_after(10):
        config = EmulatorConfig(web_extra_events=extras)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await auth(client)
            thread_id = await new_thread(client, headers)
            evs = events(
                (await post_message(client, headers, thread_id, message_body("e"))).content
            )
    assert evs[:3] == extras
    assert "".join(e.get("body", "") for e in evs[3:]) == reply_for("e")


async def test_one_emulator_served_twice_keeps_its_state() -> None:
    emu = Emulator(EmulatorConfig(thread_create_status=200))
    with anyio.fail_after(10):
        async with (
            serve_emulator(emulator=emu) as served,
            httpx.AsyncClient(base_url=served.base_url) as client,
        ):
            assert served is emu
            headers = await auth(client)
            await client.post("/github/chat/threads", headers=headers)
            first_url = emu.base_url
        assert emu.base_url == ""
        async with (
            serve_emulator(emulator=emu) as served,
            httpx.AsyncClient(base_url=served.base_url) as client,
        ):
            listed = (await client.get("/github/chat/threads", headers=headers)).json()
    assert first_url.startswith("http://127.0.0.1:")
    assert len(listed["threads"]) == 1
    assert emu.stats.requests[("web.threads.create", 200)] == 1


async def test_models_with_a_web_token() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await auth(client)
            listed = await client.get("/models", headers=headers)
            emu.expire_tokens()
            expired = await client.get("/models", headers=headers)
    assert listed.status_code == 200
    assert "gpt-4.1" in [m.get("id") for m in listed.json()["data"]]
    assert expired.status_code == 401


async def test_errors_in_the_block_propagate_bare() -> None:
    with anyio.fail_after(10):
        with pytest.raises(KeyError) as info:
            await _raise_inside_served_block()
    assert info.value.args == ("mine",)
    assert not isinstance(info.value.__context__, BaseExceptionGroup)


async def _raise_inside_served_block() -> None:
    async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
        assert (await client.get("/_ping")).status_code == 200
        raise KeyError("mine")


async def test_cancelling_the_block_shuts_down_cleanly() -> None:
    with anyio.fail_after(10):
        with anyio.move_on_after(0.3) as scope:
            async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
                assert (await client.get("/_ping")).status_code == 200
                await anyio.sleep_forever()
        started = anyio.current_time()
        # Nothing lingers: a new emulator starts and answers at once.
        async with serve_emulator() as again, httpx.AsyncClient(base_url=again.base_url) as client:
            assert (await client.get("/_ping")).status_code == 200
    assert scope.cancelled_caught
    assert emu.base_url == ""
    assert anyio.current_time() - started < 3
