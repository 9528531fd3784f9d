"""The IDE flavour's requests, as data: what to send to github.com, api.github.com and CAPI.

Theory of operation
-------------------
The IDE flavour is a chain (protocol.md §3): the OAuth device flow on github.com yields a GitHub
token; ``GET api.github.com/copilot_internal/v2/token`` exchanges it for a short-lived Copilot
token and the Copilot API's base URL (``endpoints.api``); chat goes to ``POST {api}/chat/completions``
and the model list comes from ``GET {api}/models``.

Each builder here returns a ``Request`` and nothing else. None holds a token: the send loop's
auth adds ``Authorization`` (``token <GitHub token>`` for api.github.com, ``GITHUB_AUTH_SCHEME``;
``Bearer <Copilot token>`` for CAPI, ``CAPI_AUTH_SCHEME``). CAPI requests carry a *relative*
path (``/chat/completions``), which the Copilot-token auth joins with the token's
``endpoints.api``, read afresh for every request because it can change at each refresh (§1).
github.com and api.github.com requests take their base URL as an argument (enterprise hosts).

Every request carries the request id the caller passes in (``X-Request-Id``; this module draws
no randomness) and the version pins of ``IdeVersions``.

Two headers depend on the conversation (§3.4, §10.4):

* ``X-Initiator``: ``agent`` when the *last* message is not the user speaking (an assistant
  prefill, a ``tool`` result, a user message made only of tool results), else ``user``. Agent
  turns are not billed as premium requests; the older rule "any assistant message anywhere"
  over-reported ``agent``. A caller may override it.
* ``Copilot-Vision-Request: true`` only when a message holds an image part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import msgspec

from .._errors import RemoteProtocolError, UsageError
from .._http import Request
from ._types import ChatCompletion
from ._validate import validate_messages, validate_model, validate_tool_choice, validate_tools
from ._versions import DEFAULT_VERSIONS, IdeVersions

__all__ = [
    "CAPI_AUTH_SCHEME",
    "CHAT_COMPLETIONS_PATH",
    "COPILOT_CLIENT_ID",
    "DEVICE_GRANT_TYPE",
    "GITHUB_AUTH_SCHEME",
    "MODELS_PATH",
    "chat_completions_request",
    "copilot_user_request",
    "device_code_request",
    "device_token_request",
    "has_image",
    "initiator",
    "models_request",
    "parse_chat_completion",
    "token_exchange_request",
]

#: Copilot's GitHub App (VS Code, copilot.vim, the language server): its tokens exchange.
COPILOT_CLIENT_ID: Final = "Iv1.b507a08c87ecfe98"
DEVICE_GRANT_TYPE: Final = "urn:ietf:params:oauth:grant-type:device_code"
#: ``Authorization: <scheme> <token>`` the auth layer adds, per host.
GITHUB_AUTH_SCHEME: Final = "token"
CAPI_AUTH_SCHEME: Final = "Bearer"
CHAT_COMPLETIONS_PATH: Final = "/chat/completions"
MODELS_PATH: Final = "/models"

_IMAGE_PART_TYPES: Final = frozenset({"image_url", "input_image", "image"})
_TOOL_RESULT_TYPES: Final = frozenset({"tool_result", "function_call_output"})
_AGENT_ITEM_TYPES: Final = frozenset({"function_call", "function_call_output", "reasoning"})
_COMPLETION_DECODER: Final = msgspec.json.Decoder(ChatCompletion)


def _strip(url: str) -> str:
    return url.rstrip("/")


def _capi_headers(versions: IdeVersions, request_id: str) -> dict[str, str]:
    headers = versions.capi_headers()
    headers["X-Request-Id"] = request_id
    return headers


# --- the conversation-dependent headers ------------------------------------------------------


def initiator(messages: Sequence[Mapping[str, Any]]) -> Literal["user", "agent"]:
    """``X-Initiator`` by the last-message rule (protocol.md §10.4)."""
    if not messages:
        return "user"
    last = messages[-1]
    role = last.get("role")
    if role is None:
        # A Responses-style item: function calls, their outputs and reasoning are the agent's.
        return "agent" if last.get("type") in _AGENT_ITEM_TYPES else "user"
    if role != "user":
        return "user" if role in ("system", "developer") else "agent"
    content = last.get("content")
    if isinstance(content, list) and content:
        kinds = {part.get("type") for part in content if isinstance(part, Mapping)}
        if kinds and kinds <= _TOOL_RESULT_TYPES:
            return "agent"
    return "user"


def has_image(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Does any message hold an image part? (``Copilot-Vision-Request``, protocol.md §3.4)"""
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping) and part.get("type") in _IMAGE_PART_TYPES:
                    return True
    return False


# --- CAPI ------------------------------------------------------------------------------------


