"""The README's runnable examples run: unexecuted examples rot.

A Python block that serves the emulator is complete and self-contained, so it is run as written,
in a fresh interpreter. Blocks that need a real github.com account are only compiled.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests._backends import BACKENDS

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_every_python_block_compiles(block: str) -> None:
    # Fragments show the body of an async function, so top-level await is allowed.
    compile(block, "<README.md>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _complete_program(block: str) -> bool:
    """Compiles as a module (no top-level await): not a fragment of an async function."""
    try:
        compile(block, "<README.md>", "exec")
    except SyntaxError:
        return False
    return True


#: What talks to GitHub or Copilot: a block using one of these without serving the emulator
#: would need github.com and an account.
_TALKERS = ("CopilotClient", "GithubCopilot", "device_login")


def _needs_an_account(block: str) -> bool:
    """Talks to Copilot without serving the emulator: it would need github.com."""
    talks = any(name in block for name in _TALKERS)
    return talks and "serve_emulator" not in block


#: Every complete program that needs no account runs: those serving the emulator (the facade's
#: included) and those that talk to nothing (the SSE decoder's).
RUNNABLE = [b for b in BLOCKS if _complete_program(b) and not _needs_an_account(b)]


def test_the_runnable_examples_include_the_facade_and_the_decoder() -> None:
    assert any("GithubCopilot.create_async_generator" in b for b in RUNNABLE)
    assert any("SSEDecoder()" in b for b in RUNNABLE)
    assert sum("serve_emulator" in b for b in RUNNABLE) >= 3


def test_only_programs_that_need_an_account_are_left_unrun() -> None:
    # A complete program that is not run must be one that needs a real account: the
    # Quickstart (a signed-in client) and the sign-in itself.
    unrun = [b for b in BLOCKS if _complete_program(b) and b not in RUNNABLE]
    assert len(unrun) == 2
    assert "async with CopilotClient() as client" in unrun[0]
    assert "device_login(" in unrun[1]


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"runnable{i}" for i in range(len(RUNNABLE))])
def test_runnable_examples_run_as_written(block: str) -> None:
    if 'backend="trio"' in block and "trio" not in BACKENDS:
        pytest.skip("this run leaves trio out (COPILOT_ANYIO_BACKENDS)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", block],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_the_first_two_commands_are_the_demo_and_the_tests() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert first_block is not None
    lines = [line for line in first_block.group(1).splitlines() if line.strip()]
    assert lines[0].split("#")[0].strip().endswith("nox -s demo")
    assert lines[1].split("#")[0].strip().endswith("nox -s tests")


def test_the_install_lines_offer_the_trio_extra() -> None:
    text = README.read_text(encoding="utf-8")
    install = re.search(r"## Install\n\n```sh\n(.*?)```", text, re.S)
    assert install is not None
    commands = [line.split("#")[0].strip() for line in install.group(1).splitlines()]
    assert 'pip install "copilot-anyio[trio]"' in commands
    pyproject = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    assert [r for r in extras["trio"] if r.startswith("trio")]
    for command in commands:
        for extra in re.findall(r"\[([a-z,]+)\]", command):
            assert set(extra.split(",")) <= set(extras), command
