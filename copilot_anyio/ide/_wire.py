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

The Copilot API speaks four shapes (§3.5–§3.9): ``/chat/completions`` (OpenAI chat),
``/responses`` (OpenAI Responses: ``input`` items), ``/v1/messages`` (Anthropic Messages: content
blocks, its own headers, §10.6) and ``/embeddings``. Each has a builder and a reply parser here;
which endpoint a model takes is the catalogue's business (``route``, ``preferred_endpoint``).

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
from typing import Any, Final, Literal, TypeVar

import msgspec

from .._errors import RemoteProtocolError, UsageError
from .._http import Request
from ._messages import Message, decode_message
from ._responses import Response, decode_response
from ._types import ChatCompletion, CreateEmbeddingResponse
from ._validate import (
    _is_list,
    validate_messages,
    validate_model,
    validate_tool_choice,
    validate_tools,
)
from ._versions import DEFAULT_VERSIONS, IdeVersions

__all__ = [
    "ANTHROPIC_BETAS",
    "ANTHROPIC_VERSION",
    "CAPI_AUTH_SCHEME",
    "CHAT_COMPLETIONS_PATH",
    "COPILOT_CLIENT_ID",
    "DEVICE_GRANT_TYPE",
    "EMBEDDINGS_PATH",
    "GITHUB_AUTH_SCHEME",
    "MESSAGES_MAX_OUTPUT_TOKENS",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "RESPONSES_PATH",
    "chat_completions_request",
    "copilot_user_request",
    "device_code_request",
    "device_token_request",
    "embedding_batches",
    "embeddings_request",
    "has_image",
    "initiator",
    "messages_request",
    "models_request",
    "parse_chat_completion",
    "parse_embeddings",
    "parse_message",
    "parse_response",
    "responses_request",
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
RESPONSES_PATH: Final = "/responses"
MESSAGES_PATH: Final = "/v1/messages"
EMBEDDINGS_PATH: Final = "/embeddings"
#: ``anthropic-version`` on ``/v1/messages`` (protocol.md §10.6).
ANTHROPIC_VERSION: Final = "2023-06-01"
#: ``anthropic-beta`` values Copilot's ``/v1/messages`` is known to take (§3.4, §10.6).
ANTHROPIC_BETAS: Final = frozenset(
    {
        "interleaved-thinking-2025-05-14",
        "context-management-2025-06-27",
        "advanced-tool-use-2025-11-20",
    }
)
#: Copilot refuses ``/v1/messages`` output above this many tokens (§10.6).
MESSAGES_MAX_OUTPUT_TOKENS: Final = 128_000

_IMAGE_PART_TYPES: Final = frozenset({"image_url", "input_image", "image"})
_TOOL_RESULT_TYPES: Final = frozenset({"tool_result", "function_call_output"})
_AGENT_ITEM_TYPES: Final = frozenset({"function_call", "function_call_output", "reasoning"})
_COMPLETION_DECODER: Final = msgspec.json.Decoder(ChatCompletion)
_EMBEDDINGS_DECODER: Final = msgspec.json.Decoder(CreateEmbeddingResponse)
_RESPONSE_ROLES: Final = frozenset({"user", "assistant", "system", "developer"})
#: Anthropic server tools Copilot refuses with 400 (§3.8, §10.6), by ``type`` prefix.
_REFUSED_SERVER_TOOLS: Final = ("web_search", "web_fetch")


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_count(value: Any) -> bool:
    """A positive integer (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


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


def _turn_headers(
    versions: IdeVersions,
    request_id: str,
    *,
    stream: bool,
    openai_intent: str,
    initiator_value: Literal["user", "agent"],
    vision: bool,
    interaction_id: str | None,
    interaction_type: str | None,
) -> dict[str, str]:
    headers = _capi_headers(versions, request_id)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "text/event-stream" if stream else "application/json"
    headers["Openai-Intent"] = openai_intent
    headers["X-Initiator"] = initiator_value
    if vision:
        headers["Copilot-Vision-Request"] = "true"
    if interaction_id is not None:
        headers["X-Interaction-Id"] = interaction_id
    if interaction_type is not None:
        headers["X-Interaction-Type"] = interaction_type
    return headers


def _flat_tool(tool: Any, path: str) -> Any:
    """A Responses tool: flat ``{"type": "function", "name", ...}``; a chat-shaped tool
    (``{"type": "function", "function": {...}}``) is flattened; other types pass through."""
    if not isinstance(tool, Mapping):
        raise UsageError(f"{path}: must be an object, not {type(tool).__name__}")
    if tool.get("type") != "function":
        return tool
    function = tool.get("function")
    flat: dict[str, Any]
    if isinstance(function, Mapping):
        flat = {"type": "function", **function}
        flat.update({k: v for k, v in tool.items() if k not in ("type", "function")})
    else:
        flat = dict(tool)
    validate_tools([{"type": "function", "function": {**flat}}])
    return flat


def responses_request(
    *,
    model: str,
    input: str | Sequence[Mapping[str, Any]],
    request_id: str,
    instructions: str | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: str | Mapping[str, Any] | None = None,
    previous_response_id: str | None = None,
    stream: bool = True,
    versions: IdeVersions = DEFAULT_VERSIONS,
    initiator_override: Literal["user", "agent"] | None = None,
    openai_intent: str = "conversation-panel",
    interaction_id: str | None = None,
    interaction_type: str | None = None,
    **options: Any,
) -> Request:
    """``POST /responses`` (relative), OpenAI's Responses API (protocol.md §3.7).

    ``input`` is a string (one user message) or a list of items: messages (``role`` and
    ``content``), ``function_call``, ``function_call_output``, ``reasoning``. A replayed
    ``reasoning`` item must keep its ``encrypted_content`` (the server refuses it otherwise).
    ``tools`` take the flat Responses shape; chat-shaped function tools are flattened.
    ``options`` pass through to the body (``reasoning``, ``include``, ``store``, ``truncation``,
    ``prompt_cache_key``, ``text``, ``max_output_tokens``...; ``None`` values are left out).
    ``X-Initiator`` follows the last item (§10.4); an image part sets ``Copilot-Vision-Request``.

    Raises:
        UsageError: a malformed model, input item, tool or ``previous_response_id``.
    """
    validate_model(model)
    items: list[Mapping[str, Any]] = []
    if isinstance(input, str):
        if not input:
            raise UsageError("input: must be a non-empty string or a non-empty list of items")
    else:
        if not _is_list(input) or not input:
            raise UsageError("input: must be a non-empty string or a non-empty list of items")
        for i, item in enumerate(input):
            path = f"input[{i}]"
            if not isinstance(item, Mapping):
                raise UsageError(f"{path}: must be an object, not {type(item).__name__}")
            role = item.get("role")
            if role is not None and role not in _RESPONSE_ROLES:
                raise UsageError(
                    f"{path}.role: must be one of {', '.join(sorted(_RESPONSE_ROLES))}"
                )
            kind = item.get("type")
            if kind == "reasoning" and not item.get("encrypted_content"):
                raise UsageError(
                    f"{path}.encrypted_content: a replayed reasoning item must keep it unchanged"
                )
            if kind in ("function_call", "function_call_output") and not item.get("call_id"):
                raise UsageError(f"{path}.call_id: must be a non-empty string")
            items.append(item)
    if previous_response_id is not None and (
        not _is_text(previous_response_id) or not previous_response_id
    ):
        raise UsageError("previous_response_id: must be a non-empty string")
    body: dict[str, Any] = {"model": model, "input": input if isinstance(input, str) else items}
    body["stream"] = stream
    if instructions is not None:
        body["instructions"] = instructions
    if tools:
        body["tools"] = [_flat_tool(t, f"tools[{i}]") for i, t in enumerate(tools)]
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if previous_response_id is not None:
        body["previous_response_id"] = previous_response_id
    body.update({k: v for k, v in options.items() if v is not None})
    headers = _turn_headers(
        versions,
        request_id,
        stream=stream,
        openai_intent=openai_intent,
        initiator_value=initiator_override or (initiator(items) if items else "user"),
        vision=has_image(items),
        interaction_id=interaction_id,
        interaction_type=interaction_type,
    )
    return Request("POST", RESPONSES_PATH, headers=headers, json=body)


def _check_anthropic_messages(messages: Any) -> None:
    if isinstance(messages, str | bytes) or not isinstance(messages, Sequence) or not messages:
        raise UsageError("messages: must be a non-empty list of messages")
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, Mapping):
            raise UsageError(f"{path}: must be an object with a role")
        if message.get("role") not in ("user", "assistant"):
            raise UsageError(
                f"{path}.role: must be user or assistant (the system prompt is `system=`)"
            )
        content = message.get("content")
        if isinstance(content, str):
            continue
        if not isinstance(content, Sequence) or isinstance(content, bytes):
            raise UsageError(f"{path}.content: must be a string or a list of content blocks")
        for j, block in enumerate(content):
            where = f"{path}.content[{j}]"
            if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
                raise UsageError(f"{where}: must be an object with a type")
            source = block.get("source")
            if (
                block["type"] in ("image", "document")
                and isinstance(source, Mapping)
                and source.get("type") == "url"
            ):
                raise UsageError(
                    f"{where}.source: Copilot refuses external URLs here; send the data base64"
                )
            if block["type"] == "tool_use" and not block.get("id"):
                raise UsageError(f"{where}.id: must be a non-empty string")
            if block["type"] == "tool_result" and not block.get("tool_use_id"):
                raise UsageError(f"{where}.tool_use_id: must be a non-empty string")


def messages_request(
    *,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    max_tokens: int,
    request_id: str,
    system: str | Sequence[Mapping[str, Any]] | None = None,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Mapping[str, Any] | None = None,
    thinking: Mapping[str, Any] | None = None,
    stream: bool = True,
    betas: Sequence[str] = (),
    allowed_betas: frozenset[str] = ANTHROPIC_BETAS,
    max_output_tokens: int | None = None,
    versions: IdeVersions = DEFAULT_VERSIONS,
    initiator_override: Literal["user", "agent"] | None = None,
    interaction_id: str | None = None,
    **options: Any,
) -> Request:
    """``POST /v1/messages`` (relative), Anthropic's Messages API for Claude (§3.8, §10.6).

    Headers beyond the usual pins: ``anthropic-version``, ``Openai-Intent`` and
    ``X-Interaction-Type`` both ``messages-proxy``, ``anthropic-beta`` (``betas``, which must be
    in ``allowed_betas``), ``X-Initiator`` (a user turn made only of ``tool_result`` blocks is
    the agent's), ``Copilot-Vision-Request`` for image blocks. ``max_tokens`` is clamped to the
    model's ``max_output_tokens`` (when given) and to Copilot's 128K cap. ``options`` pass
    through (``temperature``, ``stop_sequences``, ``metadata``, ``output_config``...).

    Raises:
        UsageError: a malformed message or block, an image or document by URL, a server tool
            Copilot refuses (``web_search``, ``web_fetch``), a beta outside ``allowed_betas``,
            or a ``max_tokens`` that is not a positive integer.
    """
    validate_model(model)
    _check_anthropic_messages(messages)
    if not _is_count(max_tokens):
        raise UsageError("max_tokens: must be a positive integer")
    cap = MESSAGES_MAX_OUTPUT_TOKENS
    if max_output_tokens is not None and max_output_tokens > 0:
        cap = min(cap, max_output_tokens)
    unknown = [b for b in betas if b not in allowed_betas]
    if unknown:
        raise UsageError(
            f"betas: {', '.join(unknown)} not known to work on Copilot (allowed: "
            f"{', '.join(sorted(allowed_betas))}); pass allowed_betas= to send it anyway"
        )
    body: dict[str, Any] = {
        "model": model,
        "messages": list(messages),
        "max_tokens": min(max_tokens, cap),
        "stream": stream,
    }
    if system is not None:
        body["system"] = system if isinstance(system, str) else list(system)
    if tools:
        entries: list[Any] = list(tools)
        for i, entry in enumerate(entries):
            kind = entry.get("type") if isinstance(entry, Mapping) else None
            if isinstance(kind, str) and kind.startswith(_REFUSED_SERVER_TOOLS):
                raise UsageError(f"tools[{i}]: Copilot refuses the server tool {kind!r}")
            if not isinstance(entry, Mapping) or (
                kind in (None, "custom") and not entry.get("name")
            ):
                raise UsageError(f"tools[{i}]: a tool needs a name and an input_schema")
        body["tools"] = list(tools)
    if tool_choice is not None:
        body["tool_choice"] = tool_choice
    if thinking is not None:
        body["thinking"] = thinking
    body.update({k: v for k, v in options.items() if v is not None})
    headers = _turn_headers(
        versions,
        request_id,
        stream=stream,
        openai_intent="messages-proxy",
        initiator_value=initiator_override or initiator(messages),
        vision=has_image(messages),
        interaction_id=interaction_id,
        interaction_type="messages-proxy",
    )
    headers["anthropic-version"] = ANTHROPIC_VERSION
    if betas:
        headers["anthropic-beta"] = ",".join(dict.fromkeys(betas))
    return Request("POST", MESSAGES_PATH, headers=headers, json=body)


def embeddings_request(
    *,
    model: str,
    input: str | Sequence[str],
    request_id: str,
    dimensions: int | None = None,
    versions: IdeVersions = DEFAULT_VERSIONS,
) -> Request:
    """``POST /embeddings`` (relative), OpenAI's shape (protocol.md §3.9).

    A model takes at most ``limits.max_inputs`` inputs per request: split longer lists with
    ``embedding_batches``.

    Raises:
        UsageError: an empty input, a non-string input, or ``dimensions`` not a positive int.
    """
    validate_model(model)
    if isinstance(input, str):
        if not input:
            raise UsageError("input: must be a non-empty string or a non-empty list of strings")
        sent: str | list[str] = input
    else:
        if not _is_list(input) or not input:
            raise UsageError("input: must be a non-empty string or a non-empty list of strings")
        for i, text in enumerate(input):
            if not isinstance(text, str):
                raise UsageError(f"input[{i}]: must be a string, not {type(text).__name__}")
        sent = list(input)
    body: dict[str, Any] = {"model": model, "input": sent}
    if dimensions is not None:
        if not _is_count(dimensions):
            raise UsageError("dimensions: must be a positive integer")
        body["dimensions"] = dimensions
    headers = _capi_headers(versions, request_id)
    headers["Content-Type"] = "application/json"
    headers["Accept"] = "application/json"
    return Request("POST", EMBEDDINGS_PATH, headers=headers, json=body)


def embedding_batches(inputs: Sequence[str], max_inputs: int | None) -> list[list[str]]:
    """``inputs`` cut into lists of at most ``max_inputs`` (the model's ``limits.max_inputs``;
    None or less than 1: one batch)."""
    items = list(inputs)
    if not max_inputs or max_inputs < 1:
        return [items]
    return [items[i : i + max_inputs] for i in range(0, len(items), max_inputs)]


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


_R = TypeVar("_R")


def _object(parsed: _R | None, path: str) -> _R:
    if parsed is None:
        raise RemoteProtocolError(f"the {path} reply is not a JSON object")
    return parsed


def parse_response(body: str | bytes) -> Response:
    """A non-streaming ``/responses`` reply (RemoteProtocolError when not a JSON object)."""
    return _object(decode_response(body), RESPONSES_PATH)


def parse_message(body: str | bytes) -> Message:
    """A non-streaming ``/v1/messages`` reply (RemoteProtocolError when not a JSON object)."""
    return _object(decode_message(body), MESSAGES_PATH)


def parse_embeddings(body: str | bytes) -> CreateEmbeddingResponse:
    """A ``/embeddings`` reply, its ``data`` in ``index`` order.

    Raises:
        RemoteProtocolError: the body is not an embeddings list.
    """
    try:
        parsed = _EMBEDDINGS_DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise RemoteProtocolError(f"the embeddings reply has an unexpected shape: {exc}") from exc
    data = parsed.data
    if any(data[i].index > data[i + 1].index for i in range(len(data) - 1)):
        parsed = msgspec.structs.replace(parsed, data=sorted(data, key=lambda e: e.index))
    return parsed


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
