"""What the 2026 IDE flavour adds (protocol.md §10): the 466 sunset, 421 for a wrong host, the
short-window 429s and headers, Responses-only models, the plain 404 for non-Copilot tokens, and
the credential files editors leave. Over real sockets, on both backends."""

from __future__ import annotations

import json
import stat
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
import pytest

from copilot_anyio.emulator import (
    COPILOT_CLIENT_ID,
    Emulator,
    EmulatorConfig,
    Fault,
    reply_for,
    serve_emulator,
    write_editor_credentials,
)

pytestmark = pytest.mark.anyio

FAKE_USER_TOKEN = "ghu_" + "x" * 36
IDE = {"Editor-Version": "vscode/1.137.0", "Copilot-Integration-Id": "vscode-chat"}
SUNSET_MESSAGE = (
    "bad request: the specified API version is no longer supported. You may need to update your "
    "client to a newer version.\n"
)


async def copilot_token(client: httpx.AsyncClient, user_token: str = FAKE_USER_TOKEN) -> str:
    response = await client.get(
        "/copilot_internal/v2/token", headers={"Authorization": f"token {user_token}"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def ide(token: str, **extra: str) -> dict[str, str]:
    return {**IDE, "Authorization": f"Bearer {token}", **extra}


def chat(prompt: str = "hi", model: str = "gpt-4.1", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": prompt}], **extra}


def window(value: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(value, keep_blank_values=True).items()}


def reset_time(value: str) -> float:
    return (
        datetime.strptime(window(value)["rst"], "%Y-%m-%dT%H:%M:%SZ")
        .replace(tzinfo=UTC)
        .timestamp()
    )


# -- 466 ---------------------------------------------------------------------------------------
async def test_scripted_466_has_the_sunset_body_and_keeps_the_token() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = ide(await copilot_token(client))
            emu.script("chat.completions", Fault.api_version_unsupported())
            refused = await client.post("/chat/completions", headers=headers, json=chat())
            after = await client.post("/chat/completions", headers=headers, json=chat())
    assert refused.status_code == 466
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.text.endswith("}}\n")
    assert json.loads(refused.text) == {"error": {"message": SUNSET_MESSAGE, "type": "error"}}
    assert after.status_code == 200


async def test_configured_sunset_pins_get_466_on_every_capi_route() -> None:
    config = EmulatorConfig(
        sunset_api_versions=frozenset({"2025-04-01"}),
        sunset_editor_versions=frozenset({"copilot-chat/0.37.4"}),
    )
    with anyio.fail_after(10):
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            token = await copilot_token(client)
            old_api = ide(token, **{"X-GitHub-Api-Version": "2025-04-01"})
            old_plugin = ide(token, **{"Editor-Plugin-Version": "copilot-chat/0.37.4"})
            current = ide(
                token,
                **{
                    "X-GitHub-Api-Version": "2026-06-01",
                    "Editor-Plugin-Version": "copilot-chat/0.65.0",
                },
            )
            refused = [
                await client.get("/models", headers=old_api),
                await client.post("/chat/completions", headers=old_api, json=chat()),
                await client.post(
                    "/responses", headers=old_plugin, json={"model": "gpt-5.4", "input": "hi"}
                ),
                await client.post(
                    "/embeddings",
                    headers=old_plugin,
                    json={"model": "text-embedding-3-small", "input": "hi"},
                ),
            ]
            served = await client.post("/chat/completions", headers=current, json=chat())
    assert [r.status_code for r in refused] == [466, 466, 466, 466]
    assert {json.loads(r.text)["error"]["message"] for r in refused} == {SUNSET_MESSAGE}
    assert served.status_code == 200
    assert served.json()["choices"][0]["message"]["content"] == reply_for("hi")


# -- 421 ---------------------------------------------------------------------------------------
async def test_a_token_used_on_another_host_gets_421() -> None:
    with anyio.fail_after(10):
        async with (
            serve_emulator(EmulatorConfig(enforce_api_host=True)) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            port = emu.base_url.rsplit(":", 1)[1]
            first = await copilot_token(client)  # endpoints.api is the emulator's own URL
            right = await client.post("/chat/completions", headers=ide(first), json=chat())
            wrong = await client.post(
                "/chat/completions", headers=ide(first, Host=f"localhost:{port}"), json=chat()
            )
            # A refresh moves endpoints.api: the new token belongs to the new host only.
            emu.config.endpoints_api = f"http://localhost:{port}"
            moved = await copilot_token(client)
            moved_old_host = await client.post("/chat/completions", headers=ide(moved), json=chat())
            moved_new_host = await client.post(
                "/chat/completions", headers=ide(moved, Host=f"localhost:{port}"), json=chat()
            )
            emu.script("models", Fault.misdirected())
            scripted = await client.get("/models", headers=ide(first))
    assert right.status_code == 200
    assert (wrong.status_code, wrong.text) == (421, "Misdirected Request\n")
    assert moved_old_host.status_code == 421
    assert moved_new_host.status_code == 200
    assert (scripted.status_code, scripted.text) == (421, "Misdirected Request\n")


async def test_hosts_are_not_checked_unless_asked() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            port = emu.base_url.rsplit(":", 1)[1]
            token = await copilot_token(client)
            other_host = await client.post(
                "/chat/completions", headers=ide(token, Host=f"localhost:{port}"), json=chat()
            )
    assert other_host.status_code == 200


# -- short windows -----------------------------------------------------------------------------
async def test_session_and_weekly_limits_are_429s_with_their_headers() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = ide(await copilot_token(client))
            emu.script("chat.completions", Fault.session_rate_limited(2733))
            emu.script("chat.completions", Fault.session_rate_limited(60, plan=""))
            emu.script("chat.completions", Fault.weekly_rate_limited())
            started = time.time()
            session, bare, weekly = [
                await client.post("/chat/completions", headers=headers, json=chat())
                for _ in range(3)
            ]
            after = await client.post("/chat/completions", headers=headers, json=chat())
    assert [r.status_code for r in (session, bare, weekly)] == [429, 429, 429]
    error = json.loads(session.text)["error"]
    assert error["code"] == "user_global_rate_limited:pro"
    assert error["message"] == (
        "Sorry, you've exceeded your 5 hour session limits. Please retry after 2733 seconds."
    )
    assert session.headers["retry-after"] == "2733"
    assert session.headers["x-ratelimit-user-retry-after"] == "2733"
    assert session.headers["x-ratelimit-exceeded"] == (
        "global-chat:global-usage-5-hour-key:userID:COPILOT_PLAN_INDIVIDUAL"
    )
    session_window = window(session.headers["x-usage-ratelimit-session"])
    assert (session_window["rem"], session_window["ent"]) == ("0.0", "0")
    assert abs(reset_time(session.headers["x-usage-ratelimit-session"]) - (started + 2733)) < 5
    assert "x-usage-ratelimit-weekly" not in session.headers
    assert json.loads(bare.text)["error"]["code"] == "user_global_rate_limited"
    weekly_error = json.loads(weekly.text)["error"]
    assert weekly_error["code"] == "user_weekly_rate_limited"
    assert weekly_error["message"].startswith("Sorry, you've exceeded your weekly rate limit.")
    assert int(weekly.headers["retry-after"]) >= 50 * 3600
    assert "global-usage-weekly-key" in weekly.headers["x-ratelimit-exceeded"]
    assert window(weekly.headers["x-usage-ratelimit-weekly"])["rem"] == "0.0"
    assert after.status_code == 200


async def test_usage_window_headers_on_successful_replies() -> None:
    config = EmulatorConfig(usage_windows={"session": 42.5, "weekly": "rem=oops&rst="})
    with anyio.fail_after(10):
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = ide(await copilot_token(client))
            started = time.time()
            plain = await client.post("/chat/completions", headers=headers, json=chat())
            async with client.stream(
                "POST", "/chat/completions", headers=headers, json=chat(stream=True)
            ) as streamed:
                await streamed.aread()
            responses = await client.post(
                "/responses", headers=headers, json={"model": "gpt-5.4", "input": "hi"}
            )
            emu.config.usage_windows = {}
            absent = await client.post("/chat/completions", headers=headers, json=chat())
    for reply in (plain, streamed, responses):
        assert reply.status_code == 200
        session = window(reply.headers["x-usage-ratelimit-session"])
        assert (session["ent"], session["ov"], session["ovPerm"], session["rem"]) == (
            "0",
            "0.0",
            "false",
            "42.5",
        )
        assert "%3A" in reply.headers["x-usage-ratelimit-session"]  # rst is URL-encoded
        assert 0 < reset_time(reply.headers["x-usage-ratelimit-session"]) - started <= 5 * 3600 + 5
        assert reply.headers["x-usage-ratelimit-weekly"] == "rem=oops&rst="
        assert "x-quota-snapshot-chat" in reply.headers
    assert "x-usage-ratelimit-session" not in absent.headers
    assert "x-usage-ratelimit-weekly" not in absent.headers


# -- routing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["gpt-5-codex", "gpt-5.4"])
async def test_responses_only_models_refuse_chat_completions(model: str) -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = ide(await copilot_token(client))
            listed = (await client.get("/models", headers=headers)).json()["data"]
            chat_style = await client.post(
                "/chat/completions", headers=headers, json=chat(model=model)
            )
            responses = await client.post(
                "/responses", headers=headers, json={"model": model, "input": "hi"}
            )
    entry = next(m for m in listed if m["id"] == model)
    assert "/chat/completions" not in entry["supported_endpoints"]
    assert "/responses" in entry["supported_endpoints"]
    assert chat_style.status_code == 400
    assert json.loads(chat_style.text)["error"]["code"] == "unsupported_api_for_model"
    assert responses.status_code == 200
    assert responses.json()["output"][0]["content"][0]["text"] == reply_for("hi")


# -- token types -------------------------------------------------------------------------------
async def test_a_token_of_another_app_gets_a_plain_404() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            emu.script("copilot.token", Fault.not_a_copilot_token())
            refused = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}"}
            )
    assert refused.status_code == 404
    body = refused.json()
    assert body["message"] == "Not Found"
    assert "error_details" not in body  # not the Copilot envelope of protocol.md §5.3


# -- credential files --------------------------------------------------------------------------
def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def test_editor_credentials_hold_a_token_the_emulator_accepts(tmp_path: Path) -> None:
    stored = write_editor_credentials(tmp_path, hosts_json=True)
    apps = read_json(tmp_path / "github-copilot" / "apps.json")
    hosts = read_json(tmp_path / "github-copilot" / "hosts.json")
    assert apps == {
        f"github.com:{COPILOT_CLIENT_ID}": {
            "user": "octocat",
            "oauth_token": stored,
            "githubAppId": COPILOT_CLIENT_ID,
        }
    }
    assert hosts == {"github.com": {"user": "octocat", "oauth_token": stored}}
    assert stat.S_IMODE((tmp_path / "github-copilot" / "apps.json").stat().st_mode) == 0o600
    token = apps[f"github.com:{COPILOT_CLIENT_ID}"]["oauth_token"]
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            capi = ide(await copilot_token(client, token))
            reply = await client.post("/chat/completions", headers=capi, json=chat())
    assert token.startswith("ghu_")
    assert reply.status_code == 200


async def test_editor_credentials_with_restricted_accounts(tmp_path: Path) -> None:
    emu = Emulator(EmulatorConfig(accounts={"ghu_" + "a" * 36: "alice"}))
    issued = emu.issue_user_token("hubot")
    write_editor_credentials(tmp_path, issued, user="hubot")
    unknown = write_editor_credentials(tmp_path, host="ghe.example.com", user="nobody")
    apps = read_json(tmp_path / "github-copilot" / "apps.json")
    assert set(apps) == {f"github.com:{COPILOT_CLIENT_ID}", f"ghe.example.com:{COPILOT_CLIENT_ID}"}
    assert not (tmp_path / "github-copilot" / "hosts.json").exists()
    with anyio.fail_after(10):
        async with (
            serve_emulator(emulator=emu) as served,
            httpx.AsyncClient(base_url=served.base_url) as client,
        ):
            accepted = await client.get(
                "/copilot_internal/v2/token",
                headers={
                    "Authorization": f"token {apps[f'github.com:{COPILOT_CLIENT_ID}']['oauth_token']}"
                },
            )
            rejected = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {unknown}"}
            )
    assert accepted.status_code == 200
    assert emu.stats.last_request("copilot.token").account is None  # the rejected one
    assert rejected.status_code == 401
    assert emu.stats.requests_to("copilot.token")[0].account == "hubot"
