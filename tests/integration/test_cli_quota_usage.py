"""``copilot-anyio quota`` and ``chat --usage``, run as a user runs them (a subprocess, and
``main([...])`` in-process), with an empty ``HOME``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime

import pytest

from copilot_anyio._cli import format_quota, main
from copilot_anyio.emulator import reply_for
from copilot_anyio.ide._usage import parse_copilot_user
from tests._backends import BACKENDS

#: Variables that would hand the command a real credential on the machine running the tests.
_CREDENTIAL_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "XDG_CONFIG_HOME")


def _environment() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COPILOT_") and k not in _CREDENTIAL_VARIABLES
    }
    # No editor sign-in or stored token of the machine's user: an empty home.
    env["HOME"] = tempfile.mkdtemp(prefix="copilot-anyio-home-")
    return env


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "copilot_anyio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
        check=False,
    )


_ROW = re.compile(
    r"^(?P<id>\S+)\s+\[(?P<bar>[#-]{20})\]\s+(?P<percent>[\d.]+) %\s+(?P<left>.+?)\s{2,}"
    r"(?P<reset>\d{4}-\d\d-\d\d \d\d:\d\d UTC)"
)


@pytest.mark.parametrize("backend", BACKENDS)
def test_quota_prints_the_plan_and_a_bar_per_quota(backend: str) -> None:
    done = _run("quota", "--emulator", "--backend", backend)
    assert done.returncode == 0, done.stderr
    plan, header, *rows = done.stdout.splitlines()
    assert plan.startswith("Copilot free (free_limited_copilot) as ")
    assert plan.endswith("billed in AI credits")
    assert header.split() == ["quota", "left", "remaining", "resets"]
    parsed = {}
    for row in rows:
        match = _ROW.match(row)
        assert match is not None, row
        parsed[match["id"]] = match
    assert list(parsed) == ["premium_interactions", "chat", "completions", "session", "weekly"]
    # the emulator's windows: 72.5 % and 88 % left; the monthly quotas untouched
    assert parsed["session"]["percent"] == "72.5"
    assert parsed["session"]["bar"] == "#" * 14 + "-" * 6
    assert parsed["weekly"]["bar"] == "#" * 18 + "-" * 2
    assert parsed["chat"]["bar"] == "#" * 20
    assert parsed["chat"]["left"] == "50 of 50"
    assert parsed["session"]["left"] == "-"
    # each reset lies ahead; the session window's within five hours, the weekly on a Monday
    now = datetime.now(tz=UTC)
    resets = {
        name: datetime.strptime(m["reset"], "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
        for name, m in parsed.items()
    }
    assert all(moment.timestamp() > now.timestamp() - 60 for moment in resets.values())
    assert (resets["session"] - now).total_seconds() <= 5 * 3600
    assert resets["weekly"].weekday() == 0
    assert "(in " in rows[0]


def test_quota_json_is_the_reply_as_sent() -> None:
    done = _run("quota", "--emulator", "--json")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["copilot_plan"] == "free"
    assert set(reply["quota_snapshots"]) >= {"chat", "5Hour-Session-RateLimits"}


def test_quota_without_credentials_says_so() -> None:
    done = _run("quota")
    assert done.returncode == 2
    assert "No Copilot credentials" in done.stderr
    assert "--emulator" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_usage_prints_tokens_credits_and_timing_after_the_answer(backend: str) -> None:
    done = _run("chat", "--emulator", "--usage", "--backend", backend, "Explain", "SSE")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == reply_for("Explain SSE")  # stdout holds the answer only
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("usage:")]
    match = re.fullmatch(
        r"usage: (\d+) prompt \+ (\d+) completion tokens = (\d+); ([\d.]+) AI credits; "
        r"first token after ([\d.]+ m?s), between tokens p50 ([\d.]+ m?s|-), "
        r"p95 ([\d.]+ m?s|-)",
        line,
    )
    assert match is not None, line
    prompt, completion, total = (int(match[i]) for i in (1, 2, 3))
    assert prompt > 0
    assert completion > 0
    assert prompt + completion == total
    # the emulator's prices: 30 000 nano-AIU per input token, 120 000 per output token
    assert float(match[4]) == pytest.approx(
        (prompt * 30_000 + completion * 120_000) / 1e9, abs=1e-4
    )
    # the usage line comes after the answer, on stderr
    assert done.stderr.index("usage:") > done.stderr.index("waiting for the first token")


def test_chat_usage_on_the_web_flavour_says_what_it_cannot_report() -> None:
    done = _run("chat", "--emulator", "--web", "--usage", "hi")
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("usage:")]
    assert "tokens not reported (web flavour)" in line
    assert "first token after" in line


def test_chat_without_usage_prints_no_usage_line() -> None:
    done = _run("chat", "--emulator", "hi")
    assert done.returncode == 0, done.stderr
    assert "usage:" not in done.stderr


def test_main_runs_quota_in_process(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _environment().items():
        monkeypatch.setenv(name, value)
    assert main(["quota", "--emulator"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].split() == ["quota", "left", "remaining", "resets"]
    assert "[##############------]" in out  # the session window, 72.5 % left


def test_the_table_shows_unlimited_overdrawn_and_unknown_quotas() -> None:
    user = parse_copilot_user(
        {
            "login": "octo",
            "copilot_plan": "individual",
            "quota_reset_date": "2030-02-01",
            "quota_snapshots": {
                "chat": {"entitlement": -1, "unlimited": True, "percent_remaining": 100},
                "premium_interactions": {
                    "entitlement": 300,
                    "remaining": -1,
                    "percent_remaining": -0.33,
                    "overage_permitted": True,
                },
                "mystery": {"entitlement": 10},
            },
        }
    )
    now = datetime(2030, 1, 31, 12, tzinfo=UTC).timestamp()
    lines = format_quota(user, now=now).splitlines()
    assert lines[0] == "Copilot individual as octo"
    rows = {line.split()[0]: line for line in lines[2:]}
    assert list(rows) == ["premium_interactions", "chat", "mystery"]
    assert "[" + "-" * 20 + "]  -0.3 %" in rows["premium_interactions"]
    assert "-1 of 300" in rows["premium_interactions"]
    assert "unlimited" in rows["chat"]
    assert "[" + "?" * 20 + "]" in rows["mystery"]
    assert rows["chat"].endswith("2030-02-01 00:00 UTC (in 12h 0m)")
    empty = format_quota(parse_copilot_user({"copilot_plan": "free"}), now=now)
    assert empty == "Copilot free\n(no quota snapshots in the reply)\n"
