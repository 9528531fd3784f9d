"""The version pins every IDE-flavour request carries, in one overridable place.

Copilot's API checks who is calling by headers, not by the token alone (protocol.md §3.4):
``Copilot-Integration-Id`` (which must match the one used at the token exchange, or CAPI answers
401 "unable to validate HMAC"), ``Editor-Version`` (missing → 400), ``Editor-Plugin-Version``,
``User-Agent`` and ``X-GitHub-Api-Version``. Retired values get **466** ("the specified API
version is no longer supported", §10.1), so the pins live here, and nowhere else, and a caller
can replace any of them without waiting for a release::

    versions = IdeVersions(api_version="2026-08-01", editor_version="vscode/1.137.0")

The library never switches pins by itself: a 466 surfaces as ``ClientVersionUnsupportedError``
naming the values sent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final, final

from .._errors import UsageError

__all__ = ["DEFAULT_VERSIONS", "IdeVersions"]


@final
@dataclass(frozen=True, slots=True)
class IdeVersions:
    """Version and identity headers of the IDE flavour.

    Attributes:
        api_version: ``X-GitHub-Api-Version`` on Copilot API calls.
        exchange_api_version: ``X-GitHub-Api-Version`` on the token exchange and user endpoints
            (api.github.com keeps its own dated versions).
        editor_version: ``Editor-Version``, ``<editor>/<version>``.
        editor_plugin_version: ``Editor-Plugin-Version``, ``<plugin>/<version>``.
        user_agent: ``User-Agent``.
        integration_id: ``Copilot-Integration-Id``; sent on the exchange and on every call.
    """

    api_version: str = "2026-06-01"
    exchange_api_version: str = "2025-04-01"
    editor_version: str = "vscode/1.104.3"
    editor_plugin_version: str = "copilot-chat/0.50.1"
    user_agent: str = "GitHubCopilotChat/0.50.1"
    integration_id: str = "vscode-chat"

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"IdeVersions.{field.name}: must be a non-empty string")
            if any(c in value for c in "\r\n\x00"):
                # A header value with a line break would smuggle another header.
                raise UsageError(f"IdeVersions.{field.name}: must not contain line breaks")

    def capi_headers(self) -> dict[str, str]:
        """The identity headers of every Copilot API call."""
        return {
            "Copilot-Integration-Id": self.integration_id,
            "Editor-Version": self.editor_version,
            "Editor-Plugin-Version": self.editor_plugin_version,
            "User-Agent": self.user_agent,
            "X-GitHub-Api-Version": self.api_version,
        }

    def github_headers(self) -> dict[str, str]:
        """The headers of api.github.com calls (token exchange, user): the same integration id,
        so the Copilot token is minted for the integration that will use it (§3.2.1)."""
        return {
            "Copilot-Integration-Id": self.integration_id,
            "Editor-Version": self.editor_version,
            "Editor-Plugin-Version": self.editor_plugin_version,
            "User-Agent": self.user_agent,
            "X-GitHub-Api-Version": self.exchange_api_version,
        }


#: The pins this release was tested with.
DEFAULT_VERSIONS: Final = IdeVersions()
