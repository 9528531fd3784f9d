"""Where the client connects: hosts from arguments, then the environment, then defaults.

Pure: the environment is passed in as a mapping, so tests need not touch ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, final

__all__ = ["DEFAULT_API_URL", "DEFAULT_GITHUB_API_URL", "DEFAULT_GITHUB_URL", "Hosts"]

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
            github_url=_clean(github_url or env.get(ENV_GITHUB_URL) or DEFAULT_GITHUB_URL),
            github_api_url=_clean(
                github_api_url or env.get(ENV_GITHUB_API_URL) or DEFAULT_GITHUB_API_URL
            ),
            api_url=_clean(api_url or env.get(ENV_API_URL) or DEFAULT_API_URL),
        )


def _clean(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    return url
