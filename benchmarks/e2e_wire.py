"""What the end-to-end benchmark's server and clients agree on, without any I/O.

Every conversation ``i`` sends the prompt ``prompt(i)`` and receives ``k`` text deltas,
``piece(i, 0)`` … ``piece(i, k - 1)``, so each client can check the whole text it received
against ``expected_text(i, k)``. Pieces are drawn from a small vocabulary that mixes prose,
code and non-ASCII text, a few bytes to a few dozen each, as Copilot's deltas are.

The request builders here (headers and bodies) are what every peer sends, shaped like
copilot-anyio's own web-flavour requests, so that no client is cheaper for sending less.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Final

__all__ = [
    "CONTROL_ARM",
    "CONTROL_RELEASE",
    "CONTROL_STATS",
    "IDE_TOKEN_PATH",
    "MODEL",
    "PIECES",
    "THREADS_PATH",
    "WEB_TOKEN_PATH",
    "api_headers",
    "conversation_of",
    "expected_text",
    "ide_headers",
    "message_body",
    "message_path",
    "piece",
    "piece_index",
    "prompt",
    "web_token_headers",
]

WEB_TOKEN_PATH: Final = "/github-copilot/chat/token"
THREADS_PATH: Final = "/github/chat/threads"
IDE_TOKEN_PATH: Final = "/copilot_internal/v2/token"
COMPLETIONS_PATH: Final = "/chat/completions"
#: The benchmark's own control routes: hold streams after their first event, let them go,
#: and report the server's CPU time and counters.
CONTROL_ARM: Final = "/_bench/arm"
CONTROL_RELEASE: Final = "/_bench/release"
CONTROL_STATS: Final = "/_bench/stats"

MODEL: Final = "gpt-4o"

PIECES: Final[tuple[str, ...]] = (
    "The ",
    "server ",
    "sends ",
    "events ",
    "one ",
    "line ",
    "at a time",
    ", ",
    "and ",
    "the client ",
    "`async for chunk in stream`",
    " reads ",
    "them: ",
    "café ",
    "naïve ",
    "→ ",
    "日本語の",
    "テキスト",
    "\n\n```python\n",
    "print(x)\n```\n",
    "data ",
    "arrives ",
    "in ",
    "pieces ",
    "of a few tokens",
    ". ",
    '"quoted" ',
    "tab\there ",
    "emoji 🙂 ",
    "back\\slash ",
    "end.",
    " Ünïcödé ",
)

_PROMPT_RE: Final = re.compile(rb"bench conversation (\d+)")


def prompt(i: int) -> str:
    """The prompt of conversation ``i``; the server reads ``i`` back from it."""
    return f"bench conversation {i}: explain server-sent events"


def conversation_of(body: bytes) -> int:
    """The conversation index named in a request body (-1 if there is none)."""
    match = _PROMPT_RE.search(body)
    return int(match.group(1)) if match else -1


def piece_index(i: int, j: int) -> int:
    return (i * 31 + j * 17 + (i * j) % 7) % len(PIECES)


def piece(i: int, j: int) -> str:
    """The ``j``-th text delta of conversation ``i``."""
    return PIECES[piece_index(i, j)]


def expected_text(i: int, k: int) -> str:
    return "".join(piece(i, j) for j in range(k))


_BROWSER_UA: Final = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def web_token_headers(base_url: str) -> dict[str, str]:
    """Headers of ``POST /github-copilot/chat/token`` (the cookie is added by the caller)."""
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "GitHub-Verified-Fetch": "true",
        "X-Requested-With": "XMLHttpRequest",
        "Origin": base_url,
        "Referer": f"{base_url}/copilot",
        "User-Agent": _BROWSER_UA,
        "Cookie": "user_session=bench",
    }


def api_headers(token: str, base_url: str, *, stream: bool = False) -> dict[str, str]:
    """Headers of the thread and message POSTs."""
    return {
        "Authorization": f"GitHub-Bearer {token}",
        "Accept": "text/event-stream" if stream else "application/json",
        "Content-Type": "application/json",
        "Copilot-Integration-Id": "copilot-chat",
        "Origin": base_url,
        "User-Agent": _BROWSER_UA,
    }


def ide_headers() -> dict[str, str]:
    """The Copilot-API headers of an IDE ``/chat/completions`` call (besides Authorization)."""
    return {
        "Copilot-Integration-Id": "vscode-chat",
        "Editor-Version": "vscode/1.104.3",
        "Editor-Plugin-Version": "copilot-chat/0.26.7",
        "Openai-Intent": "conversation-panel",
    }


def message_path(thread_id: str) -> str:
    return f"{THREADS_PATH}/{thread_id}/messages"


def message_body(base_url: str, thread_id: str, i: int) -> dict[str, Any]:
    """The streaming message POST's body, as the browser (and copilot-anyio) send it."""
    return {
        "content": prompt(i),
        "intent": "conversation",
        "references": [],
        "context": [],
        "confirmations": [],
        "customInstructions": [],
        "tools": [],
        "streaming": True,
        "currentURL": f"{base_url}/copilot/c/{thread_id}",
        "model": MODEL,
        "mode": "immersive",
        "customCopilotID": None,
        "parentMessageID": "root",
        "responseMessageID": str(uuid.uuid4()),
    }


def encode_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
