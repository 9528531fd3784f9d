"""What the ``GithubCopilot`` facade costs next to a ``CopilotClient``: N conversations at once.

Each run is a fresh process (``--child``) that starts the bundled emulator in-process, then runs
N conversations started together through one ``CopilotClient`` and N through the facade, on one
backend after the other; the order of backends is rotated between processes, because the first
backend in a process pays the one-time costs (the TLS context, imports). Prints wall times and
the facade/client ratio per backend and order.

    python -m benchmarks facade [--n 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import aclosing
from typing import Any

import anyio

N_DEFAULT = 1000
ALICE = {"user_session": "bench-session"}


async def _client_round(base_url: str, n: int) -> float:
    from copilot_anyio import CopilotClient, Limits

    started = time.perf_counter()
    async with CopilotClient(
        cookies=ALICE,
        github_url=base_url,
        github_api_url=base_url,
        api_url=base_url,
        limits=Limits(max_concurrent_requests=n),
        env={},
    ) as client:

        async def one(i: int) -> None:
            async with client.threads.stream(f"client {i}") as stream:
                await stream.final()

        async with anyio.create_task_group() as tg:
            for i in range(n):
                tg.start_soon(one, i)
    return time.perf_counter() - started


async def _facade_round(base_url: str, n: int) -> float:
    from copilot_anyio import GithubCopilot

    started = time.perf_counter()

    async def one(i: int) -> None:
        messages = [{"role": "user", "content": f"facade {i}"}]
        async with aclosing(
            GithubCopilot.create_async_generator(
                "gpt-4o",
                messages,
                stream=True,
                cookies=ALICE,
                github_url=base_url,
                api_url=base_url,
            )
        ) as pieces:
            async for _ in pieces:
                pass

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return time.perf_counter() - started


async def _measure(n: int) -> dict[str, float]:
    from copilot_anyio.emulator import EmulatorConfig, serve_emulator

    async with serve_emulator(EmulatorConfig(pacing=0.0)) as emu:
        facade = await _facade_round(emu.base_url, n)
        client = await _client_round(emu.base_url, n)
    return {"facade_s": facade, "client_s": client, "ratio": facade / client}


def _child(order: list[str], n: int) -> None:
    results = {}
    for backend in order:
        results[backend] = anyio.run(_measure, n, backend=backend)
    print(json.dumps(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks facade")
    parser.add_argument("--n", type=int, default=N_DEFAULT)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n)
        return 0
    print(f"{args.n} conversations started together, facade vs one CopilotClient (wall time)")
    print(f"{'order':<16} {'backend':<8} {'facade s':>9} {'client s':>9} {'ratio':>6}")
    worst = 0.0
    for order in (["asyncio", "trio"], ["trio", "asyncio"]):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks", "facade", "--n", str(args.n), "--child", *order],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results: dict[str, dict[str, Any]] = json.loads(out.strip().splitlines()[-1])
        for backend in order:
            r = results[backend]
            worst = max(worst, r["ratio"])
            label = " then ".join(order)
            print(
                f"{label:<16} {backend:<8} {r['facade_s']:>9.2f} {r['client_s']:>9.2f} "
                f"{r['ratio']:>6.2f}"
            )
    print(f"worst facade/client ratio: {worst:.2f}")
    return 0