def chat_completions_request(
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    request_id: str,
    stream: bool = True,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    versions: IdeVersions = DEFAULT_VERSIONS,
    initiator_override: Literal["user", "agent"] | None = None,
    openai_intent: str = "conversation-panel",
    interaction_id: str | None = None,
    interaction_type: str | None = None,
    **options: Any,
) -> Request:
    """``POST /chat/completions`` (relative: the auth joins it with ``endpoints.api``).

    The messages, model, tools and ``tool_choice`` are validated first (``UsageError`` names the
    offending element). ``options`` pass through to the body as given: ``max_tokens``,
    ``temperature``, ``top_p``, ``n``, ``stop``, ``seed``, ``response_format``,
    ``reasoning_effort``, Copilot's ``intent``... (a ``None`` value is left out). The
    ``Openai-Intent`` header is ``openai_intent``. ``max_completion_tokens``, which
    Copilot refuses, is sent as ``max_tokens``. A stream asks for usage on its last chunk
    (``stream_options.include_usage``) unless ``stream_options`` is given.

    Raises:
        UsageError: a malformed message, tool, tool choice or model id, or both
            ``max_tokens`` and ``max_completion_tokens``.
    """
    validate_model(model)
    validate_messages(messages)
    names = validate_tools(tools)
    validate_tool_choice(tool_choice, names)
    body: dict[str, Any] = {"model": model, "messages": list(messages), "stream": stream}
    if tools:
        body["tools"] = list(tools)
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    extra = {k: v for k, v in options.items() if v is not None}
    if "max_completion_tokens" in extra:
        if "max_tokens" in extra:
            raise UsageError("max_completion_tokens: give max_tokens or this, not both")
        extra["max_tokens"] = extra.pop("max_completion_tokens")
    body.update(extra)
    if stream and "stream_options" not in body:
        body["stream_options"] = {"include_usage": True}
    headers = _capi_headers(versions, request_id)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "text/event-stream" if stream else "application/json"
    headers["Openai-Intent"] = openai_intent
    headers["X-Initiator"] = initiator_override or initiator(messages)
    if has_image(messages):
        headers["Copilot-Vision-Request"] = "true"
    if interaction_id is not None:
        headers["X-Interaction-Id"] = interaction_id
    if interaction_type is not None:
        headers["X-Interaction-Type"] = interaction_type
    return Request("POST", CHAT_COMPLETIONS_PATH, headers=headers, json=body)


def models_request(*, request_id: str, versions: IdeVersions = DEFAULT_VERSIONS) -> Request:
    """``GET /models`` (relative), marked as a model-access call (protocol.md §10.4)."""
    headers = _capi_headers(versions, request_id)
    headers["Accept"] = "application/json"
    headers["Openai-Intent"] = "model-access"
    headers["X-Interaction-Type"] = "model-access"
    return Request("GET", MODELS_PATH, headers=headers)


def parse_chat_completion(body: str | bytes) -> ChatCompletion:
    """A non-streaming ``/chat/completions`` reply.

    Raises:
        RemoteProtocolError: the body is not a chat completion object.
    """
    try:
        return _COMPLETION_DECODER.decode(body)
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise RemoteProtocolError("the chat completion reply is not JSON") from exc
    try:
        return msgspec.convert(json.loads(body), ChatCompletion, strict=False)
    except (ValueError, msgspec.ValidationError) as exc:
        raise RemoteProtocolError(
            f"the chat completion reply has an unexpected shape: {exc}"
        ) from exc


# --- api.github.com --------------------------------------------------------------------------


def _github_api_headers(versions: IdeVersions, request_id: str) -> dict[str, str]:
    headers = versions.github_headers()
    headers["Accept"] = "application/json"
    headers["X-Request-Id"] = request_id
    return headers


def token_exchange_request(
    github_api_url: str, *, request_id: str, versions: IdeVersions = DEFAULT_VERSIONS
) -> Request:
    """``GET {github_api}/copilot_internal/v2/token``; auth ``token <GitHub token>``."""
    return Request(
        "GET",
        f"{_strip(github_api_url)}/copilot_internal/v2/token",
        headers=_github_api_headers(versions, request_id),
    )


def copilot_user_request(
    github_api_url: str, *, request_id: str, versions: IdeVersions = DEFAULT_VERSIONS
) -> Request:
    """``GET {github_api}/copilot_internal/user`` (plan and quotas); auth ``token <GitHub token>``."""
    return Request(
        "GET",
        f"{_strip(github_api_url)}/copilot_internal/user",
        headers=_github_api_headers(versions, request_id),
    )


# --- github.com: the OAuth device flow -------------------------------------------------------


def _oauth_headers(request_id: str, versions: IdeVersions) -> dict[str, str]:
    # Without Accept: application/json github.com answers form-encoded.
    return {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": versions.user_agent,
        "X-Request-Id": request_id,
    }


def device_code_request(
    github_url: str,
    *,
    request_id: str,
    client_id: str = COPILOT_CLIENT_ID,
    scope: str = "read:user",
    versions: IdeVersions = DEFAULT_VERSIONS,
) -> Request:
    """``POST {github}/login/device/code``: starts the device flow (no auth)."""
    return Request(
        "POST",
        f"{_strip(github_url)}/login/device/code",
        headers=_oauth_headers(request_id, versions),
        json={"client_id": client_id, "scope": scope},
    )


def device_token_request(
    github_url: str,
    *,
    device_code: str,
    request_id: str,
    client_id: str = COPILOT_CLIENT_ID,
    versions: IdeVersions = DEFAULT_VERSIONS,
) -> Request:
    """``POST {github}/login/oauth/access_token``: one poll of the device flow (no auth).

    The device code rides in the body, which ``Request``'s repr never shows.
    """
    return Request(
        "POST",
        f"{_strip(github_url)}/login/oauth/access_token",
        headers=_oauth_headers(request_id, versions),
        json={"client_id": client_id, "device_code": device_code, "grant_type": DEVICE_GRANT_TYPE},
    )
