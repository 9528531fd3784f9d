"""Run-time settings of the emulator: one mutable dataclass, read on every request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: github.com cookies that must never reach the API host (protocol.md §2.1).
GITHUB_COOKIE_NAMES: frozenset[str] = frozenset(
    {"user_session", "__Host-user_session_same_site", "logged_in", "dotcom_user", "_gh_sess"}
)

#: ``Copilot-Integration-Id`` values CAPI knows (protocol.md §3.4).
DEFAULT_INTEGRATION_IDS: frozenset[str] = frozenset(
    {
        "vscode-chat",
        "copilot-chat",
        "copilot-developer-cli",
        "copilot-language-server",
        "jetbrains-chat",
        "copilot-anyio",
    }
)


def default_models() -> list[dict[str, Any]]:
    """The default ``/models`` catalogue (protocol.md §3.6).

    One well-formed entry of each kind a client must handle: a default chat model, a model
    without ``supported_endpoints``, a dated duplicate, a model gated by policy, two
    Responses-only models (one also listing ``ws:/responses``), a model listing ``ws:/responses``
    and an unknown future endpoint, and an embeddings model. A malformed entry is a fault a test
    scripts (:meth:`Fault.malformed_model`), never part of what a plain listing shows.
    """

    def chat(
        model_id: str,
        *,
        vendor: str,
        version: str,
        endpoints: list[str] | None,
        default: bool = False,
        policy: str | None = None,
        premium: bool = False,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": model_id,
            "name": model_id.upper(),
            "object": "model",
            "vendor": vendor,
            "version": version,
            "preview": False,
            "model_picker_enabled": True,
            "model_picker_category": "versatile",
            "is_chat_default": default,
            "is_chat_fallback": default,
            "billing": {"is_premium": premium, "multiplier": 1 if premium else 0},
            "capabilities": {
                "type": "chat",
                "family": model_id,
                "object": "model_capabilities",
                "tokenizer": "o200k_base",
                "limits": {
                    "max_context_window_tokens": 128000,
                    "max_output_tokens": 16384,
                    "max_prompt_tokens": 64000,
                },
                "supports": {
                    "streaming": True,
                    "tool_calls": True,
                    "parallel_tool_calls": True,
                    "vision": False,
                },
            },
        }
        if endpoints is not None:
            entry["supported_endpoints"] = endpoints
        if policy is not None:
            entry["policy"] = {"state": policy, "terms": "Enable access to this model."}
        return entry

    return [
        chat(
            "gpt-4.1",
            vendor="Azure OpenAI",
            version="gpt-4.1-2025-04-14",
            endpoints=["/chat/completions", "/responses"],
            default=True,
        ),
        chat("gpt-4o", vendor="Azure OpenAI", version="gpt-4o-2024-11-20", endpoints=None),
        chat(
            "gpt-4o-2024-11-20",
            vendor="Azure OpenAI",
            version="gpt-4o-2024-11-20",
            endpoints=["/chat/completions"],
        ),
        chat(
            "claude-sonnet-4.5",
            vendor="Anthropic",
            version="claude-sonnet-4.5",
            endpoints=["/chat/completions", "/v1/messages"],
            policy="unconfigured",
            premium=True,
        ),
        chat(
            "gpt-5-codex",
            vendor="OpenAI",
            version="gpt-5-codex",
            endpoints=["/responses"],
            premium=True,
        ),
        chat(
            "gpt-5.4",
            vendor="OpenAI",
            version="gpt-5.4",
            endpoints=["/responses", "ws:/responses"],
            premium=True,
        ),
        chat(
            "gpt-5-mini",
            vendor="Azure OpenAI",
            version="gpt-5-mini",
            endpoints=["/chat/completions", "/responses", "ws:/responses", "/v2/completions"],
        ),
        {
            "id": "text-embedding-3-small",
            "name": "Embedding V3 small",
            "object": "model",
            "vendor": "Azure OpenAI",
            "version": "text-embedding-3-small",
            "preview": False,
            "model_picker_enabled": False,
            "is_chat_default": False,
            "is_chat_fallback": False,
            "capabilities": {
                "type": "embeddings",
                "family": "text-embedding-3-small",
                "object": "model_capabilities",
                "tokenizer": "cl100k_base",
                "limits": {"max_inputs": 512},
                "supports": {"dimensions": True},
            },
        },
    ]


def default_quotas() -> dict[str, int]:
    """Entitlements per quota id for ``/copilot_internal/user``; ``-1`` means unlimited."""
    return {"chat": 50, "completions": 2000, "premium_interactions": 300}


@dataclass
class EmulatorConfig:
    """Every switch of the emulator. Mutable: a test may change it between requests.

    Credentials: with ``accounts`` left ``None`` any non-empty ``user_session`` cookie and any
    well-formed ``ghu_``/``gho_`` token is an account (its login is derived from a hash of the
    credential). Give ``accounts`` (credential → login) to accept only those credentials.
    """

    accounts: dict[str, str] | None = None
    """Credential (``user_session`` value or GitHub user token) → login; ``None`` accepts any."""

    # -- tokens ----------------------------------------------------------------------------
    web_token_ttl: float = 1800.0
    """Seconds an issued web token is valid."""
    copilot_token_ttl: int = 1800
    """``expires_at`` of a Copilot token = issue time + this."""
    copilot_refresh_in: int = 1500
    """``refresh_in`` in the token envelope."""
    copilot_token_valid_for: float | None = None
    """Seconds the emulator accepts a Copilot token; ``None`` = ``copilot_token_ttl``. Set it apart
    from the TTL to send an ``expires_at`` in the client's past that still works, or the reverse."""
    token_delay: float = 0.0
    """Artificial latency on the web-token and Copilot-token endpoints (to observe single flight)."""
    copilot_sku: str = "free_limited_copilot"
    endpoints_api: str | None = None
    """``endpoints.api`` in the envelope; ``None`` means the emulator's own ``base_url``."""
    accept_user_token_on_capi: bool = False
    """Direct-token mode (protocol.md §3.2.3): CAPI also accepts ``Bearer ghu_…``."""
    check_integration_id_pairing: bool = True
    """A CAPI call naming another ``Copilot-Integration-Id`` than the exchange did gets the HMAC 401
    (only when the exchange sent one)."""
    sunset_api_versions: frozenset[str] = frozenset()
    """``X-GitHub-Api-Version`` values CAPI no longer serves: such calls get **466** with the
    sunset body of protocol.md §10.1."""
    sunset_editor_versions: frozenset[str] = frozenset()
    """``Editor-Version`` or ``Editor-Plugin-Version`` values (``"copilot-chat/0.37.4"``) that get
    the same 466."""
    enforce_api_host: bool = False
    """CAPI answers **421** ``Misdirected Request`` when a Copilot token is used on a host other
    than the ``endpoints.api`` it was issued with (protocol.md §10.8); the request's ``Host``
    header decides, so ``localhost`` and ``127.0.0.1`` are two hosts of one emulator."""

    # -- framing ---------------------------------------------------------------------------
    chunk_size: int | None = None
    """Re-chunk streamed bytes into writes of this many bytes; ``None`` = one write per event."""
    line_separator: str = "\n\n"
    """``"\\n"`` (single LF after each line, no blank line), ``"\\n\\n"`` or ``"\\r\\n"`` (CRLF line
    endings and a blank CRLF line between events). Streams carrying ``event:`` lines use a blank
    line in ``"\\n"`` mode too, since their fields would otherwise run together."""
    pacing: float = 0.0
    """Seconds to sleep between writes of a streamed body."""

    # -- web flavour -----------------------------------------------------------------------
    strict_web_headers: bool = False
    """Require Cookie, ``GitHub-Verified-Fetch: true``, ``X-Requested-With: XMLHttpRequest`` and
    ``Origin: https://github.com`` on ``chat/token`` (protocol.md §2.2); else 403."""
    web_session_failure_status: int = 401
    """Status for ``chat/token`` without a valid ``user_session``: 401, 403, 404, or 302 (an HTML
    redirect to ``/login``)."""
    web_token_expiry_field: str | None = None
    """If set, the web-token reply also carries ``{field: <ISO-8601 expiry>}``."""
    thread_create_status: int = 201
    """200 or 201 (both are seen)."""
    web_sse_when_not_streaming: bool = False
    """Answer SSE even when the message POST says ``streaming: false``."""
    web_empty_complete_model: bool = False
    """Send ``model: ""`` and ``turnId: ""`` in ``complete``, as one capture showed."""
    web_extra_events: list[dict[str, Any]] = field(default_factory=list)
    """JSON objects streamed before the first ``content`` event (skill progress, annotations,
    unknown types), to check that a client tolerates them."""
    threads_accept_copilot_token: bool = True
    """The thread API also accepts ``Authorization: Bearer <Copilot token>`` (protocol.md §1)."""

    # -- IDE flavour -----------------------------------------------------------------------
    device_poll_script: tuple[str, ...] = ("authorization_pending",)
    """Replies to successive polls of one device code, then success. Entries are OAuth error codes
    (``authorization_pending``, ``slow_down``, ``expired_token``, ``access_denied``,
    ``incorrect_device_code``, …); the codes ``expired_token``, ``access_denied`` and
    ``incorrect_device_code`` are terminal and repeat on later polls."""
    device_interval: int = 0
    """``interval`` in the device-code reply (GitHub says 5; 0 keeps tests fast)."""
    device_slow_down_increment: int = 5
    device_expires_in: int = 900
    device_error_status: int = 200
    """HTTP status of device-flow error replies (200 as GitHub; 400 as one document says)."""
    editor_names: frozenset[str] | None = None
    """Accepted ``Editor-Version`` names (the part before ``/``); ``None`` accepts any well-formed
    ``name/version``."""
    integration_ids: frozenset[str] = DEFAULT_INTEGRATION_IDS
    models: list[dict[str, Any]] = field(default_factory=default_models)
    quotas: dict[str, int] = field(default_factory=default_quotas)
    chat_finish_reason: str = "stop"
    """``finish_reason`` of a text reply (``length``, ``content_filter``, or an unknown value)."""
    leading_empty_chunk: bool = True
    """Start chat streams with the ``choices: []`` prompt-filter chunk."""
    usage_placement: Literal["finish", "trailing", "none"] = "finish"
    send_done: bool = True
    """End chat streams with ``data: [DONE]``."""
    responses_event_lines: bool = True
    """Write ``event:`` lines on ``/responses`` streams."""
    responses_done: bool = False
    """End ``/responses`` streams with ``data: [DONE]``."""
    embedding_dimensions: int = 16
    copilot_usage: bool = False
    """Bill in AI credits (protocol.md §10.2): replies of ``/chat/completions`` (body and
    finishing chunk), ``/responses`` (``response.completed`` and the body) and ``/v1/messages``
    (``message_delta`` and the body) carry ``copilot_usage`` at fixed prices (input 30 000,
    cache read 3 000, output 120 000 nano-AIU per token), and ``copilot_internal/user`` says
    ``token_based_billing``. Off by default, as on accounts not billed so."""
    quota_headers: bool = True
    """Send ``x-quota-snapshot-*`` headers on chat replies."""
    usage_windows: dict[str, float | str] = field(default_factory=dict)
    """Short-window headers on chat replies (protocol.md §10.3): window (``"session"``,
    ``"weekly"``) → percent remaining, sent as ``x-usage-ratelimit-<window>:
    ent=0&ov=0.0&ovPerm=false&rem=<percent>&rst=<next reset, URL-encoded>``, or a string sent
    verbatim (malformed values too). Empty (the default): no such headers, as below 50 % use."""

    def __post_init__(self) -> None:
        if self.line_separator not in ("\n", "\n\n", "\r\n"):
            raise ValueError(r'line_separator must be "\n", "\n\n" or "\r\n"')
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("chunk_size must be None or at least 1")
        if self.pacing < 0 or self.token_delay < 0:
            raise ValueError("pacing and token_delay cannot be negative")
        if self.usage_placement not in ("finish", "trailing", "none"):
            raise ValueError('usage_placement must be "finish", "trailing" or "none"')
