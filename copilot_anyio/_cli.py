"""``copilot-anyio``: chat from the terminal, list models, or run the bundled emulator.

copilot-anyio chat "Explain SSE in one sentence."        # a GitHub token (or cookies) found
copilot-anyio chat --emulator "Explain SSE"               # no account: the bundled emulator
copilot-anyio chat --model gpt-4.1 --system "Be terse." - # the prompt from stdin
copilot-anyio chat --web --conversation <id> "And then?"  # the web flavour, continue a thread
copilot-anyio chat --usage "Hi"                           # then tokens, credits, timing (stderr)
copilot-anyio models                                      # the account's models, as a table
copilot-anyio quota                                       # plan and quotas, with bars
copilot-anyio emulator --port 8080                        # serve the emulator standalone
copilot-anyio login                                       # sign in with a GitHub account
copilot-anyio login --emulator                            # try sign-in against the emulator
copilot-anyio logout                                      # forget the stored GitHub token
copilot-anyio --version
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from . import __version__
from ._client import CopilotClient
from ._config import Hosts
from ._credentials import NoCredentialsError
from ._errors import CopilotError, StreamError
from ._groups import task_group
from ._login import LoginResult, _store_location, device_login, logout
from .ide._credentials import store_host_key
from .ide._device_flow import DeviceCode
from .ide._types import ChatCompletion
from .ide._usage import CopilotUser, QuotaSnapshot, usage_record

if TYPE_CHECKING:
    from ._stream import StreamTiming
    from .emulator import EmulatorConfig

__all__ = ["main"]

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: The IDE flavour's model when none is named.
DEFAULT_IDE_MODEL = "gpt-4.1"
#: The account the in-process emulator is driven with (any non-empty cookie is an account there).
_EMULATOR_COOKIES = {"user_session": "copilot-anyio-demo"}
#: Width of a quota bar, in characters.
_BAR_WIDTH = 20
#: Quotas in the order ``quota`` lists them (others follow, sorted).
_QUOTA_ORDER = ("premium_interactions", "chat", "completions", "session", "weekly")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-anyio", description="GitHub Copilot Chat from the terminal."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
        "--usage",
        action="store_true",
        help="after the answer, print its tokens, AI credits and timing (to stderr)",
    )
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
    quota = sub.add_parser(
        "quota",
        help="the plan and what is left of each quota, with bars and reset times",
        description="Reads copilot_internal/user with the GitHub token (IDE flavour): the "
        "plan, then one row per quota (premium requests or AI credits, chat, completions, the "
        "5-hour session and weekly windows) with the percentage left and when it resets.",
    )
    _emulator_option(quota)
    quota.add_argument("--json", action="store_true", help="print the reply as sent")
    quota.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    emu = sub.add_parser("emulator", help="serve the bundled Copilot emulator", add_help=False)
    emu.add_argument("rest", nargs=argparse.REMAINDER)
    _add_account_commands(sub)
    return parser


def _emulator_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against the bundled Copilot emulator, started in-process (no account needed)",
    )


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
        async with CopilotClient(cookies_file=getattr(args, "cookies_file", None)) as client:
            yield client
        return
    from .emulator import serve_emulator

    async with serve_emulator(_emulator_config()) as emu:
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


def _emulator_config() -> EmulatorConfig:
    """The in-process emulator of ``--emulator``: billed in AI credits, and with session and
    weekly windows partly used, so ``quota`` and ``chat --usage`` have something to show."""
    from .emulator import EmulatorConfig

    return EmulatorConfig(copilot_usage=True, usage_windows={"session": 72.5, "weekly": 88.0})


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
        async with task_group() as tg:  # the spinner's: errors come out bare
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
        if args.json:
            out.write(json.dumps(_as_json(reply), ensure_ascii=False, indent=2))
        out.write("\n")
        if args.usage:
            out.flush()
            err.write(_usage_line(reply, stream.timing) + "\n")
        if args.emulator:
            err.write("(the in-process emulator forgets its conversations when the command ends)\n")
        elif not use_ide:
            err.write(f"(continue this conversation with --conversation {reply.thread_id})\n")
    return 0


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _usage_line(reply: Any, timing: StreamTiming) -> str:
    """``chat --usage``: the answer's tokens, its cost in AI credits, and how it arrived."""
    if isinstance(reply, ChatCompletion):
        record = usage_record(reply)
        tokens = (
            f"{record.prompt_tokens} prompt + {record.completion_tokens} completion tokens "
            f"= {record.total_tokens}"
        )
        extra = [
            f"{count} {name}"
            for count, name in (
                (record.cached_tokens, "cached"),
                (record.reasoning_tokens, "reasoning"),
            )
            if count
        ]
        if extra:
            tokens += f" ({', '.join(extra)})"
        credits = (
            "AI credits not reported"
            if record.credits is None
            else f"{record.credits:.4f} AI credits"
        )
    else:
        tokens, credits = "tokens not reported (web flavour)", "AI credits not reported"
    return (
        f"usage: {tokens}; {credits}; first token after {_seconds(timing.time_to_first_token)}, "
        f"between tokens p50 {_seconds(timing.inter_token_p50)}, "
        f"p95 {_seconds(timing.inter_token_p95)}"
    )


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


