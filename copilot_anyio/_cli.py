"""``copilot-anyio``: chat from the terminal, or run the bundled emulator.

copilot-anyio chat "Explain SSE in one sentence."        # with COPILOT_COOKIES(_FILE) set
copilot-anyio chat --emulator "Explain SSE"               # no account: the bundled emulator
copilot-anyio chat --conversation <thread id> "And then?" # continue a thread
copilot-anyio emulator --port 8080                        # serve the emulator standalone
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TextIO

import anyio

from ._client import CopilotClient
from ._credentials import ENV_COOKIES, ENV_COOKIES_FILE
from ._errors import CopilotError, StreamError
from ._groups import collapse_exception_group

__all__ = ["main"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: The account the in-process emulator is driven with (any non-empty cookie is an account there).
_EMULATOR_COOKIES = {"user_session": "copilot-anyio-demo"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-anyio", description="GitHub Copilot Chat from the terminal."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="ask a question and stream the answer")
    chat.add_argument("prompt", nargs="+", help="the question")
    chat.add_argument("--model", default=None, help="the model (default: gpt-4o)")
    chat.add_argument("--conversation", metavar="ID", help="continue this thread")
    chat.add_argument("--cookies-file", metavar="PATH", help="a Netscape cookies.txt export")
    chat.add_argument(
        "--emulator",
        action="store_true",
        help="run against the bundled Copilot emulator, started in-process (no account needed)",
    )
    chat.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    emu = sub.add_parser("emulator", help="serve the bundled Copilot emulator", add_help=False)
    emu.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


class _Spinner:
    """A spinner on stderr until the first token (a plain notice when stderr is not a TTY)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._done = anyio.Event()
        self._drawn = False

    async def run(self) -> None:
        if not self._out.isatty():
            self._out.write("waiting for the first token…\n")
            self._out.flush()
            return
        for frame in itertools.cycle(_SPINNER):
            if self._done.is_set():
                break
            self._out.write(f"\r{frame} waiting for Copilot…")
            self._out.flush()
            self._drawn = True
            with anyio.move_on_after(0.08):
                await self._done.wait()

    def stop(self) -> None:
        # Erase synchronously, before the caller prints the first token on the same line.
        if not self._done.is_set():
            self._done.set()
            if self._drawn:
                self._out.write("\r\x1b[K")
                self._out.flush()


@asynccontextmanager
async def _client_for(args: argparse.Namespace) -> AsyncIterator[CopilotClient]:
    if not args.emulator:
        async with CopilotClient(cookies_file=args.cookies_file) as client:
            yield client
        return
    from .emulator import serve_emulator

    async with (
        serve_emulator() as emu,
        CopilotClient(
            cookies=_EMULATOR_COOKIES,
            github_url=emu.base_url,
            github_api_url=emu.base_url,
            api_url=emu.base_url,
        ) as client,
    ):
        yield client


async def _chat(args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt)
    out, err = sys.stdout, sys.stderr
    async with _client_for(args) as client:
        if args.emulator:
            err.write(f"(answering from the bundled Copilot emulator at {client.hosts.api_url})\n")
        thread = (
            await client.resume_thread(args.conversation, model=args.model)
            if args.conversation
            else client.thread(model=args.model)
        )
        spinner = _Spinner(err)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(spinner.run)
                try:
                    async with thread.stream(prompt) as stream:
                        async for text in stream.text_deltas():
                            spinner.stop()
                            out.write(text)
                            out.flush()
                        result = await stream.final()
                finally:
                    spinner.stop()
        except BaseExceptionGroup as group:  # the spinner's group: report the real error
            single = collapse_exception_group(group)
            if single is None:
                raise
            raise single from None
        out.write("\n")
        if args.emulator:
            err.write("(the in-process emulator forgets its conversations when the command ends)\n")
        else:
            err.write(f"(continue this conversation with --conversation {result.thread_id})\n")
    return 0


def _has_credentials(args: argparse.Namespace) -> bool:
    return bool(
        args.emulator
        or args.cookies_file
        or os.environ.get(ENV_COOKIES)
        or os.environ.get(ENV_COOKIES_FILE)
    )


def _trio_importable() -> bool:
    try:
        importlib.import_module("trio")
    except ImportError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``copilot-anyio`` command; returns the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["emulator"]:
        from .emulator._cli import main as emulator_main

        return emulator_main(raw[1:])
    args = _parser().parse_args(raw)
    if args.backend == "trio" and not _trio_importable():
        sys.stderr.write(
            'copilot-anyio: --backend trio needs trio: pip install "copilot-anyio[trio]"\n'
        )
        return 2
    if not _has_credentials(args):
        sys.stderr.write(
            "No Copilot credentials found: set COPILOT_COOKIES (a github.com Cookie header) or "
            "COPILOT_COOKIES_FILE (a cookies.txt export), or pass --cookies-file.\n"
            "To try copilot-anyio without an account, add --emulator to answer from the "
            "bundled Copilot emulator.\n"
        )
        return 2
    try:
        return anyio.run(_chat, args, backend=args.backend)
    except StreamError as exc:
        sys.stdout.write("\n")
        sys.stderr.write(f"error: {exc} ({len(exc.partial_text)} characters arrived)\n")
        return 1
    except CopilotError as exc:
        sys.stderr.write(f"error: {type(exc).__name__}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
