"""Client settings: where it connects (hosts from arguments, then the environment, then
defaults), its network timeouts and its concurrency limits.

Pure: the environment is passed in as a mapping, so tests need not touch ``os.environ``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, final

from ._checks import http_url, number, whole_number

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_GITHUB_API_URL",
    "DEFAULT_GITHUB_URL",
    "Hosts",
    "Limits",
    "Timeouts",
]

DEFAULT_GITHUB_URL: Final = "https://github.com"
DEFAULT_GITHUB_API_URL: Final = "https://api.github.com"
#: The Copilot API host of the web flavour (Free/Pro/Pro+; Business uses api.business…).
DEFAULT_API_URL: Final = "https://api.individual.githubcopilot.com"

ENV_GITHUB_URL: Final = "COPILOT_GITHUB_URL"
ENV_GITHUB_API_URL: Final = "COPILOT_GITHUB_API_URL"
ENV_API_URL: Final = "COPILOT_API_URL"


@final
@dataclass(frozen=True, slots=True)
class Hosts:
    """The three base URLs (no trailing slash): github.com, its REST API, the Copilot API.

    The bundled emulator serves all three on one base URL, so pointing every one of them (or the
    three ``COPILOT_*_URL`` environment variables) at it runs any code against it unchanged.
    """

    github_url: str = DEFAULT_GITHUB_URL
    github_api_url: str = DEFAULT_GITHUB_API_URL
    api_url: str = DEFAULT_API_URL

    @property
    def uses_tls(self) -> bool:
        """Does any of the three hosts speak https (and so need a TLS context)?"""
        return any(
            url.startswith("https:") for url in (self.github_url, self.github_api_url, self.api_url)
        )

    @classmethod
    def resolve(
        cls,
        env: Mapping[str, str],
        *,
        github_url: str | None = None,
        github_api_url: str | None = None,
        api_url: str | None = None,
    ) -> Hosts:
        """Explicit arguments win, then ``COPILOT_GITHUB_URL`` / ``COPILOT_GITHUB_API_URL`` /
        ``COPILOT_API_URL``, then the public GitHub hosts."""
        return cls(
            github_url=_pick("github_url", github_url, env, ENV_GITHUB_URL, DEFAULT_GITHUB_URL),
            github_api_url=_pick(
                "github_api_url", github_api_url, env, ENV_GITHUB_API_URL, DEFAULT_GITHUB_API_URL
            ),
            api_url=_pick("api_url", api_url, env, ENV_API_URL, DEFAULT_API_URL),
        )


def _pick(name: str, given: str | None, env: Mapping[str, str], var: str, default: str) -> str:
    """The first of argument, environment variable and default, checked as an http(s) URL; a
    bad one is a UsageError naming where it came from."""
    if given is not None:
        return http_url(given, name)
    if env.get(var):
        return http_url(env[var], f"the environment variable {var}")
    return default


@final
@dataclass(frozen=True, slots=True)
class Timeouts:
    """Timeouts for the network phases of one request, in seconds.

    None of them is a deadline for a whole request or a whole stream: streams legitimately pause
    for minutes while a model reasons. For an overall deadline wrap the call in
    ``anyio.fail_after()`` (or ``move_on_after()``) yourself.

    Attributes:
        connect: establishing the TCP/TLS connection (``ConnectTimeout``).
        first_byte: from sending the request until the response headers (``ReadTimeout``).
        idle: the longest gap between two events of a stream (``StreamStalledError``). Keep-alive
            comments do not reset it: a server that only says ":" for this long has stalled.
        write: sending the request body (``WriteError``).
        pool: waiting for a free connection (``PoolTimeout``).
    """

    connect: float = 10.0
    first_byte: float = 60.0
    idle: float = 120.0
    write: float = 30.0
    pool: float = math.inf

    def __post_init__(self) -> None:
        # Positive seconds; math.inf turns a phase's timeout off.
        for name in ("connect", "first_byte", "idle", "write", "pool"):
            number(getattr(self, name), f"Timeouts.{name}", allow_inf=True)


@final
@dataclass(frozen=True, slots=True)
class Limits:
    """Concurrency limits of a client.

    Attributes:
        max_concurrent_requests: requests (streams included) in flight at once per account; the
            excess waits its turn in FIFO order. The HTTP connection pool is sized to match.
        stream_buffer: deprecated and ignored (a DeprecationWarning when given): a stream is
            read in the task that iterates it, so nothing is read ahead of the consumer and
            backpressure is TCP's own.
        max_ai_credits: a spend cap (IDE flavour): once the client's metered cost in AI
            credits reaches it, new requests fail before sending with SpendCapReachedError;
            requests in flight finish. None (the default): no cap.
    """

    max_concurrent_requests: int = 100
    stream_buffer: int | None = None
    max_ai_credits: float | None = None

    def __post_init__(self) -> None:
        whole_number(self.max_concurrent_requests, "Limits.max_concurrent_requests", minimum=1)
        if self.stream_buffer is not None:
            whole_number(self.stream_buffer, "Limits.stream_buffer", minimum=0)
            warnings.warn(
                "Limits.stream_buffer is ignored: a stream is read in the task that iterates "
                "it, and nothing is read ahead (leave it out)",
                DeprecationWarning,
                stacklevel=3,
            )
        if self.max_ai_credits is not None:
            number(self.max_ai_credits, "Limits.max_ai_credits", allow_zero=True)
