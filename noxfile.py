"""Developer sessions: ``nox -s tests lint typecheck fuzz bench demo``."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _install(session: nox.Session, *groups: str, extras: str = "") -> None:
    session.install("--upgrade", "pip")
    session.install("-e", f".{extras}")
    for group in groups:
        session.install(*_group(group))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, every async test on asyncio and on trio."""
    _install(session, "test", extras="[emulator]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def tests_asyncio_only(session: nox.Session) -> None:
    """The suite without trio installed: proves the library does not need it."""
    _install(session, "test", extras="[emulator]")
    session.run("python", "-m", "pip", "uninstall", "-y", "trio")
    session.run(
        "python", "-m", "pytest", *session.posargs, env={"COPILOT_ANYIO_BACKENDS": "asyncio"}
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """The property tests under a long Hypothesis profile."""
    _install(session, "test")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/properties",
        "-o",
        "timeout=0",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "fuzz"},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package and the tests."""
    _install(session, "typecheck", extras="[emulator]")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers, side by side in one run; prints ratios, writes JSON.

    ``nox -s bench`` decodes SSE; ``nox -s bench -- e2e --quick`` streams 1,000 concurrent
    conversations end to end (about two minutes); ``nox -s bench -- e2e`` runs N = 1,000, 5,000
    and 10,000 with three repetitions.
    """
    _install(session, "bench", extras="[emulator]")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The README's first command: stream an answer (from the bundled emulator without credentials)."""
    _install(session, extras="[emulator]")
    args = session.posargs or ["Explain server-sent events in one sentence."]
    session.run("copilot-anyio", "chat", "--emulator", *args)
