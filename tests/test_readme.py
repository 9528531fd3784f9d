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


RUNNABLE = [b for b in BLOCKS if "serve_emulator" in b and "anyio.run(" in b]


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"emulator{i}" for i in range(len(RUNNABLE))])
def test_emulator_examples_run_as_written(block: str) -> None:
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
