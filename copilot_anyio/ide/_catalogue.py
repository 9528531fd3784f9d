"""The model list (``GET {api}/models``) as typed ``Model`` values, and routing by it.

Theory of operation
-------------------
The list changes without notice: new vendors, new fields, new endpoint names, entries missing
fields that others carry (protocol.md §3.6). So each entry is read on its own: a field of the
wrong type is treated as absent, unknown fields are ignored, and only an entry without a usable
``id`` is skipped, recorded in ``ModelCatalogue.skipped`` with its position and reason. Unknown
enum values (vendors, policy states, picker categories, endpoints) are kept as strings.

Routing (§3.6, §10.5): a model with no ``supported_endpoints`` serves ``/chat/completions`` (an
``embeddings`` model: ``/embeddings``); one that lists endpoints serves those only
(``ws:/responses`` and unknown ones are ignored). ``route()`` returns the model or raises, before
anything is sent: ``UnknownModelError`` (with close ids, by difflib) or
``UnsupportedEndpointError`` (naming the endpoints the model does serve). ``preferred_endpoint()``
picks the endpoint for a chat turn the way maintained clients do: ``/v1/messages`` when listed,
then ``/responses``, then ``/chat/completions``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from .._errors import UnknownModelError, UnsupportedEndpointError

__all__ = [
    "API_ENDPOINTS",
    "Model",
    "ModelBilling",
    "ModelCatalogue",
    "ModelLimits",
    "ModelPolicy",
    "ModelSupports",
    "SkippedModel",
    "parse_models",
    "preferred_endpoint",
    "route",
]

#: The HTTP API endpoints a model can serve (``ws:/responses`` and unknown ones are ignored).
API_ENDPOINTS: Final = ("/chat/completions", "/responses", "/v1/messages", "/embeddings")
_DEFAULT_ENDPOINTS: Final = ("/chat/completions",)
_EMBEDDINGS_ENDPOINTS: Final = ("/embeddings",)
#: Chat endpoints, most preferred first (protocol.md §10.5).
CHAT_ENDPOINT_PREFERENCE: Final = ("/v1/messages", "/responses", "/chat/completions")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


@final
@dataclass(frozen=True, slots=True)
class ModelLimits:
    max_context_window_tokens: int | None = None
    max_prompt_tokens: int | None = None
    max_output_tokens: int | None = None
    max_non_streaming_output_tokens: int | None = None
    #: embeddings models: inputs per request
    max_inputs: int | None = None
    max_prompt_images: int | None = None
    max_prompt_image_size: int | None = None
    supported_media_types: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class ModelSupports:
    streaming: bool = False
    tool_calls: bool = False
    parallel_tool_calls: bool = False
    vision: bool = False
    structured_outputs: bool = False
    thinking: bool = False
    #: ``reasoning_effort`` values the model takes, if it said
    reasoning_effort: tuple[str, ...] = ()


@final
@dataclass(frozen=True, slots=True)
class ModelPolicy:
    #: ``enabled``, ``disabled``, ``unconfigured``, ``pending``, ``requires_consent``, or new ones
    state: str
    terms: str | None = field(default=None, repr=False)


@final
@dataclass(frozen=True, slots=True)
class ModelBilling:
    """Every field is optional: captures lack some of them (protocol.md §10.2)."""

    is_premium: bool | None = None
    multiplier: float | None = None
    restricted_to: tuple[str, ...] = ()
    #: nano-AIU per ``batch_size`` tokens (``input_price``, ``output_price``...), as sent
    token_prices: Mapping[str, Any] | None = field(default=None, repr=False)


@final
@dataclass(frozen=True, slots=True)
class Model:
    """One entry of ``/models``. ``raw`` keeps the entry as sent (fields we do not model)."""

    id: str
    name: str = ""
    vendor: str = ""
    version: str = ""
    #: ``chat``, ``embeddings``, ``completion``...
    type: str = ""
    family: str = ""
    tokenizer: str | None = None
    preview: bool = False
    model_picker_enabled: bool = False
    model_picker_category: str | None = None
    is_chat_default: bool = False
    is_chat_fallback: bool = False
    #: None when the list did not say (then ``/chat/completions`` is assumed)
    supported_endpoints: tuple[str, ...] | None = None
    limits: ModelLimits = ModelLimits()
    supports: ModelSupports = ModelSupports()
    policy: ModelPolicy | None = None
    billing: ModelBilling | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def supports_tools(self) -> bool:
        return self.supports.tool_calls

    @property
    def supports_vision(self) -> bool:
        return self.supports.vision

    @property
    def supports_streaming(self) -> bool:
        return self.supports.streaming

    @property
    def supports_parallel_tool_calls(self) -> bool:
        return self.supports.parallel_tool_calls

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The API endpoints this model serves (known ones only)."""
        if self.supported_endpoints is None:
            return _EMBEDDINGS_ENDPOINTS if self.type == "embeddings" else _DEFAULT_ENDPOINTS
        return tuple(e for e in self.supported_endpoints if e in API_ENDPOINTS)

    def serves(self, endpoint: str) -> bool:
        return endpoint in self.endpoints

    @property
    def enabled(self) -> bool:
        """No policy gates it, or its policy is ``enabled``."""
        return self.policy is None or self.policy.state == "enabled"

    @property
    def in_picker(self) -> bool:
        """Would an editor's model picker show it? (chat, picker-enabled, policy allows)"""
        return self.type == "chat" and self.model_picker_enabled and self.enabled


@final
@dataclass(frozen=True, slots=True)
class SkippedModel:
    """An entry that could not be read: its position in ``data``, id if any, and why."""

    index: int
    id: str | None
    reason: str


