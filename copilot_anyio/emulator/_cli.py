"""``copilot-anyio emulator``: run the Copilot emulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

import anyio

from ._config import EmulatorConfig
from ._server import serve_emulator

_SEPARATORS = {"lf": "\n", "lflf": "\n\n", "crlf": "\r\n"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="copilot-anyio emulator",
        description="Serve a local GitHub Copilot look-alike (web threads and IDE flavours).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free port)")
    parser.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop to run on"
    )
    parser.add_argument(
        "--pacing", type=float, default=0.0, help="seconds between streamed writes (default 0)"
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        help="re-chunk streamed bytes into writes of N bytes",
    )
    parser.add_argument(
        "--line-separator",
        choices=tuple(_SEPARATORS),
        default="lflf",
        help="SSE framing: lf (single LF), lflf (blank line, default) or crlf",
    )
    parser.add_argument(
        "--token-ttl", type=int, default=1800, help="Copilot token lifetime in seconds"
    )
    parser.add_argument(
        "--strict-web-headers",
        action="store_true",
        help="require the browser headers on the web-token endpoint",
    )
    return parser


def _banner(base_url: str) -> str:
    return f"""copilot-anyio emulator listening on {base_url}

Point copilot-anyio at it:
  export COPILOT_GITHUB_URL={base_url}
  export COPILOT_GITHUB_API_URL={base_url}
  export COPILOT_API_URL={base_url}
  web flavour: any cookie header with a user_session, e.g. COPILOT_COOKIES='user_session=demo'
  IDE flavour: any fake user token such as ghu_{"x" * 36}

Or the openai SDK (after GET {base_url}/copilot_internal/v2/token with
"Authorization: token ghu_…" gives you a Copilot token):
  openai.AsyncOpenAI(base_url="{base_url}", api_key=<copilot token>,
      default_headers={{"Editor-Version": "vscode/1.104.3", "Copilot-Integration-Id": "vscode-chat"}})

Press Ctrl-C to stop.
"""


async def _serve(args: argparse.Namespace) -> None:
    config = EmulatorConfig(
        pacing=args.pacing,
        chunk_size=args.chunk_size,
        line_separator=_SEPARATORS[args.line_separator],
        copilot_token_ttl=args.token_ttl,
        copilot_refresh_in=max(1, args.token_ttl - 300),
        strict_web_headers=args.strict_web_headers,
    )
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with serve_emulator(config, host=args.host, port=args.port) as emu:
            sys.stdout.write(_banner(emu.base_url))
            sys.stdout.flush()
            async for _ in signals:
                break
    sys.stdout.write("emulator stopped\n")
    sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM; returns the exit status (0 on a clean stop)."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        anyio.run(_serve, args, backend=args.backend)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        sys.stderr.write(f"cannot serve on {args.host}:{args.port}: {exc}\n")
        return 1
    return 0
