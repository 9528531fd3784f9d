"""The pure layer imports no event loop and no HTTP client, not even transitively.

Ruff's banned-api rule sees only a module's own import statements; this test imports each pure
module in a fresh interpreter and looks at everything that came with it. The package's
``__init__`` imports the client (and so anyio and httpx), so the subprocess first installs a
bare stand-in for ``copilot_anyio`` whose ``__path__`` is the package directory: importing
``copilot_anyio._sse`` then runs ``_sse.py`` and whatever it imports, and nothing else.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "copilot_anyio"

#: Modules that must stay importable without any I/O library. The first two always exist;
#: the others are skipped until they do.
PURE_MODULES = (
    "copilot_anyio._sse",
    "copilot_anyio._errors",
    "copilot_anyio._models",
    "copilot_anyio.web._wire",
    "copilot_anyio._lenient",
    "copilot_anyio._retry",
    "copilot_anyio._status",
    "copilot_anyio._http",
    "copilot_anyio._auth",
    "copilot_anyio._config",
    "copilot_anyio._cookies",
    "copilot_anyio.ide._types",
    "copilot_anyio.ide._accumulate",
    "copilot_anyio.ide._versions",
    "copilot_anyio.ide._validate",
    "copilot_anyio.ide._wire",
    "copilot_anyio.ide._catalogue",
    "copilot_anyio.ide._device_flow",
    "copilot_anyio.ide._token",
    "copilot_anyio.ide._credentials",
    "copilot_anyio.ide._responses",
    "copilot_anyio.ide._messages",
    "copilot_anyio.ide._usage",
    "copilot_anyio.ide._repair",
)
REQUIRED = frozenset(PURE_MODULES)

#: Top-level packages a pure module must not pull in. The standard library modules the pure
#: layer needs (dataclasses, re, json, codecs, typing, ...) import none of them.
BANNED = ("anyio", "httpx", "httpcore", "trio", "asyncio", "sniffio", "h11")

_PROBE = """
import json, sys, types
package = types.ModuleType("copilot_anyio")
package.__path__ = [sys.argv[1]]
package.__file__ = None
sys.modules["copilot_anyio"] = package
__import__(sys.argv[2])
loaded = sorted(sys.modules)
print(json.dumps({"loaded": loaded, "stand_in": sys.modules["copilot_anyio"] is package}))
"""


def _module_file(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    return PACKAGE_DIR / relative.with_suffix(".py")


def _import_in_fresh_interpreter(module: str) -> tuple[list[str], bool]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, str(PACKAGE_DIR), module],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    return list(report["loaded"]), bool(report["stand_in"])


def _banned(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name.split(".")[0] in BANNED]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_no_io_library(module: str) -> None:
    path = _module_file(module)
    if not path.is_file():
        if module in REQUIRED:
            pytest.fail(f"{path} is missing")
        pytest.skip(f"{module} does not exist yet")
    loaded, stand_in_kept = _import_in_fresh_interpreter(module)
    assert module in loaded
    # The stand-in must still be the package: the real __init__ never ran.
    assert stand_in_kept
    assert _banned(loaded) == []


def test_the_probe_detects_a_banned_import() -> None:
    # The check above must be able to fail: importing the real package loads anyio and httpx.
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, copilot_anyio; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout)
    assert "anyio" in _banned(loaded)
    assert "httpx" in _banned(loaded)


def test_the_standard_library_alone_loads_nothing_banned() -> None:
    # The baseline: a bare interpreter (with site-packages) starts without any of them, so
    # anything found above came from the module under test.
    completed = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert _banned(json.loads(completed.stdout)) == []


def _modules_importing(top: str) -> list[str]:
    found = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(name.split(".")[0] == top for name in names):
                found.append(path.relative_to(PACKAGE_DIR).as_posix())
                break
    return found


def test_exactly_one_module_imports_httpx() -> None:
    # The transport seam: everything above it deals in copilot_anyio._http values.
    assert _modules_importing("httpx") == ["_transport/_httpx.py"]


def test_the_import_scan_sees_imports() -> None:
    assert "_transport/_base.py" in _modules_importing("anyio")