@final
@dataclass(frozen=True, slots=True)
class ModelCatalogue:
    models: tuple[Model, ...] = ()
    skipped: tuple[SkippedModel, ...] = ()

    def get(self, model_id: str) -> Model | None:
        return next((m for m in self.models if m.id == model_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    def picker(self) -> tuple[Model, ...]:
        """Chat models a picker shows, the chat default first (then in list order)."""
        shown = [m for m in self.models if m.in_picker]
        return tuple(sorted(shown, key=lambda m: not m.is_chat_default))


def _model(entry: Mapping[str, Any]) -> Model:
    capabilities = _dict(entry.get("capabilities"))
    limits = _dict(capabilities.get("limits"))
    vision = _dict(limits.get("vision"))
    supports = _dict(capabilities.get("supports"))
    policy = entry.get("policy")
    billing = entry.get("billing")
    efforts = supports.get("reasoning_effort")
    return Model(
        id=entry["id"],
        name=_str(entry.get("name")) or "",
        vendor=_str(entry.get("vendor")) or "",
        version=_str(entry.get("version")) or "",
        type=_str(capabilities.get("type")) or "",
        family=_str(capabilities.get("family")) or "",
        tokenizer=_str(capabilities.get("tokenizer")),
        preview=_bool(entry.get("preview")) or False,
        model_picker_enabled=_bool(entry.get("model_picker_enabled")) or False,
        model_picker_category=_str(entry.get("model_picker_category")),
        is_chat_default=_bool(entry.get("is_chat_default")) or False,
        is_chat_fallback=_bool(entry.get("is_chat_fallback")) or False,
        supported_endpoints=_strings(entry.get("supported_endpoints")),
        limits=ModelLimits(
            max_context_window_tokens=_int(limits.get("max_context_window_tokens")),
            max_prompt_tokens=_int(limits.get("max_prompt_tokens")),
            max_output_tokens=_int(limits.get("max_output_tokens")),
            max_non_streaming_output_tokens=_int(limits.get("max_non_streaming_output_tokens")),
            max_inputs=_int(limits.get("max_inputs")),
            max_prompt_images=_int(vision.get("max_prompt_images")),
            max_prompt_image_size=_int(vision.get("max_prompt_image_size")),
            supported_media_types=_strings(vision.get("supported_media_types")) or (),
        ),
        supports=ModelSupports(
            streaming=_bool(supports.get("streaming")) or False,
            tool_calls=_bool(supports.get("tool_calls")) or False,
            parallel_tool_calls=_bool(supports.get("parallel_tool_calls")) or False,
            vision=_bool(supports.get("vision")) or False,
            structured_outputs=_bool(supports.get("structured_outputs")) or False,
            thinking=_bool(supports.get("thinking")) or False,
            reasoning_effort=_strings(efforts) or (),
        ),
        policy=(
            ModelPolicy(state=_str(policy.get("state")) or "", terms=_str(policy.get("terms")))
            if isinstance(policy, dict)
            else None
        ),
        billing=(
            ModelBilling(
                is_premium=_bool(billing.get("is_premium")),
                multiplier=_float(billing.get("multiplier")),
                restricted_to=_strings(billing.get("restricted_to")) or (),
                token_prices=_dict(billing.get("token_prices")) or None,
            )
            if isinstance(billing, dict)
            else None
        ),
        raw=entry,
    )


def parse_models(payload: Any) -> ModelCatalogue:
    """``{"data": [...]}`` (or a bare list) as a catalogue; unreadable entries are skipped.

    Duplicate ids keep their first entry (the rest are recorded as skipped).
    """
    data = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(data, list):
        return ModelCatalogue(skipped=(SkippedModel(-1, None, "the reply has no data list"),))
    models: list[Model] = []
    skipped: list[SkippedModel] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            skipped.append(SkippedModel(index, None, f"not an object ({type(entry).__name__})"))
            continue
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id:
            skipped.append(SkippedModel(index, None, "no id"))
            continue
        if model_id in seen:
            skipped.append(SkippedModel(index, model_id, "duplicate id"))
            continue
        seen.add(model_id)
        models.append(_model(entry))
    return ModelCatalogue(models=tuple(models), skipped=tuple(skipped))


def preferred_endpoint(
    model: Model, speaks: tuple[str, ...] = CHAT_ENDPOINT_PREFERENCE
) -> str | None:
    """The first endpoint of ``speaks`` (in its order) that ``model`` serves; None if none.

    The default order is that of maintained clients (§10.5): ``/v1/messages``, ``/responses``,
    ``/chat/completions``. Pass your own to prefer another, or to leave one out.
    """
    return next((endpoint for endpoint in speaks if model.serves(endpoint)), None)


def route(catalogue: ModelCatalogue, model_id: str, endpoint: str = "/chat/completions") -> Model:
    """The model, if it serves ``endpoint``; raises before anything is sent otherwise.

    Raises:
        UnknownModelError: ``model_id`` is not in the list; ``suggestions`` holds close ids.
        UnsupportedEndpointError: the model does not serve ``endpoint``; ``supported`` lists
            the endpoints it does.
    """
    model = catalogue.get(model_id)
    if model is None:
        close = tuple(difflib.get_close_matches(model_id, catalogue.ids, n=3, cutoff=0.6))
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"model {model_id!r} is not in this account's model list{hint}",
            model=model_id,
            endpoint=endpoint,
            suggestions=close,
        )
    if not model.serves(endpoint):
        served = model.endpoints
        where = ", ".join(served) if served else "no endpoint this client speaks"
        raise UnsupportedEndpointError(
            f"model {model_id!r} is not served on {endpoint}; it serves {where}",
            model=model_id,
            endpoint=endpoint,
            supported=served,
        )
    return model
