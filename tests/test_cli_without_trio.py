"""``copilot-anyio chat --backend trio`` without trio installed: a one-line hint, no traceback.

The command runs in a fresh interpreter in which ``import trio`` fails, as it does where trio
is not installed: a meta-path finder ahead of the others refuses it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WITHOUT_TRIO = """
import os, sys

class _NoTrio:
    def find_spec(self, name, path=None, target=None):
        if name == "trio" or name.startswith("trio."):
            raise ModuleNotFoundError("No module named 'trio'", name="trio")
        return None

if os.environ.get("HIDE_TRIO"):
    sys.meta_path.insert(0, _NoTrio())
from copilot_anyio._cli import main
sys.exit(main(sys.argv[1:]))
"""


def _chat(*args: str, hide_trio: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["HIDE_TRIO"] = "1" if hide_trio else ""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", _WITHOUT_TRIO, "chat", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        cwd=ROOT,
    )


def test_without_trio_the_trio_backend_is_a_one_line_hint() -> None:
    done = _chat("--backend", "trio", "--emulator", "hello", hide_trio=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert 'pip install "copilot-anyio[trio]"' in lines[0]
    assert done.stdout == ""


def test_without_trio_asyncio_still_answers() -> None:
    done = _chat("--emulator", "hello", hide_trio=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_with_trio_the_trio_backend_answers() -> None:
    done = _chat("--backend", "trio", "--emulator", "hello", hide_trio=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
