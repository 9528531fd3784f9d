"""The emulator's public names: the contract other code and users' tests rely on."""

from __future__ import annotations

import inspect

import copilot_anyio.emulator as emulator

CONTRACT = {
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "Fault",
    "ROUTES",
    "Stats",
    "reply_deltas",
    "reply_for",
    "serve_emulator",
    "write_editor_credentials",
}

FAULT_CONSTRUCTORS = {
    "status",
    "rate_limited",
    "quota_exceeded",
    "token_expired",
    "forbidden",
    "server_error",
    "unavailable",
    "stall",
    "drop",
    "truncate",
    "finish_error",
    "midstream_error",
    "early_failure",
    "malformed_json",
    "oversized_event",
    "trickle",
    "delay",
    "linger",
    "malformed_model",
    "token_envelope",
    "api_version_unsupported",
    "misdirected",
    "session_rate_limited",
    "weekly_rate_limited",
    "not_a_copilot_token",
}

ROUTE_NAMES = {
    "web.token",
    "web.threads.create",
    "web.threads.list",
    "web.threads.delete",
    "web.messages.create",
    "web.messages.list",
    "device.code",
    "device.token",
    "copilot.token",
    "copilot.user",
    "models",
    "models.policy",
    "chat.completions",
    "responses",
    "messages",
    "embeddings",
    "ping",
}


def test_all_is_sorted_and_complete() -> None:
    assert emulator.__all__ == sorted(emulator.__all__, key=lambda n: (not n.isupper(), n))
    assert set(emulator.__all__) >= CONTRACT
    for name in emulator.__all__:
        assert getattr(emulator, name) is not None


def test_route_names() -> None:
    assert frozenset(ROUTE_NAMES) == emulator.ROUTES


def test_fault_constructors_exist() -> None:
    for name in FAULT_CONSTRUCTORS:
        assert inspect.ismethod(getattr(emulator.Fault, name)), name


def test_config_defaults_from_the_contract() -> None:
    config = emulator.EmulatorConfig()
    assert config.web_token_ttl == 1800.0
    assert config.copilot_token_ttl == 1800
    assert config.copilot_refresh_in == 1500
    assert config.token_delay == 0.0
    assert config.chunk_size is None
    assert config.line_separator == "\n\n"
    assert config.pacing == 0.0
    assert config.strict_web_headers is False


def test_serve_emulator_signature() -> None:
    params = inspect.signature(emulator.serve_emulator).parameters
    assert list(params) == ["config", "emulator", "host", "port", "backlog"]
    assert params["host"].default == "127.0.0.1"
    assert params["port"].default == 0
    assert params["emulator"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["backlog"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["backlog"].default >= 4096


def test_stats_fields() -> None:
    stats = emulator.Stats()
    for name in (
        "requests",
        "web_tokens_issued",
        "copilot_tokens_issued",
        "token_requests_in_flight",
        "max_token_requests_in_flight",
        "streams_open",
        "streams_completed",
        "streams_aborted",
        "bytes_sent",
        "usage",
        "cookie_leaks",
        "client_disconnects",
        "last_request_headers",
        "request_log",
    ):
        assert hasattr(stats, name), name
