"""Serving the emulator on a loopback socket under trio or asyncio."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from hypercorn.config import Config

from .._groups import collapse_exception_group
from ._config import EmulatorConfig
from ._emulator import Emulator

_log = logging.getLogger("copilot_anyio.emulator")
#: Seconds to wait for Hypercorn's graceful shutdown before cancelling it outright.
_SHUTDOWN_GRACE = 2.0
#: Listen backlog: room for thousands of simultaneous connects (the kernel caps it at its own
#: maximum, ``net.core.somaxconn``). With 128, a burst of 1,000 clients saw resets.
DEFAULT_BACKLOG = 4096


def _running_under_trio() -> bool:
    try:
        import sniffio
    except ImportError:  # trio depends on sniffio, so without it the loop is asyncio
        return False
    return sniffio.current_async_library() == "trio"


async def _hypercorn_serve(
    app: Any, config: Config, shutdown_trigger: Callable[[], Awaitable[None]]
) -> None:
    """Run Hypercorn on whichever event loop is running: the package's one backend branch."""
    if _running_under_trio():
        from hypercorn.trio import serve as trio_serve

        await trio_serve(app, config, shutdown_trigger=shutdown_trigger)
    else:
        from hypercorn.asyncio import serve as asyncio_serve

        await asyncio_serve(app, config, shutdown_trigger=shutdown_trigger)


def _listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


@asynccontextmanager
async def serve_emulator(
    config: EmulatorConfig | None = None,
    *,
    emulator: Emulator | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    backlog: int = DEFAULT_BACKLOG,
) -> AsyncIterator[Emulator]:
    """Serve an emulator on ``host:port`` (port 0: the OS picks one) for the ``async with`` block.

    The listening socket is bound before the block starts, so ``emulator.base_url`` is usable at
    once; Hypercorn runs in a task of the caller's event loop (trio or asyncio). Leaving the block
    cancels streams still being written (they count as aborted) and requests still being handled
    (answered 503 if the client is still there), closes connections and the socket. Clients that
    leave early are logged at debug level on the ``copilot_anyio.emulator`` logger, never as
    errors.

    Args:
        config: Settings for a new emulator (ignored when ``emulator`` is given, unless that
            emulator should adopt it: then it replaces ``emulator.config``).
        emulator: Serve this instance (keeps its state across several serves).
        host: Interface to bind; keep the loopback default in tests.
        port: TCP port; 0 for an OS-chosen free port.
        backlog: Pending connections the socket queues before the server accepts them (capped
            by the kernel's maximum). The default suits thousands of simultaneous connects.

    Yields:
        The served :class:`Emulator`, with ``base_url`` set.

    Raises:
        OSError: the address could not be bound. An error raised in the block propagates bare
        (not wrapped in an exception group).
        ValueError: ``backlog`` is below 1.
    """
    emu = emulator if emulator is not None else Emulator(config)
    if emulator is not None and config is not None:
        emu.config = config
    if backlog < 1:
        raise ValueError("backlog must be at least 1")
    sock = _listening_socket(host, port, backlog)
    bound_host, bound_port = sock.getsockname()[:2]
    url_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    hc_config = Config()
    # Hypercorn adopts a duplicate descriptor (and closes it); we close the original below.
    hc_config.bind = [f"fd://{os.dup(sock.fileno())}"]
    hc_config.backlog = backlog  # Hypercorn calls listen() again, with its own default of 100
    hc_config.accesslog = None
    hc_config.errorlog = _log
    hc_config.graceful_timeout = 1.0
    hc_config.keep_alive_timeout = 30.0
    hc_config.include_server_header = False
    shutdown = anyio.Event()
    stopped = anyio.Event()
    server_scope = anyio.CancelScope(shield=True)

    async def run_server() -> None:
        # Shielded: Hypercorn's own graceful shutdown (via the trigger) must run even when the
        # caller's scope is cancelled; a hard cancel of this scope is only the fallback.
        try:
            with server_scope:
                await _hypercorn_serve(emu.app, hc_config, shutdown.wait)
        finally:
            stopped.set()

    user_exc: BaseException | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_server)
            emu.state.stopping = False
            emu.base_url = f"http://{url_host}:{bound_port}"
            try:
                yield emu
            except anyio.get_cancelled_exc_class():
                raise
            except BaseException as exc:
                # Users write `with pytest.raises(X): async with serve_emulator(): ...`: their
                # exception stays out of the task group and is re-raised exactly as raised
                # (its own cause, context and, for a group, its shape).
                user_exc = exc
            finally:
                emu.state.stop()
                shutdown.set()
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(_SHUTDOWN_GRACE):
                        await stopped.wait()
                    server_scope.cancel()
                emu.base_url = ""
    except BaseExceptionGroup as group:
        if user_exc is not None:
            user_exc.__context__ = group  # the server's own failure rides along as context
            raise user_exc  # noqa: B904
        leaf = collapse_exception_group(group)
        if leaf is None:
            raise
        context, suppress = leaf.__context__, leaf.__suppress_context__
        try:
            raise leaf
        finally:
            leaf.__context__, leaf.__suppress_context__ = context, suppress
    finally:
        sock.close()
    if user_exc is not None:
        raise user_exc