async def _quota(args: argparse.Namespace) -> int:
    async with _client_for(args) as client:
        user = await client.quota()
    if args.json:
        sys.stdout.write(json.dumps(dict(user.raw), indent=2) + "\n")
    else:
        sys.stdout.write(format_quota(user, now=time.time()))
    return 0


def _bar(percent: float | None) -> str:
    """``[#########-----------]``: the share left, in plain text."""
    if percent is None:
        return "[" + "?" * _BAR_WIDTH + "]"
    filled = round(_BAR_WIDTH * min(max(percent, 0.0), 100.0) / 100.0)
    return "[" + "#" * filled + "-" * (_BAR_WIDTH - filled) + "]"


def _amount(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def _reset(snapshot: QuotaSnapshot, now: float) -> str:
    if snapshot.resets_at is None:
        return snapshot.reset_date or "-"
    moment = datetime.fromtimestamp(snapshot.resets_at, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = snapshot.resets_at - now
    if left <= 0:
        return moment
    days, rest = divmod(int(left), 86400)
    hours, rest = divmod(rest, 3600)
    span = f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
    return f"{moment} (in {span})"


def _quota_row(snapshot: QuotaSnapshot, now: float) -> tuple[str, str, str, str]:
    if snapshot.unlimited:
        return snapshot.quota_id, "[" + "#" * _BAR_WIDTH + "] unlimited", "-", _reset(snapshot, now)
    percent = snapshot.percent_remaining
    shown = "?" if percent is None else f"{percent:.1f} %"
    left = (
        f"{_amount(snapshot.remaining)} of {_amount(snapshot.entitlement)}"
        if snapshot.remaining is not None and snapshot.entitlement
        else "-"
    )
    return snapshot.quota_id, f"{_bar(percent)} {shown:>7}", left, _reset(snapshot, now)


def format_quota(user: CopilotUser, *, now: float) -> str:
    """``copilot-anyio quota``'s table: the plan, then one row per quota with a bar for the
    percentage left, the count left when known, and the reset time (UTC, and how far off)."""
    who = f" as {user.login}" if user.login else ""
    plan = user.plan or "unknown plan"
    sku = f" ({user.sku})" if user.sku else ""
    billing = "; billed in AI credits" if user.token_based_billing else ""
    lines = [f"Copilot {plan}{sku}{who}{billing}"]
    order = {quota_id: i for i, quota_id in enumerate(_QUOTA_ORDER)}
    snapshots = sorted(
        user.quotas.values(), key=lambda s: (order.get(s.quota_id, len(order)), s.quota_id)
    )
    if not snapshots:
        return lines[0] + "\n(no quota snapshots in the reply)\n"
    rows = [("quota", "left", "remaining", "resets")]
    rows += [_quota_row(snapshot, now) for snapshot in snapshots]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    return "\n".join(lines) + "\n"


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
        async with task_group() as tg:  # the spinner's: errors come out bare

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
    host = store_host_key(Hosts.resolve(os.environ, github_url=args.github_url).github_url)
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
    if args.command in ("login", "logout"):
        return _account_command(args)
    if getattr(args, "backend", None) == "trio" and not _trio_importable():
        sys.stderr.write(
            'copilot-anyio: --backend trio needs trio: pip install "copilot-anyio[trio]"\n'
        )
        return 2
    command = {"models": _models, "quota": _quota}.get(args.command, _chat)
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
