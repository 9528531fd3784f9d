"""What a turn used and cost, what the account has left, and whether to send at all.

Pure: every function takes the data (a result, headers, a payload, the time) and returns values.

Usage and cost (protocol.md §10.2)
----------------------------------
``usage_record(result)`` reads any reply (chat completion, Responses ``Response``, Messages
``Message``, embeddings) into one ``UsageRecord``: prompt, completion, cached and reasoning
tokens, and, when the server sent ``copilot_usage``, its cost in nano-AIU and AI credits
(1e9 nano-AIU = 1 credit = US$0.01). The three APIs count differently: Anthropic's
``input_tokens`` leaves out cache reads and writes, which are added back here so that
``prompt_tokens`` means the same everywhere. ``UsageTotals`` sums records per model; the client
owns one and adds every result to it.

Quotas (§3.3, §3.5, §10.3)
--------------------------
``parse_copilot_user`` reads ``GET copilot_internal/user``: the plan and every quota snapshot
(``chat``, ``completions``, ``premium_interactions``, and the 5-hour ``session`` and ``weekly``
windows, whose keys on the wire are ``5Hour-Session-RateLimits`` and
``Weekly-Session-RateLimits``). ``quotas_from_headers`` reads the same snapshots from a reply's
``x-quota-snapshot-*`` and ``x-usage-ratelimit-*`` headers (``ent=…&ov=…&ovPerm=…&rem=…&rst=…``,
``rem`` in percent). Snapshots are signed floats (values can go negative); a missing header is
not "unlimited" (the window headers are reportedly sent only from 50 % use).

Spending cap
------------
``check_spend_cap(spent=, cap=)`` raises ``SpendCapReachedError`` before a request is sent when
the credits metered so far (``UsageTotals.credits``), plus the request's estimate if one is
given (``estimate_credits`` from a model's ``billing.token_prices``), reach the cap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, final
from urllib.parse import parse_qs

from .._errors import SpendCapReachedError, UsageError
from ._messages import Message
from ._responses import Response
from ._types import NANO_AIU_PER_CREDIT, ChatCompletion, CopilotUsage, CreateEmbeddingResponse

__all__ = [
    "CopilotUser",
    "ModelTotals",
    "QuotaSnapshot",
    "UsageRecord",
    "UsageTotals",
    "check_spend_cap",
    "estimate_credits",
    "parse_copilot_user",
    "parse_quota_header",
    "quotas_from_headers",
    "usage_record",
]

#: Wire names of snapshot keys and headers → the names used here.
_SNAPSHOT_ALIASES: Final[Mapping[str, str]] = {
    "5hour-session-ratelimits": "session",
    "weekly-session-ratelimits": "weekly",
}
_QUOTA_HEADER: Final = "x-quota-snapshot-"
_WINDOW_HEADER: Final = "x-usage-ratelimit-"


# --- usage -----------------------------------------------------------------------------------


@final
@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One reply's token counts and cost.

    Attributes:
        model: the model the reply names (or the one asked for, when it names none).
        endpoint: the API path it came from.
        prompt_tokens: input tokens, cached ones included.
        completion_tokens: output tokens, reasoning included.
        cached_tokens: input tokens read from the prompt cache.
        cache_write_tokens: input tokens written to the cache (Messages only).
        reasoning_tokens: output tokens spent reasoning, when reported.
        copilot: the server's bill (``copilot_usage``), None when it sent none.
    """

    model: str
    endpoint: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    copilot: CopilotUsage | None = field(default=None, repr=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def metered(self) -> bool:
        """Did the server say what this cost?"""
        return self.copilot is not None

    @property
    def nano_aiu(self) -> float | None:
        """The cost in nano-AIU, None when not metered."""
        return self.copilot.nano_aiu if self.copilot is not None else None

    @property
    def credits(self) -> float | None:
        """The cost in AI credits (US$0.01 each), None when not metered."""
        return self.copilot.credits if self.copilot is not None else None


def usage_record(
    result: ChatCompletion | Response | Message | CreateEmbeddingResponse,
    *,
    model: str | None = None,
) -> UsageRecord:
    """The ``UsageRecord`` of any reply (zero counts when it reported none).

    ``model`` stands in when the reply names none.
    """
    name = result.model or model or ""
    if isinstance(result, ChatCompletion):
        usage = result.usage
        if usage is None:
            return UsageRecord(name, "/chat/completions", copilot=result.copilot_usage)
        prompt_details = usage.prompt_tokens_details
        completion_details = usage.completion_tokens_details
        return UsageRecord(
            name,
            "/chat/completions",
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=(prompt_details.cached_tokens or 0) if prompt_details else 0,
            reasoning_tokens=(
                (completion_details.reasoning_tokens or 0) if completion_details else 0
            ),
            copilot=result.copilot_usage,
        )
    if isinstance(result, Response):
        r_usage = result.usage
        if r_usage is None:
            return UsageRecord(name, "/responses", copilot=result.copilot_usage)
        return UsageRecord(
            name,
            "/responses",
            prompt_tokens=r_usage.input_tokens,
            completion_tokens=r_usage.output_tokens,
            cached_tokens=(
                r_usage.input_tokens_details.cached_tokens if r_usage.input_tokens_details else 0
            ),
            reasoning_tokens=(
                r_usage.output_tokens_details.reasoning_tokens
                if r_usage.output_tokens_details
                else 0
            ),
            copilot=result.copilot_usage,
        )
    if isinstance(result, Message):
        m_usage = result.usage
        if m_usage is None:
            return UsageRecord(name, "/v1/messages", copilot=result.copilot_usage)
        read = m_usage.cache_read_input_tokens or 0
        written = m_usage.cache_creation_input_tokens or 0
        return UsageRecord(
            name,
            "/v1/messages",
            prompt_tokens=m_usage.input_tokens + read + written,
            completion_tokens=m_usage.output_tokens,
            cached_tokens=read,
            cache_write_tokens=written,
            copilot=result.copilot_usage,
        )
    e_usage = result.usage
    return UsageRecord(
        name,
        "/embeddings",
        prompt_tokens=e_usage.prompt_tokens if e_usage is not None else 0,
        copilot=result.copilot_usage,
    )


@final
@dataclass(frozen=True, slots=True)
class ModelTotals:
    """Sums over the records of one model (or of all, for ``UsageTotals.total``)."""

    requests: int = 0
    #: requests whose reply carried no ``copilot_usage`` (their cost is unknown)
    unmetered_requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    nano_aiu: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def credits(self) -> float:
        """Metered cost in AI credits (unmetered requests count as 0)."""
        return self.nano_aiu / NANO_AIU_PER_CREDIT

    def plus(self, record: UsageRecord) -> ModelTotals:
        return ModelTotals(
            requests=self.requests + 1,
            unmetered_requests=self.unmetered_requests + (0 if record.metered else 1),
            prompt_tokens=self.prompt_tokens + record.prompt_tokens,
            completion_tokens=self.completion_tokens + record.completion_tokens,
            cached_tokens=self.cached_tokens + record.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + record.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + record.reasoning_tokens,
            nano_aiu=self.nano_aiu + (record.nano_aiu or 0.0),
        )


class UsageTotals:
    """Running totals per model. Not thread-safe; one per client, fed from one event loop."""

    __slots__ = ("_by_model", "_total")

    def __init__(self) -> None:
        self._by_model: dict[str, ModelTotals] = {}
        self._total = ModelTotals()

    def __repr__(self) -> str:
        return (
            f"<UsageTotals {self._total.requests} requests, {len(self._by_model)} models, "
            f"{self.credits:.4f} credits>"
        )

    def add(self, record: UsageRecord) -> None:
        self._by_model[record.model] = self._by_model.get(record.model, ModelTotals()).plus(record)
        self._total = self._total.plus(record)

    @property
    def by_model(self) -> Mapping[str, ModelTotals]:
        """A copy: model → its totals."""
        return dict(self._by_model)

    @property
    def total(self) -> ModelTotals:
        return self._total

    @property
    def credits(self) -> float:
        """AI credits metered so far, over every model."""
        return self._total.credits

    def reset(self) -> None:
        self._by_model.clear()
        self._total = ModelTotals()


# --- spending --------------------------------------------------------------------------------


def _price(prices: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        value = prices.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value)
    return None


def estimate_credits(
    token_prices: Mapping[str, Any] | None,
    *,
    input_tokens: int,
    output_tokens: int,
    cached_tokens: int = 0,
) -> float | None:
    """Credits a request would cost at a model's ``billing.token_prices`` (nano-AIU per
    ``batch_size`` tokens: ``input_price``, ``output_price``, ``cache_read_price`` or
    ``cache_price``); None when the prices are missing or unreadable.

    ``cached_tokens`` are the part of ``input_tokens`` expected from the cache.
    """
    if not token_prices:
        return None
    batch = _price(token_prices, "batch_size")
    input_price = _price(token_prices, "input_price")
    output_price = _price(token_prices, "output_price")
    if not batch or input_price is None or output_price is None:
        return None
    cache_price = _price(token_prices, "cache_read_price", "cache_price")
    if cache_price is None:
        cache_price = input_price
    fresh = max(0, input_tokens - cached_tokens)
    nano = (
        fresh * input_price + cached_tokens * cache_price + output_tokens * output_price
    ) / batch
    return nano / NANO_AIU_PER_CREDIT


def check_spend_cap(
    *,
    spent: float,
    cap: float | None,
    estimate: float | None = None,
    model: str | None = None,
) -> None:
    """Raise ``SpendCapReachedError`` if a request may not be sent under ``cap`` credits.

    Refused when ``spent`` (metered credits so far) has reached ``cap``, or when ``estimate``
    (the request's expected cost, if known) would take it past. ``cap=None``: no cap.

    Raises:
        SpendCapReachedError: the cap is reached, or would be passed.
        UsageError: ``cap`` is negative or not a finite number.
    """
    if cap is None:
        return
    given: Any = cap
    if isinstance(given, bool | str) or _number(given) is None:
        raise UsageError("max_ai_credits: must be a finite number of credits, or None")
    if cap < 0:
        raise UsageError("max_ai_credits: must not be negative")
    cost = estimate if estimate is not None and estimate > 0 else 0.0
    if spent >= cap:
        why = f"{spent:.4f} AI credits spent, the cap is {cap:g}"
    elif cost and spent + cost > cap:
        why = f"{spent:.4f} AI credits spent and this request may cost {cost:.4f}; cap {cap:g}"
    else:
        return
    raise SpendCapReachedError(
        f"not sent: {why} (raise Limits.max_ai_credits to continue)",
        spent=spent,
        cap=float(cap),
        estimate=cost,
        model=model,
    )


# --- quotas ----------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _timestamp(value: Any) -> float | None:
    """Unix time of an ISO date (``2026-05-01``) or date-time (``…T14:30:56Z``), as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@final
@dataclass(frozen=True, slots=True)
class QuotaSnapshot:
    """One quota or window: how much of it is left and when it resets.

    Attributes:
        quota_id: ``chat``, ``completions``, ``premium_interactions``, ``premium_models``,
            ``session`` (the rolling 5-hour window), ``weekly``, or another id as sent.
        entitlement: the allowance (None unknown; a window's header may say 0).
        remaining: what is left of it, when the source gave a count.
        percent_remaining: 0–100 (can be negative when overdrawn).
        unlimited: no limit applies.
        overage_count, overage_permitted: use beyond the allowance, and whether it is allowed.
        reset_date: the reset date or time as sent; ``resets_at`` the same as Unix time.
        source: ``"user"`` (``copilot_internal/user``) or ``"header"``.
    """

    quota_id: str
    entitlement: float | None = None
    remaining: float | None = None
    percent_remaining: float | None = None
    unlimited: bool = False
    overage_count: float | None = None
    overage_permitted: bool | None = None
    reset_date: str | None = None
    resets_at: float | None = None
    source: str = "user"

    @property
    def percent_used(self) -> float | None:
        if self.unlimited:
            return 0.0
        return None if self.percent_remaining is None else 100.0 - self.percent_remaining

    @property
    def exhausted(self) -> bool:
        """Nothing left and no overage allowed (unknown counts as not exhausted)."""
        if self.unlimited or self.overage_permitted:
            return False
        if self.remaining is not None and self.entitlement:
            return self.remaining <= 0
        return self.percent_remaining is not None and self.percent_remaining <= 0


def _snapshot_id(key: str) -> str:
    return _SNAPSHOT_ALIASES.get(key.lower(), key)


def _user_snapshot(key: str, raw: Mapping[str, Any], fallback_reset: str | None) -> QuotaSnapshot:
    entitlement = _number(raw.get("entitlement"))
    remaining = _number(raw.get("remaining"))
    if remaining is None:
        remaining = _number(raw.get("quota_remaining"))
    unlimited = _flag(raw.get("unlimited")) or entitlement == -1
    percent = _number(raw.get("percent_remaining"))
    if percent is None and entitlement and entitlement > 0 and remaining is not None:
        percent = 100.0 * remaining / entitlement
    reset = raw.get("reset_date") or raw.get("quota_reset_date") or fallback_reset
    reset_text = reset if isinstance(reset, str) else None
    return QuotaSnapshot(
        quota_id=_snapshot_id(key),
        entitlement=entitlement,
        remaining=remaining,
        percent_remaining=100.0 if unlimited and percent is None else percent,
        unlimited=bool(unlimited),
        overage_count=_number(raw.get("overage_count")),
        overage_permitted=_flag(raw.get("overage_permitted")),
        reset_date=reset_text,
        resets_at=_timestamp(reset_text),
        source="user",
    )


@final
@dataclass(frozen=True, slots=True)
class CopilotUser:
    """``copilot_internal/user``: the plan and its quotas. ``raw`` keeps the reply as sent."""

    login: str | None = None
    plan: str | None = None
    sku: str | None = None
    chat_enabled: bool | None = None
    can_signup_for_limited: bool | None = None
    token_based_billing: bool | None = None
    quota_reset_date: str | None = None
    quota_resets_at: float | None = None
    organizations: tuple[str, ...] = ()
    quotas: Mapping[str, QuotaSnapshot] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def quota(self, quota_id: str) -> QuotaSnapshot | None:
        return self.quotas.get(quota_id)

    @property
    def chat(self) -> QuotaSnapshot | None:
        return self.quotas.get("chat")

    @property
    def completions(self) -> QuotaSnapshot | None:
        return self.quotas.get("completions")

    @property
    def premium_interactions(self) -> QuotaSnapshot | None:
        """Premium requests, or AI credits on token billing (the same snapshot key)."""
        return self.quotas.get("premium_interactions")

    @property
    def session(self) -> QuotaSnapshot | None:
        """The rolling 5-hour window, when the reply had it."""
        return self.quotas.get("session")

    @property
    def weekly(self) -> QuotaSnapshot | None:
        return self.quotas.get("weekly")


def parse_copilot_user(payload: Any) -> CopilotUser:
    """A ``copilot_internal/user`` reply, leniently (fields of the wrong type read as absent).

    Free plans without ``quota_snapshots`` report ``monthly_quotas`` (allowance) and
    ``limited_user_quotas`` (left); those become ``chat`` and ``completions`` snapshots.
    """
    if not isinstance(payload, Mapping):
        return CopilotUser()
    reset = payload.get("quota_reset_date_utc") or payload.get("quota_reset_date")
    reset_text = reset if isinstance(reset, str) else None
    snapshots: dict[str, QuotaSnapshot] = {}
    raw_snapshots = payload.get("quota_snapshots")
    if isinstance(raw_snapshots, Mapping):
        for key, raw in raw_snapshots.items():
            if isinstance(key, str) and isinstance(raw, Mapping):
                snap = _user_snapshot(key, raw, reset_text)
                snapshots[snap.quota_id] = snap
    monthly = payload.get("monthly_quotas")
    left = payload.get("limited_user_quotas")
    if isinstance(monthly, Mapping) and isinstance(left, Mapping):
        for key in ("chat", "completions"):
            if key in snapshots:
                continue
            entitlement, remaining = _number(monthly.get(key)), _number(left.get(key))
            if entitlement is None and remaining is None:
                continue
            snapshots[key] = _user_snapshot(
                key, {"entitlement": entitlement, "remaining": remaining}, reset_text
            )
    orgs = payload.get("organization_login_list")
    return CopilotUser(
        login=payload.get("login") if isinstance(payload.get("login"), str) else None,
        plan=payload.get("copilot_plan") if isinstance(payload.get("copilot_plan"), str) else None,
        sku=(
            payload.get("access_type_sku")
            if isinstance(payload.get("access_type_sku"), str)
            else None
        ),
        chat_enabled=_flag(payload.get("chat_enabled")),
        can_signup_for_limited=_flag(payload.get("can_signup_for_limited")),
        token_based_billing=_flag(payload.get("token_based_billing")),
        quota_reset_date=reset_text,
        quota_resets_at=_timestamp(reset_text),
        organizations=(
            tuple(o for o in orgs if isinstance(o, str)) if isinstance(orgs, list) else ()
        ),
        quotas=snapshots,
        raw=payload,
    )


def parse_quota_header(quota_id: str, value: str) -> QuotaSnapshot | None:
    """One ``x-quota-snapshot-*`` / ``x-usage-ratelimit-*`` value
    (``ent=300&ov=0.0&ovPerm=false&rem=42.5&rst=2025-08-01T00:00:00Z``); None when it holds
    none of those fields. ``rem`` is percent remaining; ``ent=-1`` means unlimited."""
    fields = {k: v[0] for k, v in parse_qs(value, keep_blank_values=True).items() if v}
    if not fields.keys() & {"ent", "rem", "rst", "ov", "ovPerm"}:
        return None
    entitlement = _number(fields.get("ent"))
    percent = _number(fields.get("rem"))
    unlimited = entitlement == -1
    remaining = (
        entitlement * percent / 100.0
        if entitlement is not None and entitlement > 0 and percent is not None
        else None
    )
    reset = fields.get("rst") or None
    return QuotaSnapshot(
        quota_id=_snapshot_id(quota_id),
        entitlement=entitlement,
        remaining=remaining,
        percent_remaining=percent,
        unlimited=unlimited,
        overage_count=_number(fields.get("ov")),
        overage_permitted=_flag(fields.get("ovPerm")),
        reset_date=reset,
        resets_at=_timestamp(reset),
        source="header",
    )


def quotas_from_headers(headers: Mapping[str, str]) -> dict[str, QuotaSnapshot]:
    """Every quota snapshot a reply's headers carry (``chat``, ``premium_interactions``,
    ``premium_models``, ``session``, ``weekly``...), keyed by id. Unreadable values are skipped;
    read them on every reply, 429s included."""
    found: dict[str, QuotaSnapshot] = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith(_QUOTA_HEADER):
            quota_id = lower[len(_QUOTA_HEADER) :]
        elif lower.startswith(_WINDOW_HEADER):
            quota_id = lower[len(_WINDOW_HEADER) :]
        else:
            continue
        if not quota_id:
            continue
        snap = parse_quota_header(quota_id, value)
        if snap is not None:
            found[snap.quota_id] = snap
    return found
