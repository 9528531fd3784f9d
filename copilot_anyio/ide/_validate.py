"""Checking a chat request before anything is sent.

A malformed message costs a round trip and comes back as a terse 400 that names no message.
These checks run first and raise ``UsageError`` with the path of the offending element, in the
form a caller can find in their own data::

    messages[2].content[0].image_url.url: must be an https:// URL or a data:image/...;base64 URL

What is checked is the shape the Copilot API needs (protocol.md §3.5): the roles ``system``,
``developer``, ``user``, ``assistant`` (with ``tool_calls``) and ``tool``; string content or
content parts (``text``, and ``image_url`` in user messages); tool definitions and
``tool_choice``; the model id. Keys we do not know are left alone: Copilot's extras
(``reasoning_text``, ``reasoning_opaque``, ``thought_signature``...) must pass through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, NoReturn
from urllib.parse import urlsplit

from .._errors import UsageError

__all__ = [
    "ROLES",
    "validate_messages",
    "validate_model",
    "validate_tool_choice",
    "validate_tools",
]

ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool"})
_IMAGE_DETAIL: Final = frozenset({"auto", "low", "high"})
_TOOL_CHOICES: Final = frozenset({"none", "auto", "required"})
#: Model ids seen: ``gpt-4o``, ``claude-sonnet-4.5``, ``gpt-4o-2024-11-20``, ``accounts/...``.
_MODEL_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,255}")
#: OpenAI's rule for function names, which Copilot's backends share.
_FUNCTION_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
_DATA_URL: Final = re.compile(
    r"data:image/[A-Za-z0-9.+-]+(?:;[A-Za-z0-9-]+=[A-Za-z0-9.+-]+)*;base64,"
)


def _fail(path: str, why: str) -> NoReturn:
    raise UsageError(f"{path}: {why}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def validate_model(model: Any) -> None:
    """A model id is a short token of letters, digits and ``._:/@+-``."""
    if not isinstance(model, str) or not model:
        _fail("model", f"must be a non-empty string, not {_kind(model)}")
    if not _MODEL_ID.fullmatch(model):
        _fail("model", f"{model[:60]!r} is not a model id (letters, digits and ._:/@+- only)")


def validate_messages(messages: Any) -> None:
    """Raise ``UsageError`` naming the first malformed message element, if any."""
    if not _is_list(messages) or not messages:
        _fail("messages", "must be a non-empty list of messages")
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        if not isinstance(message, Mapping):
            _fail(path, f"must be an object with a role, not {_kind(message)}")
        role = message.get("role")
        if role not in ROLES:
            shown = repr(role) if isinstance(role, str) else _kind(role)
            _fail(f"{path}.role", f"must be one of {', '.join(sorted(ROLES))}; got {shown}")
        name = message.get("name")
        if name is not None and (not isinstance(name, str) or not name):
            _fail(f"{path}.name", "must be a non-empty string")
        if role == "assistant":
            _check_assistant(message, path)
        else:
            _check_content(message.get("content"), f"{path}.content", images=role == "user")
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                _fail(f"{path}.tool_call_id", "a tool message must name the call it answers")


def _check_assistant(message: Mapping[str, Any], path: str) -> None:
    content = message.get("content")
    calls = message.get("tool_calls")
    if calls is not None:
        if not _is_list(calls) or not calls:
            _fail(f"{path}.tool_calls", "must be a non-empty list when present")
        for j, call in enumerate(calls):
            _check_tool_call(call, f"{path}.tool_calls[{j}]")
    if content is None:
        if calls is None:
            _fail(f"{path}.content", "an assistant message needs content or tool_calls")
        return
    _check_content(content, f"{path}.content", images=False, refusals=True)


def _check_tool_call(call: Any, path: str) -> None:
    if not isinstance(call, Mapping):
        _fail(path, f"must be an object, not {_kind(call)}")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        _fail(f"{path}.id", "must be a non-empty string")
    kind = call.get("type", "function")
    if kind != "function":
        _fail(f"{path}.type", f"must be 'function', not {kind!r}")
    function = call.get("function")
    if not isinstance(function, Mapping):
        _fail(f"{path}.function", "must be an object with name and arguments")
    name = function.get("name")
    if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
        _fail(f"{path}.function.name", "must be 1-64 letters, digits, '_' or '-'")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        _fail(
            f"{path}.function.arguments",
            f"must be a JSON string (json.dumps it), not {_kind(arguments)}",
        )


def _check_content(content: Any, path: str, *, images: bool, refusals: bool = False) -> None:
    if isinstance(content, str):
        return
    if not _is_list(content):
        _fail(path, f"must be a string or a list of content parts, not {_kind(content)}")
    if not content:
        _fail(path, "must not be an empty list")
    allowed = {"text"} | ({"image_url"} if images else set()) | ({"refusal"} if refusals else set())
    for j, part in enumerate(content):
        part_path = f"{path}[{j}]"
        if not isinstance(part, Mapping):
            _fail(part_path, f"must be an object with a type, not {_kind(part)}")
        kind = part.get("type")
        if kind not in allowed:
            shown = repr(kind) if isinstance(kind, str) else _kind(kind)
            _fail(f"{part_path}.type", f"must be one of {', '.join(sorted(allowed))}; got {shown}")
        if kind == "text":
            if not isinstance(part.get("text"), str):
                _fail(f"{part_path}.text", f"must be a string, not {_kind(part.get('text'))}")
        elif kind == "refusal":
            if not isinstance(part.get("refusal"), str):
                _fail(f"{part_path}.refusal", "must be a string")
        else:
            _check_image(part.get("image_url"), f"{part_path}.image_url")


def _check_image(image: Any, path: str) -> None:
    if not isinstance(image, Mapping):
        _fail(path, f'must be an object {{"url": ...}}, not {_kind(image)}')
    url = image.get("url")
    if not isinstance(url, str) or not url:
        _fail(f"{path}.url", "must be a non-empty string")
    if url.startswith("data:"):
        head = _DATA_URL.match(url)
        if head is None:
            _fail(f"{path}.url", "a data URL must read data:image/<type>;base64,<data>")
        if head.end() == len(url):
            _fail(f"{path}.url", "the data URL holds no data")
    else:
        try:
            parts = urlsplit(url)
        except ValueError:
            parts = None
        if parts is None or parts.scheme != "https" or not parts.netloc:
            _fail(
                f"{path}.url",
                "must be an https:// URL or a data:image/...;base64 URL "
                f"(got a {parts.scheme + ':' if parts and parts.scheme else 'relative'} URL)",
            )
    detail = image.get("detail")
    if detail is not None and detail not in _IMAGE_DETAIL:
        _fail(f"{path}.detail", f"must be one of auto, high, low; got {detail!r}")


def validate_tools(tools: Any) -> tuple[str, ...]:
    """Check a ``tools`` list; return the function names it defines (in order)."""
    if tools is None:
        return ()
    if not _is_list(tools):
        _fail("tools", f"must be a list of tool definitions, not {_kind(tools)}")
    names: dict[str, int] = {}
    for i, tool in enumerate(tools):
        path = f"tools[{i}]"
        if not isinstance(tool, Mapping):
            _fail(path, f"must be an object, not {_kind(tool)}")
        if tool.get("type", "function") != "function":
            _fail(f"{path}.type", f"must be 'function', not {tool.get('type')!r}")
        function = tool.get("function")
        if not isinstance(function, Mapping):
            _fail(f"{path}.function", "must be an object with a name")
        name = function.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.fullmatch(name):
            _fail(f"{path}.function.name", "must be 1-64 letters, digits, '_' or '-'")
        if name in names:
            _fail(f"{path}.function.name", f"{name!r} is already defined by tools[{names[name]}]")
        names[name] = i
        description = function.get("description")
        if description is not None and not isinstance(description, str):
            _fail(f"{path}.function.description", "must be a string")
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, Mapping):
            _fail(f"{path}.function.parameters", "must be a JSON Schema object")
    return tuple(names)


def validate_tool_choice(tool_choice: Any, tool_names: Sequence[str]) -> None:
    """``none`` / ``auto`` / ``required`` or ``{"type": "function", "function": {"name"}}``,
    naming a defined tool."""
    if tool_choice is None:
        return
    if isinstance(tool_choice, str):
        if tool_choice not in _TOOL_CHOICES:
            _fail("tool_choice", f"must be none, auto, required or a function; got {tool_choice!r}")
        if tool_choice == "required" and not tool_names:
            _fail("tool_choice", "'required' needs tools")
        return
    if not isinstance(tool_choice, Mapping) or tool_choice.get("type") != "function":
        _fail("tool_choice", 'must be a string or {"type": "function", "function": {"name": ...}}')
    function = tool_choice.get("function")
    name = function.get("name") if isinstance(function, Mapping) else None
    if not isinstance(name, str) or name not in tool_names:
        _fail("tool_choice.function.name", f"must name one of the tools; got {name!r}")
