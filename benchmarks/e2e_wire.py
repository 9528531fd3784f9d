"""What the end-to-end benchmark's server and clients agree on, without any I/O.

Every conversation ``i`` sends the prompt ``prompt(i)`` and receives ``k`` text deltas,
``piece(i, 0)`` … ``piece(i, k - 1)``, so each client can check the whole text it received
against ``expected_text(i, k)``. Pieces are drawn from a small vocabulary that mixes prose,
code and non-ASCII text, a few bytes to a few dozen each, as Copilot's deltas are.

The request builders here (headers and bodies) are what every peer sends, shaped like
copilot-anyio's own requests (web threads, and the IDE flavour's ``/chat/completions``), so that
no client is cheaper for sending less.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, Final

__all__ = [
    "COMPLETIONS_PATH",
    "CONTROL_ARM",
    "CONTROL_RELEASE",
    "CONTROL_STATS",
    "GITHUB_TOKEN",
    "IDE_TOKEN_PATH",
    "MODEL",
    "MODELS_PATH",
    "PIECES",
    "ROUTES",
    "THREADS_PATH",
    "WEB_TOKEN_PATH",
    "api_headers",
    "completions_body",
    "completions_headers",
    "conversation_of",
    "expected_text",
    "ide_headers",
    "ide_token",
    "ide_token_headers",
    "message_body",
    "message_path",
    "model_entry",
    "piece",
    "piece_index",
    "prompt",
    "web_token_headers",
]

WEB_TOKEN_PATH: Final = "/github-copilot/chat/token"
THREADS_PATH: Final = "/github/chat/threads"
IDE_TOKEN_PATH: Final = "/copilot_internal/v2/token"
COMPLETIONS_PATH: Final = "/chat/completions"
MODELS_PATH: Final = "/models"
#: The two routes the benchmark measures: the web flavour's thread messages, the IDE flavour's
#: ``/chat/completions`` (protocol.md §2.4, §3.5).
ROUTES: Final = ("web", "ide")
#: The GitHub token every IDE client exchanges (the server takes any ``ghu_`` token).
GITHUB_TOKEN: Final = "ghu_bench0123456789abcdefghijklmnopqrstuv"
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
    """The Copilot-API headers of an IDE ``/chat/completions`` call besides Authorization and
    the per-request ``X-Request-Id`` (protocol.md §3.4, §10.4)."""
    return {
        "Copilot-Integration-Id": "vscode-chat",
        "Editor-Version": "vscode/1.104.3",
        "Editor-Plugin-Version": "copilot-chat/0.26.7",
        "User-Agent": "GitHubCopilotChat/0.26.7",
        "X-GitHub-Api-Version": "2025-05-01",
        "Openai-Intent": "conversation-panel",
        "X-Initiator": "user",
    }


def ide_token_headers() -> dict[str, str]:
    """Headers of the token exchange, ``GET /copilot_internal/v2/token`` (§3.2.1)."""
    return {
        "Authorization": f"token {GITHUB_TOKEN}",
        "Accept": "application/json",
        "Copilot-Integration-Id": "vscode-chat",
        "Editor-Version": "vscode/1.104.3",
        "Editor-Plugin-Version": "copilot-chat/0.26.7",
        "User-Agent": "GitHubCopilotChat/0.26.7",
    }


def completions_headers(token: str) -> dict[str, str]:
    """A streaming ``/chat/completions`` POST's headers, a fresh ``X-Request-Id`` included."""
    headers = ide_headers()
    headers["Authorization"] = f"Bearer {token}"
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "text/event-stream"
    headers["X-Request-Id"] = str(uuid.uuid4())
    return headers


def completions_body(i: int) -> dict[str, Any]:
    """The streaming ``/chat/completions`` body of conversation ``i``, as copilot-anyio sends it."""
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": prompt(i)}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def model_entry() -> dict[str, Any]:
    """The one ``/models`` entry the benchmark's model needs to be routed (§3.6)."""
    return {
        "id": MODEL,
        "name": "GPT-4o",
        "object": "model",
        "vendor": "Azure OpenAI",
        "version": "gpt-4o-2024-11-20",
        "preview": False,
        "model_picker_enabled": True,
        "model_picker_category": "versatile",
        "is_chat_default": True,
        "is_chat_fallback": False,
        "billing": {"is_premium": False, "multiplier": 0},
        "policy": {"state": "enabled", "terms": "Enable access to GPT-4o."},
        "supported_endpoints": [COMPLETIONS_PATH],
        "capabilities": {
            "type": "chat",
            "family": "gpt-4o",
            "object": "model_capabilities",
            "tokenizer": "o200k_base",
            "limits": {
                "max_context_window_tokens": 128000,
                "max_output_tokens": 4096,
                "max_prompt_tokens": 64000,
            },
            "supports": {"streaming": True, "tool_calls": True, "parallel_tool_calls": True},
        },
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


def ide_token(token_envelope: Any) -> tuple[str, str]:
    """(Copilot token, API base URL) out of the token exchange's reply."""
    return token_envelope["token"], token_envelope["endpoints"]["api"]


def encode_json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
