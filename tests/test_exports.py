"""The public surface: ``__all__`` is exactly the public namespace, every error is exported
under the package's name, and the package ships its type information."""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path

import copilot_anyio
from copilot_anyio import _errors

PACKAGE_DIR = Path(copilot_anyio.__file__).parent


def _isort_style_key(name: str) -> tuple[int, list[int | str]]:
    """The order ruff's RUF022 keeps ``__all__`` in: SCREAMING_SNAKE_CASE constants, then
    CamelCase classes, then everything else, each group in natural order."""
    if name.upper() == name and any(c.isalpha() for c in name):
        group = 0
    elif name[:1].isupper():
        group = 1
    else:
        group = 2
    natural: list[int | str] = [
        int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)
    ]
    return group, natural


def _public_namespace() -> set[str]:
    names = set()
    for name, value in vars(copilot_anyio).items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            # Subpackages (``copilot_anyio.emulator``) become attributes once imported.
            continue
        if value is annotations:
            # ``from __future__ import annotations`` binds this feature flag, not an export.
            continue
        names.add(name)
    return names


def _exception_classes_in_errors_module() -> dict[str, type[BaseException]]:
    """Every public exception class *defined* in ``_errors.py`` (not merely imported there).

    ``__module__`` cannot tell: the module rewrites it to ``copilot_anyio``. The source can.
    """
    tree = ast.parse(Path(_errors.__file__).read_text(encoding="utf-8"))
    found: dict[str, type[BaseException]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            cls = getattr(_errors, node.name)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found[node.name] = cls
    return found


def test_all_is_the_public_namespace() -> None:
    assert set(copilot_anyio.__all__) == _public_namespace()


def test_all_has_no_duplicates() -> None:
    assert len(copilot_anyio.__all__) == len(set(copilot_anyio.__all__))


def test_all_is_sorted() -> None:
    assert copilot_anyio.__all__ == sorted(copilot_anyio.__all__, key=_isort_style_key)


def test_every_name_in_all_exists() -> None:
    missing = [name for name in copilot_anyio.__all__ if not hasattr(copilot_anyio, name)]
    assert missing == []


def test_errors_module_defines_exceptions() -> None:
    # Guards the tests below against passing vacuously if the source scan breaks.
    classes = _exception_classes_in_errors_module()
    assert "CopilotError" in classes
    assert "EventTooLarge" in classes


def test_every_error_is_exported() -> None:
    for name, cls in _exception_classes_in_errors_module().items():
        assert name in copilot_anyio.__all__, name
        assert getattr(copilot_anyio, name) is cls, name


def test_every_error_reports_the_package_as_its_module() -> None:
    for name, cls in _exception_classes_in_errors_module().items():
        assert cls.__module__ == "copilot_anyio", name


def test_every_exported_error_comes_from_the_errors_module() -> None:
    defined = set(_exception_classes_in_errors_module().values())
    for name in copilot_anyio.__all__:
        value = getattr(copilot_anyio, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value in defined, name


def test_py_typed_is_shipped() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()
