"""``copilot-anyio``: chat from the terminal, or run the bundled emulator.

copilot-anyio chat "Explain SSE in one sentence."        # with COPILOT_COOKIES(_FILE) set
copilot-anyio chat --emulator "Explain SSE"               # no account: the bundled emulator
copilot-anyio chat --conversation <thread id> "And then?" # continue a thread
copilot-anyio emulator --port 8080                        # serve the emulator standalone
copilot-anyio login                                       # sign in with a GitHub account
copilot-anyio login --emulator                            # try sign-in against the emulator
copilot-anyio logout                                      # forget the stored GitHub token
copilot-anyio --version
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import TextIO

import anyio

from . import __version__
from ._client import CopilotClient
from ._config import Hosts
from ._credentials import ENV_COOKIES, ENV_COOKIES_FILE
from ._errors import CopilotError, StreamError
from ._groups import collapse_exception_group
from ._login import LoginResult, _host_key, _store_location, device_login, logout
from .ide._device_flow import DeviceCode

__all__ = ["main"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: The account the in-process emulator is driven with (any non-empty cookie is an account there).
_EMULATOR_COOKIES = {"user_session": "copilot-anyio-demo"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-anyio", description="GitHub Copilot Chat from the terminal."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
    _add_account_commands(sub)
    return parser


def _add_account_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    login = sub.add_parser(
        "login",
        help="sign in with a GitHub account (device flow) and store the token",
        description="Shows a one-time code to enter on GitHub's device page, waits until it "
        "was entered, then stores the GitHub token (mode 0600) where the library looks for it: "
        "$COPILOT_ANYIO_CONFIG_DIR, else copilot-anyio/ in your user config directory.",
    )
    login.add_argument("--github-url", metavar="URL", help="another GitHub (default: github.com)")
    login.add_argument(
        "--emulator",
        action="store_true",
        help="sign in to the bundled Copilot emulator, started in-process; the token goes to a "
        "temporary store, never to yours",
    )
    login.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    logout_cmd = sub.add_parser("logout", help="forget the stored GitHub token of a host")
    logout_cmd.add_argument("--github-url", metavar="URL", help="default: github.com")


class _Spinner:
    """A spinner on stderr until the first token (a plain notice when stderr is not a TTY)."""

    def __init__(
        self,
        out: TextIO,
        *,
        label: str = "waiting for Copilot…",
        notice: str = "waiting for the first token…",
    ) -> None:
        self._out = out
        self._label = label
        self._notice = notice
        self._done = anyio.Event()
        self._drawn = False

    async def run(self) -> None:
        if not self._out.isatty():
            self._out.write(f"{self._notice}\n")
            self._out.flush()
            return
        for frame in itertools.cycle(_SPINNER):
            if self._done.is_set():
                break
            self._out.write(f"\r{frame} {self._label}")
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


async def _login(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    spinner = _Spinner(
        err, label="waiting for the code to be entered…", notice="waiting for the code…"
    )
    async with AsyncExitStack() as stack:
        github_url, github_api_url, store_path = args.github_url, None, None
        if args.emulator:
            from .emulator import EmulatorConfig, serve_emulator

            # Its device flow says "pending" once, then authorises: no one needs to type the code.
            config = EmulatorConfig(device_poll_script=("authorization_pending",))
            emu = await stack.enter_async_context(serve_emulator(config))
            github_url = github_api_url = emu.base_url
            scratch = await anyio.to_thread.run_sync(
                lambda: tempfile.mkdtemp(prefix="copilot-anyio-login-")
            )
            stack.push_async_callback(_remove_scratch, scratch)
            store_path = os.path.join(scratch, "credentials.json")
            err.write(f"(signing in to the bundled Copilot emulator at {emu.base_url})\n")
        try:
            async with anyio.create_task_group() as tg:

                def show(code: DeviceCode) -> None:
                    err.write(f"Open {code.verification_uri} and enter the code {code.user_code}\n")
                    err.flush()
                    tg.start_soon(spinner.run)

                try:
                    result = await device_login(
                        on_code=show,
                        github_url=github_url,
                        github_api_url=github_api_url,
                        store_path=store_path,
                    )
                finally:
                    spinner.stop()
        except BaseExceptionGroup as group:  # the spinner's group: report the real error
            single = collapse_exception_group(group)
            if single is None:
                raise
            raise single from None
        out.write(_signed_in(result) + "\n")
        if args.emulator:
            err.write("(the emulator's token went to a temporary store, removed now)\n")
    return 0


async def _remove_scratch(path: str) -> None:
    with anyio.CancelScope(shield=True):  # even after Ctrl-C: it holds a (throwaway) token
        await anyio.to_thread.run_sync(partial(shutil.rmtree, path, ignore_errors=True))


def _signed_in(result: LoginResult) -> str:
    who = f" as {result.user}" if result.user else ""
    return f"Signed in to {result.host}{who}; the token is stored in {result.stored_at}"


async def _logout(args: argparse.Namespace) -> int:
    host = _host_key(Hosts.resolve(os.environ, github_url=args.github_url).github_url)
    path = _store_location(None, os.environ)
    if await logout(github_url=args.github_url):
        sys.stdout.write(f"Signed out of {host}: its token was removed from {path}\n")
        sys.stderr.write(
            "(GitHub still honours the token until you revoke it: Settings → Applications → "
            "Authorized GitHub Apps)\n"
        )
    else:
        sys.stdout.write(f"No token for {host} in {path}; nothing to do\n")
    return 0


def _account_command(args: argparse.Namespace) -> int:
    """``login`` and ``logout``: their own errors, so a failed sign-in reads as one."""
    try:
        if args.command == "login":
            return anyio.run(_login, args, backend=args.backend)
        return anyio.run(_logout, args)
    except CopilotError as exc:
        sys.stderr.write(f"\nerror: {type(exc).__name__}: {exc}\n")
        return 1
    except OSError as exc:
        sys.stderr.write(f"\nerror: the token store: {exc.strerror or exc} ({exc.filename})\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("\nsign-in cancelled\n" if args.command == "login" else "\n")
        return 130


def _has_credentials(args: argparse.Namespace) -> bool:
    return bool(
        args.emulator
        or args.cookies_file
        or os.environ.get(ENV_COOKIES)
        or os.environ.get(ENV_COOKIES_FILE)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``copilot-anyio`` command; returns the exit status."""
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["emulator"]:
        from .emulator._cli import main as emulator_main

        return emulator_main(raw[1:])
    args = _parser().parse_args(raw)
    if args.command in ("login", "logout"):
        return _account_command(args)
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
