"""Benchmarks for copilot-anyio, run with ``python -m benchmarks`` (or ``nox -s bench``).

They are never part of the test run and never asserted: they print figures and ratios.
"""

from __future__ import annotations
