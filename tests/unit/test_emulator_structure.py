"""The emulator's modules form a layered graph: no import cycle, and handlers never see the
``Emulator`` object, only the ``EmulatorState`` it owns.

Two independent checks. The static one reads every ``import`` statement with :mod:`ast`
(including those under ``if TYPE_CHECKING:`` and inside functions, which a cycle can hide
behind) and looks for a cycle. The dynamic one imports each module first, in an interpreter
where neither package ``__init__`` has run, so a module that only works when something else was
imported before it fails there.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from copilot_anyio.emulator._http import Ctx

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "copilot_anyio" / "emulator"
PREFIX = "copilot_anyio.emulator"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))

#: The only modules allowed to know the ``Emulator`` class: it, its server, its command line
#: and the package's re-exports.
MAY_IMPORT_EMULATOR = frozenset({"__init__", "_emulator", "_server", "_cli"})


def internal_imports(path: Path, package: str) -> set[str]:
    """Sibling modules (stems) ``path`` imports anywhere in its body, however it spells it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                base = node.module or ""
            elif node.level == 0 and (node.module or "").startswith(package + "."):
                base = (node.module or "")[len(package) + 1 :]
            elif node.level == 0 and node.module == package:
                base = ""
            else:
                continue
            if base:
                found.add(base.split(".")[0])
            else:  # "from . import _x" / "from package import _x"
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(package + "."):
                    found.add(alias.name[len(package) + 1 :].split(".")[0])
    found.discard(path.stem)
    return found


def import_graph(directory: Path, package: str) -> dict[str, set[str]]:
    stems = {p.stem for p in directory.glob("*.py")}
    return {
        p.stem: internal_imports(p, package) & stems
        for p in sorted(directory.glob("*.py"))
        if p.stem != "__init__"  # it imports everything by design and nothing imports it
    }


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """A cycle ``[a, b, …, a]`` in ``graph`` (node → nodes it imports), or ``None``."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in on_path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle is not None:
            return cycle
    return None


def test_the_package_has_the_modules_this_test_reads() -> None:
    graph = import_graph(PACKAGE, PREFIX)
    assert {"_app", "_state", "_http", "_web", "_capi", "_chat", "_github"} <= set(graph)
    assert "_state" in graph["_http"]  # the reader does see real imports


def test_no_import_cycle_among_emulator_modules() -> None:
    assert find_cycle(import_graph(PACKAGE, PREFIX)) is None


def test_handlers_do_not_import_the_emulator() -> None:
    graph = import_graph(PACKAGE, PREFIX)
    importers = {module for module, targets in graph.items() if "_emulator" in targets}
    assert importers <= MAY_IMPORT_EMULATOR


def test_a_handler_context_carries_the_state_not_the_emulator() -> None:
    fields = {f.name: f.type for f in dataclasses.fields(Ctx)}
    assert fields["state"] == "EmulatorState"
    assert "Emulator" not in fields.values()
    assert "emu" not in fields


class TestTheCheckCanFail:
    def test_find_cycle_reports_a_cycle(self) -> None:
        assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
        assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None

    def test_a_cycle_behind_type_checking_and_a_function_is_seen(self, tmp_path: Path) -> None:
        (tmp_path / "__init__.py").write_text("")
        (tmp_path / "_one.py").write_text(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._two import X\n"
        )
        (tmp_path / "_two.py").write_text(
            "def f():\n    from pkg._one import Y\n    import pkg._three\n"
        )
        (tmp_path / "_three.py").write_text("from . import _one\nimport json\n")
        graph = import_graph(tmp_path, "pkg")
        assert graph == {"_one": {"_two"}, "_two": {"_one", "_three"}, "_three": {"_one"}}
        assert find_cycle(graph) == ["_one", "_two", "_one"]


_PROBE = """
import importlib, json, sys, types

def fresh(name, path):
    module = types.ModuleType(name)
    module.__path__ = [path]
    module.__file__ = None
    sys.modules[name] = module

failures = {}
for stem in sys.argv[3:]:
    for loaded in [m for m in sys.modules if m == "copilot_anyio" or m.startswith("copilot_anyio.")]:
        del sys.modules[loaded]
    fresh("copilot_anyio", sys.argv[1])
    fresh("copilot_anyio.emulator", sys.argv[2])
    try:
        importlib.import_module("copilot_anyio.emulator." + stem)
    except Exception as exc:
        failures[stem] = repr(exc)
print(json.dumps(failures))
"""


def test_each_module_imports_first_without_the_package_init() -> None:
    stems = [m for m in MODULES if m != "__init__"]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(PACKAGE.parent), str(PACKAGE), *stems],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


def _private_attribute_uses(path: Path) -> list[str]:
    """``obj._name`` uses in ``path`` where ``obj`` is not ``self`` or ``cls``."""
    return [
        f"{path.name}:{node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]


@pytest.mark.parametrize(
    "path",
    [
        *sorted(PACKAGE.glob("*.py")),
        *sorted(p for p in (ROOT / "tests").rglob("*.py") if "emulator" in p.name),
    ],
    ids=lambda p: p.name,
)
def test_no_private_attribute_of_another_object_is_used(path: Path) -> None:
    # Handlers go through EmulatorState's methods; tests go through Emulator, Stats and
    # emu.state. Nothing reaches into another object's underscored attributes.
    assert _private_attribute_uses(path) == []


def test_the_private_attribute_scan_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("emu._faults.pop('x')\nself._ok = 1\nexc.__context__ = None\n")
    assert _private_attribute_uses(sample) == ["sample.py:1: ._faults"]
