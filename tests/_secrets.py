"""Finding secrets where they must not be: exception chains, log records and reprs.

Tests plant distinctive canary values (cookies, tokens) and then ask ``leaks`` whether any of
them shows up in what a user could see or log: the ``str``, ``repr`` and ``args`` of an
exception and of everything reachable from it (``__cause__``, ``__context__``, ``__notes__``,
the members of an exception group, and the attributes the library sets on its errors).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator

__all__ = ["chain", "exception_texts", "leaks", "record_texts"]


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable from it, each once."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)


def exception_texts(error: BaseException) -> Iterator[str]:
    """Every text a user could get out of ``error`` and its chain."""
    for current in chain(error):
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield from (str(arg) for arg in current.args)
        yield from (str(note) for note in getattr(current, "__notes__", ()))
        # What the library sets on its errors (headers, body, code, …), by value.
        yield from (repr(value) for value in getattr(current, "__dict__", {}).values())
        # The formatted exception as logging or a crash report would print it (no locals).
        yield "".join(traceback.format_exception_only(current))


def record_texts(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    """Every text of captured log records: the formatted message, its arguments, any
    exception it carries (and that exception's chain)."""
    for record in records:
        yield record.getMessage()
        yield repr(record.args)
        yield str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            yield from exception_texts(record.exc_info[1])
        if record.exc_text:
            yield record.exc_text


def leaks(texts: Iterable[str], canaries: Iterable[str]) -> list[tuple[str, str]]:
    """``(canary, text)`` for each canary found in one of ``texts`` (empty: no leak)."""
    wanted = [c for c in canaries if c]
    found: list[tuple[str, str]] = []
    for text in texts:
        found.extend((c, text[:300]) for c in wanted if c in text)
    return found
