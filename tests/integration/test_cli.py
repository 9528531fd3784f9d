"""The ``copilot-anyio chat`` command, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from copilot_anyio.emulator import reply_for
from tests._backends import BACKENDS

#: Variables that would hand the command a real credential on the machine running the tests.
_CREDENTIAL_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "XDG_CONFIG_HOME")


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COPILOT_") and k not in _CREDENTIAL_VARIABLES
    }
    # No editor sign-in or stored token of the machine's user: an empty home.
    base["HOME"] = tempfile.mkdtemp(prefix="copilot-anyio-home-")
    base.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "copilot_anyio", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=base,
        check=False,
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_chat_streams_an_answer_from_the_bundled_emulator(backend: str) -> None:
    done = _run("chat", "--emulator", "--backend", backend, "Explain", "SSE")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == reply_for("Explain SSE")
    assert "bundled Copilot emulator" in done.stderr
    assert "forgets its conversations" in done.stderr


def test_chat_without_credentials_says_so() -> None:
    done = _run("chat", "hello")
    assert done.returncode == 2
    assert "No Copilot credentials" in done.stderr
    assert "--emulator" in done.stderr
    assert done.stdout == ""


def test_chat_reports_refused_cookies_as_an_error(tmp_path: object) -> None:
    # A cookies file without a github.com session is refused before any request is made.
    path = os.path.join(str(tmp_path), "cookies.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(".example.org\tTRUE\t/\tTRUE\t0\tuser_session\tnot-github\n")
    done = _run("chat", "--cookies-file", path, "hello")
    assert done.returncode == 1
    assert "CredentialsError" in done.stderr
    assert "not-github" not in done.stderr


def test_chat_reports_a_missing_cookies_file_without_a_traceback(tmp_path: object) -> None:
    done = _run("chat", "--cookies-file", os.path.join(str(tmp_path), "absent.txt"), "hello")
    assert done.returncode == 1
    assert "CredentialsError: cannot read the cookies file" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_spinner_never_overwrites_the_answer() -> None:
    # On a terminal the spinner draws "\r<frame> waiting…" and must erase itself *before* the
    # first token is written; replay the bytes through a minimal terminal model.
    import io

    from copilot_anyio._cli import _Spinner

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    async def scenario() -> str:
        import anyio

        screen = Tty()
        spinner = _Spinner(screen)
        async with anyio.create_task_group() as tg:
            tg.start_soon(spinner.run)
            await anyio.sleep(0.2)  # a few frames are drawn
            spinner.stop()
            screen.write("Hello")  # the first token, written right after stop()
        return _render(screen.getvalue())

    import anyio

    for backend in BACKENDS:
        assert anyio.run(scenario, backend=backend) == "Hello"


def _render(raw: str) -> str:
    """What a terminal shows for ``raw``: handles CR and the erase-line sequence only."""
    line: list[str] = []
    col = 0
    i = 0
    while i < len(raw):
        if raw.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        ch = raw[i]
        if ch == "\r":
            col = 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
        i += 1
    return "".join(line).rstrip()


@pytest.mark.anyio
async def test_chat_continues_a_conversation_by_id() -> None:
    import anyio

    from copilot_anyio.emulator import serve_emulator

    async with serve_emulator() as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
        env.update(
            COPILOT_GITHUB_URL=emu.base_url,
            COPILOT_API_URL=emu.base_url,
            COPILOT_COOKIES="user_session=cli-user",
        )
        command = [sys.executable, "-m", "copilot_anyio", "chat"]
        with anyio.fail_after(60):
            first = await anyio.run_process([*command, "first"], env=env, check=False)
            hint = first.stderr.decode()
            thread_id = hint.rsplit("--conversation", 1)[1].strip(" )\n")
            second = await anyio.run_process(
                [*command, "--conversation", thread_id, "second"], env=env, check=False
            )
    assert first.returncode == 0, hint
    assert first.stdout.decode().strip() == reply_for("first")
    assert second.returncode == 0, second.stderr.decode()
    assert second.stdout.decode().strip() == reply_for("second", turn=2)


def test_chat_reads_the_prompt_from_stdin_and_prints_json() -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    done = subprocess.run(
        [sys.executable, "-m", "copilot_anyio", "chat", "--emulator", "--json", "-"],
        input="Explain SSE\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=base,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["choices"][0]["message"]["content"] == reply_for("Explain SSE")
    assert reply["usage"]["total_tokens"] > 0


def test_the_ide_flavour_is_the_default_and_web_picks_the_web_flavour() -> None:
    ide = _run("chat", "--emulator", "--json", "--system", "Be terse.", "hi")
    web = _run("chat", "--emulator", "--json", "--web", "hi")
    assert ide.returncode == 0, ide.stderr
    assert web.returncode == 0, web.stderr
    ide_reply, web_reply = json.loads(ide.stdout), json.loads(web.stdout)
    assert ide_reply["object"] == "chat.completion"  # /chat/completions answered
    assert ide_reply["model"]
    assert "thread_id" in web_reply  # a github.com thread answered
    assert web_reply["text"] == reply_for("hi")


def test_models_prints_a_table_of_the_catalogue() -> None:
    done = _run("models", "--emulator")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["id", "vendor", "endpoints", "context", "tools", "vision"]
    ids = [row.split()[0] for row in rows]
    assert "gpt-4.1" in ids
    codex = next(row for row in rows if row.startswith("gpt-5-codex"))
    assert "/responses" in codex
    assert "/chat/completions" not in codex


def test_models_json_is_the_catalogue_as_sent() -> None:
    done = _run("models", "--emulator", "--json")
    assert done.returncode == 0, done.stderr
    models = json.loads(done.stdout)
    assert {"id", "vendor"} <= set(models[0])
