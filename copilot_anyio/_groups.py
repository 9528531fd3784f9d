"""Exception-group policy: a single error reaches the caller bare, never wrapped in a group.

A task group reports its failures as a ``BaseExceptionGroup``, even a lone one. Callers of
copilot-anyio write ``except RateLimitError``; so wherever the library owns a task group, a
group with exactly one real error (cancellations are only its echo) is re-raised as that error,
and an exception raised by the caller's own code inside the block is re-raised unchanged (with
any internal failures attached as ``__context__``). Several real errors stay a group.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

__all__ = ["collapse_exception_group", "task_group"]


def collapse_exception_group(group: BaseExceptionGroup[Any]) -> BaseException | None:
    """The one real error of a task-group failure, or None when there is not exactly one.

    Cancellation exceptions are not "real" here: they are the echo of the real error cancelling
    its siblings. With several real errors the group itself must be kept.
    """
    cancelled = anyio.get_cancelled_exc_class()
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        elif not isinstance(exc, cancelled):
            leaves.append(exc)
    return leaves[0] if len(leaves) == 1 else None


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    """A task group whose body's exception and whose single failure come out bare.

    When the body ends (however it ends), the group's tasks are cancelled: they are the body's
    helpers (token refresh, stream readers), not work that should outlive it.
    """
    user_exc: BaseException | None = None
    try:
        async with anyio.create_task_group() as tg:
            try:
                yield tg
            except anyio.get_cancelled_exc_class():
                raise
            except BaseException as exc:
                user_exc = exc  # kept out of the group: re-raised below as raised
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if user_exc is not None:
            user_exc.__context__ = group  # internal failures ride along as context
            raise user_exc  # noqa: B904
        single = collapse_exception_group(group)
        if single is None:
            raise
        raise single from None
    if user_exc is not None:
        raise user_exc
