"""``copilot-anyio``: chat from the terminal, list models, or run the bundled emulator.

copilot-anyio chat "Explain SSE in one sentence."        # a GitHub token (or cookies) found
copilot-anyio chat --emulator "Explain SSE"               # no account: the bundled emulator
copilot-anyio chat --model gpt-4.1 --system "Be terse." - # the prompt from stdin
copilot-anyio chat --web --conversation <id> "And then?"  # the web flavour, continue a thread
copilot-anyio models                                      # the account's models, as a table
copilot-anyio emulator --port 8080                        # serve the emulator standalone
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TextIO

import anyio

from ._client import CopilotClient
from ._credentials import NoCredentialsError
from ._errors import CopilotError, StreamError
from ._groups import collapse_exception_group

__all__ = ["main"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: The IDE flavour's model when none is named.
DEFAULT_IDE_MODEL = "gpt-4.1"
#: The account the in-process emulator is driven with (any non-empty cookie is an account there).
_EMULATOR_COOKIES = {"user_session": "copilot-anyio-demo"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-anyio", description="GitHub Copilot Chat from the terminal."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="ask a question and stream the answer")
    chat.add_argument("prompt", nargs="+", help="the question ('-' reads it from stdin)")
    chat.add_argument(
        "--model",
        default=None,
        help=f"the model (default: {DEFAULT_IDE_MODEL}; gpt-4o on the web flavour)",
    )
    chat.add_argument("--system", metavar="TEXT", help="a system prompt (IDE flavour)")
    chat.add_argument("--json", action="store_true", help="print the whole reply as JSON")
    chat.add_argument(
        "--web",
        action="store_true",
        help="use the github.com web flavour (cookies) even when a GitHub token is found",
    )
    chat.add_argument("--conversation", metavar="ID", help="continue this thread (web flavour)")
    chat.add_argument("--cookies-file", metavar="PATH", help="a Netscape cookies.txt export")
    _emulator_option(chat)
    chat.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    models = sub.add_parser("models", help="list the models the account may use")
    _emulator_option(models)
    models.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    models.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    emu = sub.add_parser("emulator", help="serve the bundled Copilot emulator", add_help=False)
    emu.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def _emulator_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against the bundled Copilot emulator, started in-process (no account needed)",
    )


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
        async with CopilotClient(cookies_file=getattr(args, "cookies_file", None)) as client:
            yield client
        return
    from .emulator import serve_emulator

    async with serve_emulator() as emu:
        # The emulator's accounts: a signed-in editor's GitHub token, and a browser session.
        client = CopilotClient(
            github_token=emu.state.issue_user_token(),
            cookies=_EMULATOR_COOKIES,
            github_url=emu.base_url,
            github_api_url=emu.base_url,
            api_url=emu.base_url,
            env={},
        )
        async with client:
            yield client


def _prompt(args: argparse.Namespace) -> str:
    if args.prompt == ["-"]:
        return sys.stdin.read().strip()
    return " ".join(args.prompt)


async def _chat(args: argparse.Namespace) -> int:
    prompt = _prompt(args)
    out, err = sys.stdout, sys.stderr
    async with _client_for(args) as client:
        if args.emulator:
            err.write(f"(answering from the bundled Copilot emulator at {client.hosts.api_url})\n")
        use_ide = "ide" in client.flavours and not (args.web or args.conversation)
        spinner = _Spinner(err)
        reply: Any
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(spinner.run)
                try:
                    if use_ide:
                        messages = [{"role": "user", "content": prompt}]
                        if args.system:
                            messages.insert(0, {"role": "system", "content": args.system})
                        stream: Any = client.chat.completions.stream(
                            model=args.model or DEFAULT_IDE_MODEL, messages=messages
                        )
                    else:
                        thread = (
                            await client.threads.resume(args.conversation, model=args.model)
                            if args.conversation
                            else client.threads(model=args.model)
                        )
                        stream = thread.stream(prompt)
                    async with stream:
                        async for text in stream.text_deltas():
                            spinner.stop()
                            if not args.json:
                                out.write(text)
                                out.flush()
                        reply = await stream.final()
                finally:
                    spinner.stop()
        except BaseExceptionGroup as group:  # the spinner's group: report the real error
            single = collapse_exception_group(group)
            if single is None:
                raise
            raise single from None
        if args.json:
            out.write(json.dumps(_as_json(reply), ensure_ascii=False, indent=2))
        out.write("\n")
        if args.emulator:
            err.write("(the in-process emulator forgets its conversations when the command ends)\n")
        elif not use_ide:
            err.write(f"(continue this conversation with --conversation {reply.thread_id})\n")
    return 0


def _as_json(reply: Any) -> Any:
    if hasattr(reply, "to_dict"):
        return reply.to_dict()
    return {name: getattr(reply, name) for name in reply.__slots__}


async def _models(args: argparse.Namespace) -> int:
    async with _client_for(args) as client:
        models = await client.models.list()
    if args.json:
        sys.stdout.write(json.dumps([m.raw for m in models], indent=2) + "\n")
        return 0
    rows = [("id", "vendor", "endpoints", "context", "tools", "vision")]
    rows += [
        (
            model.id,
            model.vendor,
            " ".join(model.endpoints) or "-",
            f"{model.limits.max_context_window_tokens:,}"
            if model.limits.max_context_window_tokens
            else "-",
            "yes" if model.supports.tool_calls else "-",
            "yes" if model.supports.vision else "-",
        )
        for model in models
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        sys.stdout.write("\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``copilot-anyio`` command; returns the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["emulator"]:
        from .emulator._cli import main as emulator_main

        return emulator_main(raw[1:])
    args = _parser().parse_args(raw)
    command = _models if args.command == "models" else _chat
    try:
        return anyio.run(command, args, backend=args.backend)
    except NoCredentialsError as exc:
        sys.stderr.write(
            f"No Copilot credentials found. {exc}\n"
            "To try copilot-anyio without an account, add --emulator to answer from the "
            "bundled Copilot emulator.\n"
        )
        return 2
    except StreamError as exc:
        sys.stdout.write("\n")
        sys.stderr.write(f"error: {exc} ({len(exc.partial_text)} characters arrived)\n")
        return 1
    except CopilotError as exc:
        sys.stderr.write(f"error: {type(exc).__name__}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
