"""Test-wide configuration: both AnyIO backends, and a loud failure if trio silently did not run."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest
from hypothesis import HealthCheck, settings

from tests._backends import BACKENDS

# A short profile for the regular run and a long one for `nox -s fuzz`.
settings.register_profile("default", max_examples=200, deadline=None)
settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: ``COPILOT_ANYIO_BACKENDS=asyncio`` narrows the run (``nox -s tests_asyncio_only``); by default
#: every async test runs on both backends and trio is required.
_BACKENDS = BACKENDS
_passed_by_backend: dict[str, int] = {"asyncio": 0, "trio": 0}


@pytest.fixture(params=[pytest.param(b, id=b) for b in _BACKENDS])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test once per backend (explicitly, not the plugin default)."""
    return str(request.param)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    callspec = getattr(item, "callspec", None)
    if report.when == "call" and report.passed and callspec is not None:
        backend = callspec.params.get("anyio_backend")
        if backend in _passed_by_backend:
            _passed_by_backend[backend] += 1
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when async tests passed on asyncio but none ran on trio."""
    if "trio" not in _BACKENDS or exitstatus != 0:
        return
    if _passed_by_backend["asyncio"] and not _passed_by_backend["trio"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                "ERROR: async tests passed on asyncio but none passed on trio; "
                "is trio installed? (set COPILOT_ANYIO_BACKENDS=asyncio to narrow on purpose)",
                red=True,
            )
