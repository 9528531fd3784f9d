"""The emulator's IDE flavour, over real sockets (protocol.md §3, §4.3, §4.4)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import parse_qs

import anyio
import httpx
import openai
import pytest

from copilot_anyio.emulator import (
    Emulator,
    EmulatorConfig,
    Fault,
    default_models,
    reply_for,
    serve_emulator,
)

from ._sse_lines import data_lines

pytestmark = pytest.mark.anyio

CLIENT_ID = "Iv1.b507a08c87ecfe98"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"
IDE = {"Editor-Version": "vscode/1.104.3", "Copilot-Integration-Id": "vscode-chat"}
FAKE_USER_TOKEN = "ghu_" + "x" * 36


def chunks(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(d) for d in data_lines(raw) if d != "[DONE]"]


def stream_text(raw: bytes, index: int = 0) -> str:
    return "".join(
        c["delta"].get("content") or ""
        for chunk in chunks(raw)
        for c in chunk.get("choices") or []
        if c["index"] == index
    )


async def copilot_headers(
    client: httpx.AsyncClient, user_token: str = FAKE_USER_TOKEN, integration: str = "vscode-chat"
) -> dict[str, str]:
    response = await client.get(
        "/copilot_internal/v2/token",
        headers={"Authorization": f"token {user_token}", "Copilot-Integration-Id": integration},
    )
    assert response.status_code == 200, response.text
    return {
        **IDE,
        "Copilot-Integration-Id": integration,
        "Authorization": f"Bearer {response.json()['token']}",
    }


def chat(prompt: str, **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4.1", "messages": [{"role": "user", "content": prompt}], **extra}


# -- device flow -------------------------------------------------------------------------------
async def test_device_flow_json() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(
            device_poll_script=("authorization_pending", "slow_down", "authorization_pending")
        )
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            accept = {"Accept": "application/json"}
            code = (
                await client.post(
                    "/login/device/code",
                    json={"client_id": CLIENT_ID, "scope": "read:user"},
                    headers=accept,
                )
            ).json()
            poll = {"client_id": CLIENT_ID, "device_code": code["device_code"], "grant_type": GRANT}
            replies = [
                (await client.post("/login/oauth/access_token", data=poll, headers=accept)).json()
                for _ in range(5)
            ]
            token = replies[3]["access_token"]
            base_url = emu.base_url
            exchanged = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {token}"}
            )
    assert len(code["device_code"]) == 40
    assert len(code["user_code"]) == 9
    assert code["user_code"][4] == "-"
    assert code["verification_uri"] == f"{base_url}/login/device"
    assert code["expires_in"] == 900
    assert code["interval"] == 0
    assert [r.get("error") for r in replies] == [
        "authorization_pending",
        "slow_down",
        "authorization_pending",
        None,
        "incorrect_device_code",
    ]
    assert replies[1]["interval"] == 5
    assert token.startswith("ghu_")
    assert replies[3]["token_type"] == "bearer"
    assert exchanged.status_code == 200
    assert all(r["error_description"] for r in replies if "error" in r)


async def test_device_flow_form_encoded_without_accept_json() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(device_poll_script=())
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            code_reply = await client.post("/login/device/code", data={"client_id": CLIENT_ID})
            code = {k: v[0] for k, v in parse_qs(code_reply.text).items()}
            token_reply = await client.post(
                "/login/oauth/access_token",
                data={
                    "client_id": CLIENT_ID,
                    "device_code": code["device_code"],
                    "grant_type": GRANT,
                },
            )
    assert code_reply.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert parse_qs(token_reply.text)["access_token"][0].startswith("ghu_")


@pytest.mark.parametrize("terminal", ["access_denied", "expired_token", "incorrect_device_code"])
async def test_device_flow_terminal_errors_repeat(terminal: str) -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(device_poll_script=(terminal,), device_error_status=400)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            accept = {"Accept": "application/json"}
            code = (
                await client.post(
                    "/login/device/code", json={"client_id": CLIENT_ID}, headers=accept
                )
            ).json()
            poll = {"client_id": CLIENT_ID, "device_code": code["device_code"], "grant_type": GRANT}
            replies = [
                await client.post("/login/oauth/access_token", json=poll, headers=accept)
                for _ in range(3)
            ]
    assert [r.status_code for r in replies] == [400, 400, 400]
    assert [r.json()["error"] for r in replies] == [terminal] * 3


async def test_device_flow_expiry_and_bad_requests() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(device_expires_in=0)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            accept = {"Accept": "application/json"}
            code = (
                await client.post(
                    "/login/device/code", json={"client_id": CLIENT_ID}, headers=accept
                )
            ).json()
            poll = {"client_id": CLIENT_ID, "device_code": code["device_code"], "grant_type": GRANT}
            expired = (
                await client.post("/login/oauth/access_token", json=poll, headers=accept)
            ).json()
            grant = (
                await client.post(
                    "/login/oauth/access_token",
                    json={**poll, "grant_type": "password"},
                    headers=accept,
                )
            ).json()
            unknown = (
                await client.post(
                    "/login/oauth/access_token",
                    json={**poll, "device_code": "0" * 40},
                    headers=accept,
                )
            ).json()
            no_client = await client.post("/login/device/code", json={}, headers=accept)
    assert expired["error"] == "expired_token"
    assert grant["error"] == "unsupported_grant_type"
    assert unknown["error"] == "incorrect_device_code"
    assert no_client.json()["error"] == "incorrect_client_credentials"


# -- token exchange and user -------------------------------------------------------------------
async def test_copilot_token_envelope() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(copilot_token_ttl=600, copilot_refresh_in=300)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            replies = [
                await client.get(
                    "/copilot_internal/v2/token",
                    headers={"Authorization": f"{scheme} {FAKE_USER_TOKEN}"},
                )
                for scheme in ("token", "Token", "Bearer")
            ]
            emu.config.endpoints_api = "http://127.0.0.1:9"
            moved = (
                await client.get(
                    "/copilot_internal/v2/token",
                    headers={"Authorization": f"token {FAKE_USER_TOKEN}"},
                )
            ).json()
    assert [r.status_code for r in replies] == [200, 200, 200]
    envelope = replies[0].json()
    now = time.time()
    assert abs(envelope["expires_at"] - (now + 600)) < 5
    assert envelope["refresh_in"] == 300
    assert envelope["endpoints"]["api"] == emu_url(replies[0])
    token = envelope["token"]
    fields = dict(part.split("=", 1) for part in token.split(":")[0].split(";"))
    assert fields["exp"] == str(envelope["expires_at"])
    assert fields["sku"] == envelope["sku"] == "free_limited_copilot"
    assert len({r.json()["token"] for r in replies}) == 3
    assert moved["endpoints"]["api"] == "http://127.0.0.1:9"
    assert emu.stats.copilot_tokens_issued == 4


def emu_url(response: httpx.Response) -> str:
    return f"{response.request.url.scheme}://{response.request.url.netloc.decode()}"


async def test_copilot_token_rejections() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(accounts={FAKE_USER_TOKEN: "octocat"})
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):

            async def exchange(auth: str | None) -> httpx.Response:
                headers = {} if auth is None else {"Authorization": auth}
                return await client.get("/copilot_internal/v2/token", headers=headers)

            pat = await exchange("token ghp_" + "x" * 36)
            fine_grained = await exchange("token github_pat_" + "x" * 40)
            missing = await exchange(None)
            unknown = await exchange("token ghu_" + "y" * 36)
            good = await exchange(f"token {FAKE_USER_TOKEN}")
    assert pat.status_code == 403
    assert fine_grained.status_code == 403
    assert pat.json()["message"] == "Resource not accessible by personal access token"
    assert missing.status_code == 401
    assert unknown.status_code == 401
    assert unknown.json()["message"] == "Bad credentials"
    assert good.status_code == 200
    assert emu.stats.last_request("copilot.token").account == "octocat"


async def test_token_envelope_with_bogus_lifetimes() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(copilot_token_ttl=120, copilot_refresh_in=60)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            user = {"Authorization": f"token {FAKE_USER_TOKEN}"}
            emu.script("copilot.token", Fault.token_envelope(expires_at=1750001800000))
            emu.script("copilot.token", Fault.token_envelope(refresh_in=-60, omit=("sku",)))
            emu.script(
                "copilot.token", Fault.token_envelope(expires_at="soon", omit=("refresh_in",))
            )
            bogus = [
                (await client.get("/copilot_internal/v2/token", headers=user)).json()
                for _ in range(3)
            ]
            normal = (await client.get("/copilot_internal/v2/token", headers=user)).json()
            works = [
                await client.post(
                    "/chat/completions",
                    headers={**IDE, "Authorization": f"Bearer {envelope['token']}"},
                    json=chat("hi"),
                )
                for envelope in bogus
            ]
    assert bogus[0]["expires_at"] == 1750001800000
    assert bogus[0]["refresh_in"] == 60
    assert bogus[1]["refresh_in"] == -60
    assert "sku" not in bogus[1]
    assert bogus[2]["expires_at"] == "soon"
    assert "refresh_in" not in bogus[2]
    assert abs(normal["expires_at"] - (time.time() + 120)) < 5
    assert normal["refresh_in"] == 60
    # The lifetimes are lies on the wire only: each token works for the configured time.
    assert [r.status_code for r in works] == [200, 200, 200]


async def test_short_lived_tokens_expire_on_time() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(
            copilot_token_ttl=2, copilot_refresh_in=0, copilot_token_valid_for=1.5
        )
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await copilot_headers(client)
            fresh = await client.post("/chat/completions", headers=headers, json=chat("hi"))
            await anyio.sleep(1.6)
            stale = await client.post("/chat/completions", headers=headers, json=chat("hi"))
    assert fresh.status_code == 200
    assert stale.status_code == 401
    assert stale.text == "unauthorized: token expired\n"


async def test_the_state_api_shows_what_the_handlers_did() -> None:
    with anyio.fail_after(10):
        emu = Emulator(EmulatorConfig(accounts={FAKE_USER_TOKEN: "octocat"}))
        replacement = EmulatorConfig(accounts={FAKE_USER_TOKEN: "hubot"})
        async with (
            serve_emulator(emulator=emu) as served,
            httpx.AsyncClient(base_url=served.base_url) as client,
        ):
            assert emu.state.base_url == emu.base_url != ""
            headers = await copilot_headers(client)
            copilot_token = headers["Authorization"].removeprefix("Bearer ")
            enabled = await client.post(
                "/models/claude-sonnet-4.5/policy", headers=headers, json={"state": "enabled"}
            )
            emu.config = replacement  # handlers read the state's config on every request
            renamed = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}"}
            )
    assert enabled.status_code == 200
    issued = emu.state.lookup(copilot_token, "copilot")
    assert issued is not None
    assert issued.account == "octocat"
    assert issued.integration_id == "vscode-chat"
    assert emu.state.lookup(copilot_token, "web") is None
    assert emu.state.policy_enabled("octocat", "claude-sonnet-4.5")
    assert not emu.state.policy_enabled("hubot", "claude-sonnet-4.5")
    assert emu.state.config is replacement
    assert emu.state.stats is emu.stats
    assert renamed.status_code == 200
    assert emu.stats.last_request("copilot.token").account == "hubot"
    assert emu.accounts_seen() == {"octocat", "hubot"}


async def test_malformed_user_token_is_not_an_account() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            response = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": "token nope"}
            )
    assert response.status_code == 401


async def test_copilot_user_quota_follows_usage() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(quotas={"chat": 10, "completions": -1, "premium_interactions": 300})
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            user = {"Authorization": f"token {FAKE_USER_TOKEN}"}
            before = (await client.get("/copilot_internal/user", headers=user)).json()
            headers = await copilot_headers(client)
            for _ in range(3):
                await client.post("/chat/completions", headers=headers, json=chat("q"))
            after = (await client.get("/copilot_internal/user", headers=user)).json()
            last = emu.stats.last_request("chat.completions")
    assert before["quota_snapshots"]["chat"]["remaining"] == 10
    assert after["quota_snapshots"]["chat"]["remaining"] == 7
    assert after["quota_snapshots"]["chat"]["percent_remaining"] == 70.0
    assert after["quota_snapshots"]["completions"]["unlimited"] is True
    assert last.account is not None
    assert emu.stats.usage[last.account] == 3


# -- CAPI header and token checks --------------------------------------------------------------
@pytest.mark.parametrize(
    ("drop", "override", "status", "text"),
    [
        (
            "Copilot-Integration-Id",
            None,
            400,
            "bad request: missing required Copilot-Integration-Id header",
        ),
        (
            None,
            ("Copilot-Integration-Id", "made-up"),
            400,
            "bad request: unknown Copilot-Integration-Id",
        ),
        ("Editor-Version", None, 400, "bad request: missing Editor-Version header for IDE auth"),
        (
            None,
            ("Editor-Version", "not a version"),
            400,
            "bad request: unknown Editor-Version header for IDE auth",
        ),
        (
            None,
            ("Copilot-Integration-Id", "copilot-chat"),
            401,
            "unauthorized: unable to validate HMAC for the given Copilot-Integration-ID",
        ),
    ],
)
async def test_capi_header_errors(
    drop: str | None, override: tuple[str, str] | None, status: int, text: str
) -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            if drop is not None:
                del headers[drop]
            if override is not None:
                headers[override[0]] = override[1]
            response = await client.get("/models", headers=headers)
    assert response.status_code == status
    assert response.text == text + "\n"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_editor_names_allow_list() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(editor_names=frozenset({"Neovim"}))
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await copilot_headers(client)
            vscode = await client.get("/models", headers=headers)
            neovim = await client.get(
                "/models", headers={**headers, "Editor-Version": "Neovim/0.10.1"}
            )
    assert vscode.status_code == 400
    assert neovim.status_code == 200


async def test_expired_copilot_token() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            ok = await client.get("/models", headers=headers)
            emu.expire_tokens()
            expired = await client.get("/models", headers=headers)
            bogus = await client.get("/models", headers={**headers, "Authorization": "Bearer nope"})
    assert ok.status_code == 200
    assert expired.status_code == 401
    assert expired.text == "unauthorized: token expired\n"
    assert expired.headers["content-type"] == "text/plain; charset=utf-8"
    assert bogus.status_code == 401


async def test_direct_token_mode() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = {**IDE, "Authorization": f"Bearer {FAKE_USER_TOKEN}"}
            refused = await client.get("/models", headers=headers)
            emu.config.accept_user_token_on_capi = True
            accepted = await client.get("/models", headers=headers)
    assert refused.status_code == 401
    assert accepted.status_code == 200


async def test_ping() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            response = await client.get("/_ping")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# -- models ------------------------------------------------------------------------------------
async def test_models_catalogue_and_policy() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            catalogue = (await client.get("/models", headers=headers)).json()
            gated_before = await client.post(
                "/chat/completions",
                headers=headers,
                json={**chat("x"), "model": "claude-sonnet-4.5"},
            )
            enable = await client.post(
                "/models/claude-sonnet-4.5/policy", headers=headers, json={"state": "enabled"}
            )
            gated_after = await client.post(
                "/chat/completions",
                headers=headers,
                json={**chat("x"), "model": "claude-sonnet-4.5"},
            )
            listed = (await client.get("/models", headers=headers)).json()
            no_policy = await client.post(
                "/models/gpt-4.1/policy", headers=headers, json={"state": "enabled"}
            )
            unknown = await client.post(
                "/models/nope/policy", headers=headers, json={"state": "enabled"}
            )
    data = catalogue["data"]
    assert catalogue["object"] == "list"
    by_id = {m["id"]: m for m in data}
    assert len(by_id) == len(data)  # ids are strings and unique: nothing malformed by default
    assert by_id["gpt-4.1"]["is_chat_default"] is True
    assert by_id["gpt-5-codex"]["supported_endpoints"] == ["/responses"]
    assert by_id["text-embedding-3-small"]["capabilities"]["type"] == "embeddings"
    assert "supported_endpoints" not in by_id["gpt-4o"]
    assert by_id["claude-sonnet-4.5"]["policy"]["state"] == "unconfigured"
    assert gated_before.status_code == 400
    assert gated_before.json()["error"]["code"] == "model_not_supported"
    assert enable.status_code == 200
    assert enable.json() == {"state": "enabled"}
    assert gated_after.status_code == 200
    listed_gated = next(m for m in listed["data"] if m.get("id") == "claude-sonnet-4.5")
    assert listed_gated["policy"]["state"] == "enabled"
    assert no_policy.status_code == 400
    assert unknown.status_code == 404


def _malformations(entry: Any) -> list[str]:
    """What is wrong with one ``/models`` entry, by the field types of protocol.md §3.6."""
    if not isinstance(entry, dict):
        return ["not an object"]
    problems = [
        f"{name} is not a non-empty string"
        for name in ("id", "name", "vendor", "version")
        if not isinstance(entry.get(name), str) or not entry[name]
    ]
    if entry.get("object") != "model":
        problems.append("object is not 'model'")
    problems += [
        f"{name} is not a boolean"
        for name in ("preview", "model_picker_enabled", "is_chat_default", "is_chat_fallback")
        if name in entry and not isinstance(entry[name], bool)
    ]
    endpoints = entry.get("supported_endpoints", [])
    if not isinstance(endpoints, list) or not all(isinstance(e, str) for e in endpoints):
        problems.append("supported_endpoints is not a list of strings")
    policy = entry.get("policy", {"state": "enabled", "terms": ""})
    if not isinstance(policy, dict) or not isinstance(policy.get("state"), str):
        problems.append("policy has no state")
    billing = entry.get("billing", {})
    if not isinstance(billing, dict) or not all(
        isinstance(billing.get(k, 0), (int, float)) for k in ("multiplier",)
    ):
        problems.append("billing is malformed")
    caps = entry.get("capabilities")
    if not isinstance(caps, dict):
        return [*problems, "capabilities is not an object"]
    if caps.get("type") not in ("chat", "embeddings", "completion"):
        problems.append("capabilities.type is unknown")
    if not isinstance(caps.get("family"), str):
        problems.append("capabilities.family is not a string")
    limits, supports = caps.get("limits", {}), caps.get("supports", {})
    if not isinstance(limits, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0
        for k, v in limits.items()
        if k != "vision"
    ):
        problems.append("capabilities.limits are not positive integers")
    if not isinstance(supports, dict):
        problems.append("capabilities.supports is not an object")
    return problems


async def test_default_catalogue_is_well_formed() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            data = (await client.get("/models", headers=await copilot_headers(client))).json()[
                "data"
            ]
    assert {m.get("id") if isinstance(m, dict) else None: _malformations(m) for m in data} == {
        m["id"]: [] for m in data
    }
    assert [m["id"] for m in data if m["is_chat_default"]] == ["gpt-4.1"]
    responses_only = [
        m["id"]
        for m in data
        if "/responses" in m.get("supported_endpoints", [])
        and "/chat/completions" not in m.get("supported_endpoints", ["/chat/completions"])
    ]
    assert responses_only == ["gpt-5-codex", "gpt-5.4"]


def test_the_catalogue_audit_can_fail() -> None:
    assert _malformations(json.loads(json.dumps(default_models()[0]))) == []
    problems = _malformations(
        {"id": 42, "name": None, "capabilities": "not-an-object", "supported_endpoints": "nope"}
    )
    assert "id is not a non-empty string" in problems
    assert "capabilities is not an object" in problems
    assert "supported_endpoints is not a list of strings" in problems


async def test_a_malformed_model_is_a_scripted_fault() -> None:
    custom = {"id": "", "capabilities": {"type": "chat"}}
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            emu.script("models", Fault.malformed_model())
            emu.script("models", Fault.malformed_model(custom))
            emu.script("models", Fault.malformed_model("just a string"))
            faulty = [(await client.get("/models", headers=headers)).json() for _ in range(3)]
            clean = (await client.get("/models", headers=headers)).json()
            # A content fault on a route it does not apply to changes nothing there.
            emu.script("chat.completions", Fault.malformed_model())
            chat_reply = await client.post("/chat/completions", headers=headers, json=chat("hi"))
    plain_ids = [m["id"] for m in clean["data"]]
    for reply in faulty:
        assert [m.get("id") for m in reply["data"][:-1] if isinstance(m, dict)] == plain_ids
    assert faulty[0]["data"][-1] == {
        "id": 42,
        "name": None,
        "capabilities": "not-an-object",
        "supported_endpoints": "nope",
    }
    assert faulty[1]["data"][-1] == custom
    assert faulty[2]["data"][-1] == "just a string"
    assert all(_malformations(m) == [] for m in clean["data"])
    assert chat_reply.status_code == 200
    assert chat_reply.json()["choices"][0]["message"]["content"] == reply_for("hi")


# -- chat completions --------------------------------------------------------------------------
async def test_chat_stream_quirks() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = {**await copilot_headers(client), "X-Request-Id": "req-123"}
            async with client.stream(
                "POST", "/chat/completions", headers=headers, json=chat("stream me", stream=True)
            ) as response:
                raw = await response.aread()
                response_headers = response.headers
    assert response_headers["x-request-id"] == "req-123"
    assert "x-github-request-id" in response_headers
    assert response_headers["x-quota-snapshot-chat"].startswith("ent=50&")
    assert data_lines(raw)[-1] == "[DONE]"
    parsed = chunks(raw)
    lead = parsed[0]
    assert lead["choices"] == []
    assert lead["id"] == ""
    assert lead["created"] == 0
    assert "prompt_filter_results" in lead
    first = parsed[1]
    assert "model" not in first
    assert "object" not in first
    assert first["choices"][0]["delta"]["role"] == "assistant"
    assert all(p.get("model") == "gpt-4.1-2025-04-14" for p in parsed[2:])
    final = parsed[-1]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens"] == len(parsed) - 2
    assert stream_text(raw) == reply_for("stream me")


@pytest.mark.parametrize("placement", ["trailing", "none"])
async def test_chat_stream_usage_placement_and_no_done(
    placement: Literal["trailing", "none"],
) -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(
            usage_placement=placement, send_done=False, leading_empty_chunk=False
        )
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await copilot_headers(client)
            raw = (
                await client.post("/chat/completions", headers=headers, json=chat("u", stream=True))
            ).content
    lines = data_lines(raw)
    assert "[DONE]" not in lines
    parsed = chunks(raw)
    assert parsed[0]["choices"]
    with_usage = [p for p in parsed if "usage" in p]
    if placement == "trailing":
        assert len(with_usage) == 1
        assert with_usage[0] is parsed[-1]
        assert parsed[-1]["choices"] == []
    else:
        assert with_usage == []
    assert stream_text(raw) == reply_for("u")


async def test_chat_non_streaming_and_turns() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            history = [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "one"},
                {"role": "assistant", "content": reply_for("one")},
                {"role": "user", "content": [{"type": "text", "text": "two"}]},
            ]
            reply = (
                await client.post(
                    "/chat/completions",
                    headers=headers,
                    json={"model": "gpt-4o", "messages": history},
                )
            ).json()
    assert reply["choices"][0]["message"]["content"] == reply_for("two", turn=2)
    assert reply["choices"][0]["finish_reason"] == "stop"
    assert reply["model"] == "gpt-4o-2024-11-20"
    assert (
        reply["usage"]["total_tokens"]
        == reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"]
    )


async def test_chat_n_choices_interleave() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            raw = (
                await client.post(
                    "/chat/completions", headers=headers, json=chat("pair", stream=True, n=2)
                )
            ).content
    indexes = [c["index"] for p in chunks(raw) for c in p["choices"]]
    assert indexes[:4] == [0, 1, 0, 1]
    assert stream_text(raw, 0) == reply_for("pair")
    assert stream_text(raw, 1) == reply_for("pair (choice 1)")


WEATHER_TOOL = {
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
TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


async def test_chat_tool_calls_streamed() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            body = chat(
                "call get_weather and get_time", stream=True, tools=[WEATHER_TOOL, TIME_TOOL]
            )
            raw = (await client.post("/chat/completions", headers=headers, json=body)).content
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for parsed in chunks(raw):
        for choice in parsed["choices"]:
            finish = choice.get("finish_reason") or finish
            for fragment in choice["delta"].get("tool_calls") or []:
                call = calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})
                call["id"] += fragment.get("id", "")
                call["name"] += fragment.get("function", {}).get("name", "")
                call["arguments"] += fragment.get("function", {}).get("arguments", "")
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"city": "city-value", "days": 1}
    assert json.loads(calls[1]["arguments"]) == {}
    assert calls[0]["id"].startswith("call_")


async def test_chat_tool_result_follow_up() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            messages = [
                {"role": "user", "content": "call get_weather"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ]
            reply = (
                await client.post(
                    "/chat/completions",
                    headers=headers,
                    json={"model": "gpt-4.1", "messages": messages, "tools": [WEATHER_TOOL]},
                )
            ).json()
    assert reply["choices"][0]["message"]["content"] == reply_for("tool result: sunny")


async def test_chat_validation_errors() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            unknown = await client.post(
                "/chat/completions", headers=headers, json={**chat("x"), "model": "nope"}
            )
            wrong_api = await client.post(
                "/chat/completions", headers=headers, json={**chat("x"), "model": "gpt-5-codex"}
            )
            wrong_api_inverse = await client.post(
                "/responses", headers=headers, json={"model": "gpt-4o-2024-11-20", "input": "x"}
            )
            embeddings_model = await client.post(
                "/chat/completions",
                headers=headers,
                json={**chat("x"), "model": "text-embedding-3-small"},
            )
            max_completion = await client.post(
                "/chat/completions", headers=headers, json=chat("x", max_completion_tokens=5)
            )
            no_messages = await client.post(
                "/chat/completions", headers=headers, json={"model": "gpt-4.1"}
            )
            image = {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:,"}}],
            }
            vision = await client.post(
                "/chat/completions", headers=headers, json={"model": "gpt-4.1", "messages": [image]}
            )
            vision_ok = await client.post(
                "/chat/completions",
                headers={**headers, "Copilot-Vision-Request": "true"},
                json={"model": "gpt-4.1", "messages": [image]},
            )
    assert unknown.status_code == 400
    assert unknown.text.endswith("\n")
    assert unknown.headers["content-type"].startswith("text/plain")
    assert json.loads(unknown.text) == {
        "error": {
            "message": "The requested model is not supported.",
            "code": "model_not_supported",
            "param": "model",
            "type": "invalid_request_error",
        }
    }
    assert wrong_api.status_code == 400
    assert wrong_api.json()["error"]["code"] == "unsupported_api_for_model"
    assert (
        wrong_api.json()["error"]["message"]
        == 'model "gpt-5-codex" is not accessible via the /chat/completions endpoint'
    )
    assert (
        wrong_api_inverse.json()["error"]["message"]
        == "model gpt-4o-2024-11-20 is not supported via Responses API."
    )
    assert embeddings_model.json()["error"]["code"] == "model_not_supported"
    assert max_completion.status_code == 400
    assert no_messages.status_code == 400
    assert vision.status_code == 400
    assert vision_ok.status_code == 200


# -- responses ---------------------------------------------------------------------------------
async def test_responses_stream_with_event_lines() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            body = {
                "model": "gpt-5-codex",
                "input": [{"role": "user", "content": [{"type": "input_text", "text": "r"}]}],
                "stream": True,
            }
            raw = (await client.post("/responses", headers=headers, json=body)).content
            emu.config.responses_event_lines = False
            emu.config.responses_done = True
            bare = (await client.post("/responses", headers=headers, json=body)).content
    names = [
        line[len("event: ") :] for line in raw.decode().split("\n") if line.startswith("event: ")
    ]
    payloads = [json.loads(d) for d in data_lines(raw)]
    assert names == [p["type"] for p in payloads]
    assert names[0] == "response.created"
    assert names[-1] == "response.completed"
    text = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    assert text == reply_for("r")
    assert payloads[-1]["response"]["output"][0]["content"][0]["text"] == text
    assert b"event:" not in bare
    assert data_lines(bare)[-1] == "[DONE]"


async def test_responses_previous_response_id() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            first = (
                await client.post(
                    "/responses", headers=headers, json={"model": "gpt-4.1", "input": "q"}
                )
            ).json()
            second = (
                await client.post(
                    "/responses",
                    headers=headers,
                    json={"model": "gpt-4.1", "input": "q", "previous_response_id": first["id"]},
                )
            ).json()
            missing = await client.post(
                "/responses",
                headers=headers,
                json={"model": "gpt-4.1", "input": "q", "previous_response_id": "resp_x"},
            )
    assert first["output"][0]["content"][0]["text"] == reply_for("q", turn=1)
    assert second["output"][0]["content"][0]["text"] == reply_for("q", turn=2)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "previous_response_not_found"


async def test_responses_function_call() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            tool = {
                "type": "function",
                "name": "get_time",
                "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
            }
            body = {
                "model": "gpt-5-codex",
                "input": "call get_time",
                "tools": [tool],
                "stream": True,
            }
            payloads = [
                json.loads(d)
                for d in data_lines(
                    (await client.post("/responses", headers=headers, json=body)).content
                )
            ]
    args = "".join(
        p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"
    )
    assert json.loads(args) == {"tz": "tz-value"}
    assert payloads[-1]["response"]["output"][0]["type"] == "function_call"


# -- embeddings --------------------------------------------------------------------------------
async def test_embeddings_are_deterministic_unit_vectors() -> None:
    with anyio.fail_after(10):
        async with serve_emulator() as emu, httpx.AsyncClient(base_url=emu.base_url) as client:
            headers = await copilot_headers(client)
            body = {
                "model": "text-embedding-3-small",
                "input": ["alpha", "beta", "alpha"],
                "dimensions": 8,
            }
            first = (await client.post("/embeddings", headers=headers, json=body)).json()
            single = (
                await client.post(
                    "/embeddings",
                    headers=headers,
                    json={"model": "text-embedding-3-small", "input": "alpha"},
                )
            ).json()
            chat_model = await client.post(
                "/embeddings", headers=headers, json={"model": "gpt-4.1", "input": "x"}
            )
    vectors = [d["embedding"] for d in first["data"]]
    assert [d["index"] for d in first["data"]] == [0, 1, 2]
    assert all(len(v) == 8 for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-6
    assert len(single["data"][0]["embedding"]) == 16
    assert chat_model.status_code == 400


# -- the openai SDK, unmodified ----------------------------------------------------------------
@asynccontextmanager
async def openai_sdk(emu: Emulator) -> AsyncIterator[openai.AsyncOpenAI]:
    """An unmodified openai SDK client (its own HTTP stack) after a real token exchange."""
    async with httpx.AsyncClient(base_url=emu.base_url) as http:
        envelope = (
            await http.get(
                "/copilot_internal/v2/token",
                headers={
                    "Authorization": f"token {FAKE_USER_TOKEN}",
                    "Copilot-Integration-Id": "vscode-chat",
                },
            )
        ).json()
    sdk = openai.AsyncOpenAI(
        base_url=envelope["endpoints"]["api"],
        api_key=envelope["token"],
        default_headers=IDE,
        max_retries=0,
    )
    async with sdk:
        yield sdk


# openai's AsyncStream stops iterating its SSE and HTTP async generators at ``[DONE]`` without
# closing them; trio's async-generator finalizer reports each as a ResourceWarning when they are
# collected. That is the SDK's behaviour on trio, not the emulator's, so only it is silenced here.
@pytest.mark.filterwarnings(
    r"ignore:Exception ignored in. <async_generator object:pytest.PytestUnraisableExceptionWarning"
)
async def test_openai_sdk_streams_a_chat_completion() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu, openai_sdk(emu) as sdk:
            stream = await sdk.chat.completions.create(
                model="gpt-4.1", messages=[{"role": "user", "content": "hello sdk"}], stream=True
            )
            text = ""
            async with stream:
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        text += chunk.choices[0].delta.content
            tools = await sdk.chat.completions.create(
                model="gpt-4.1",
                messages=[{"role": "user", "content": "call get_weather"}],
                tools=[WEATHER_TOOL],  # type: ignore[list-item]
            )
            embedded = await sdk.embeddings.create(model="text-embedding-3-small", input="x")
            response = await sdk.responses.create(model="gpt-5-codex", input="resp")
    assert text == reply_for("hello sdk")
    tool_calls = tools.choices[0].message.tool_calls
    assert tool_calls is not None
    assert tool_calls[0].type == "function"
    assert tool_calls[0].function.name == "get_weather"
    assert len(embedded.data[0].embedding) == 16
    assert response.output_text == reply_for("resp")


async def test_openai_sdk_maps_errors() -> None:
    with anyio.fail_after(15):
        async with serve_emulator() as emu, openai_sdk(emu) as sdk:
            emu.script("chat.completions", Fault.rate_limited("7"))
            with pytest.raises(openai.RateLimitError) as rate_limited:
                await sdk.chat.completions.create(
                    model="gpt-4.1", messages=[{"role": "user", "content": "x"}]
                )
            emu.expire_tokens()
            with pytest.raises(openai.AuthenticationError) as expired:
                await sdk.chat.completions.create(
                    model="gpt-4.1", messages=[{"role": "user", "content": "x"}]
                )
    assert rate_limited.value.response.headers["retry-after"] == "7"
    assert rate_limited.value.status_code == 429
    assert expired.value.response.text == "unauthorized: token expired\n"


async def test_expires_at_in_the_past_can_still_work() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(copilot_token_ttl=-60, copilot_token_valid_for=600)
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            envelope = (
                await client.get(
                    "/copilot_internal/v2/token",
                    headers={"Authorization": f"token {FAKE_USER_TOKEN}"},
                )
            ).json()
            models = await client.get(
                "/models", headers={**IDE, "Authorization": f"Bearer {envelope['token']}"}
            )
    assert envelope["expires_at"] < time.time()
    assert models.status_code == 200


async def test_finish_reason_and_github_rate_limit() -> None:
    with anyio.fail_after(10):
        config = EmulatorConfig(chat_finish_reason="length")
        async with (
            serve_emulator(config) as emu,
            httpx.AsyncClient(base_url=emu.base_url) as client,
        ):
            headers = await copilot_headers(client)
            reply = (await client.post("/chat/completions", headers=headers, json=chat("f"))).json()
            emu.script("copilot.token", Fault.github_rate_limited(42))
            limited = await client.get(
                "/copilot_internal/v2/token", headers={"Authorization": f"token {FAKE_USER_TOKEN}"}
            )
    assert reply["choices"][0]["finish_reason"] == "length"
    assert limited.status_code == 403
    assert limited.json()["message"].startswith("API rate limit exceeded for user ID 42.")
