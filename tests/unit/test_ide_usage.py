"""Usage records, running totals, AI-credit cost, quota snapshots from ``copilot_internal/user``
and from reply headers, and the spend cap (protocol.md §3.3, §3.5, §10.2, §10.3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from copilot_anyio._errors import SpendCapReachedError, UsageError
from copilot_anyio.ide._messages import Message, MessageUsage
from copilot_anyio.ide._responses import (
    Response,
    ResponseInputTokensDetails,
    ResponseOutputTokensDetails,
    ResponseUsage,
)
from copilot_anyio.ide._types import CopilotTokenDetail, CopilotUsage
from copilot_anyio.ide._usage import (
    UsageTotals,
    check_spend_cap,
    estimate_credits,
    parse_copilot_user,
    parse_quota_header,
    quotas_from_headers,
    usage_record,
)
from copilot_anyio.ide._wire import parse_chat_completion, parse_embeddings

BILL = {
    "total_nano_aiu": 6390000,
    "token_details": [
        {"token_type": "input", "token_count": 157, "batch_size": 1000000, "cost_per_batch": 3e10},
        {
            "token_type": "output",
            "token_count": 14,
            "batch_size": 1000000,
            "cost_per_batch": 1.2e11,
        },
    ],
}


def test_chat_record_reads_cached_reasoning_and_cost() -> None:
    completion = parse_chat_completion(
        json.dumps(
            {
                "model": "gpt-4.1",
                "choices": [],
                "usage": {
                    "prompt_tokens": 157,
                    "completion_tokens": 14,
                    "total_tokens": 171,
                    "prompt_tokens_details": {"cached_tokens": 100},
                    "completion_tokens_details": {"reasoning_tokens": 4},
                },
                "copilot_usage": BILL,
            }
        )
    )
    record = usage_record(completion)
    assert (record.model, record.endpoint) == ("gpt-4.1", "/chat/completions")
    assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (157, 14, 171)
    assert (record.cached_tokens, record.reasoning_tokens) == (100, 4)
    assert record.credits == pytest.approx(0.00639)
    # the fixture's total agrees with its details: sum(count * cost / batch)
    assert CopilotUsage(token_details=completion.copilot_usage.token_details).nano_aiu == (  # type: ignore[union-attr]
        pytest.approx(6390000)
    )


def test_responses_messages_and_embeddings_records() -> None:
    response = Response(
        model="gpt-5-codex",
        usage=ResponseUsage(
            input_tokens=10,
            output_tokens=5,
            input_tokens_details=ResponseInputTokensDetails(cached_tokens=6),
            output_tokens_details=ResponseOutputTokensDetails(reasoning_tokens=3),
        ),
    )
    r = usage_record(response)
    assert (r.endpoint, r.prompt_tokens, r.cached_tokens, r.reasoning_tokens) == (
        "/responses",
        10,
        6,
        3,
    )
    assert not r.metered
    assert r.credits is None
    message = Message(
        model="claude-sonnet-4.5",
        usage=MessageUsage(
            input_tokens=5,
            output_tokens=7,
            cache_read_input_tokens=20,
            cache_creation_input_tokens=3,
        ),
    )
    m = usage_record(message)
    assert (m.prompt_tokens, m.cached_tokens, m.cache_write_tokens, m.completion_tokens) == (
        28,
        20,
        3,
        7,
    )
    e = usage_record(
        parse_embeddings(b'{"model":"","data":[],"usage":{"prompt_tokens":4,"total_tokens":4}}'),
        model="text-embedding-3-small",
    )
    assert (e.model, e.endpoint, e.prompt_tokens) == ("text-embedding-3-small", "/embeddings", 4)


def test_totals_per_model() -> None:
    totals = UsageTotals()
    paid = CopilotUsage(total_nano_aiu=5e8)
    totals.add(
        usage_record(
            Response(
                model="a", usage=ResponseUsage(input_tokens=3, output_tokens=1), copilot_usage=paid
            )
        )
    )
    totals.add(
        usage_record(
            Response(
                model="a", usage=ResponseUsage(input_tokens=2, output_tokens=2), copilot_usage=paid
            )
        )
    )
    totals.add(
        usage_record(Message(model="b", usage=MessageUsage(input_tokens=1, output_tokens=1)))
    )
    a, b = totals.by_model["a"], totals.by_model["b"]
    assert (a.requests, a.prompt_tokens, a.completion_tokens, a.credits) == (2, 5, 3, 1.0)
    assert (b.requests, b.unmetered_requests, b.credits) == (1, 1, 0.0)
    assert totals.total.requests == 3
    assert totals.credits == 1.0
    assert "3 requests" in repr(totals)
    totals.reset()
    assert totals.total.requests == 0
    assert not totals.by_model


def test_cost_from_details_when_total_is_missing() -> None:
    usage = CopilotUsage(
        token_details=[
            CopilotTokenDetail(
                token_type="input", token_count=1000, batch_size=1000, cost_per_batch=2e9
            )
        ]
    )
    assert usage.credits == 2.0


def test_spend_cap() -> None:
    check_spend_cap(spent=10.0, cap=None)
    check_spend_cap(spent=0.5, cap=1.0)
    check_spend_cap(spent=0.5, cap=1.0, estimate=0.4)
    with pytest.raises(SpendCapReachedError) as reached:
        check_spend_cap(spent=1.0, cap=1.0, model="gpt-4.1")
    assert (reached.value.spent, reached.value.cap, reached.value.model) == (1.0, 1.0, "gpt-4.1")
    with pytest.raises(SpendCapReachedError) as ahead:
        check_spend_cap(spent=0.5, cap=1.0, estimate=0.6)
    assert ahead.value.estimate == 0.6
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError):
            check_spend_cap(spent=0, cap=bad)


def test_estimate_from_token_prices() -> None:
    prices = {
        "batch_size": 1_000_000,
        "input_price": 3e10,
        "output_price": 1.2e11,
        "cache_read_price": 3e9,
    }
    # 1M fresh input tokens = 30 credits; 1M output = 120; cached reads at a tenth
    assert estimate_credits(prices, input_tokens=1_000_000, output_tokens=0) == pytest.approx(30)
    assert estimate_credits(prices, input_tokens=0, output_tokens=1_000_000) == pytest.approx(120)
    assert estimate_credits(
        prices, input_tokens=1_000_000, output_tokens=0, cached_tokens=1_000_000
    ) == pytest.approx(3)
    assert estimate_credits(None, input_tokens=1, output_tokens=1) is None
    assert (
        estimate_credits(
            {"batch_size": 0, "input_price": 1, "output_price": 1}, input_tokens=1, output_tokens=1
        )
        is None
    )


USER = {
    "login": "octocat",
    "access_type_sku": "plus_monthly_subscriber_quota",
    "copilot_plan": "individual_pro",
    "chat_enabled": True,
    "token_based_billing": True,
    "quota_reset_date": "2026-08-01",
    "quota_reset_date_utc": "2026-08-01T00:00:00.000Z",
    "organization_login_list": ["acme", 3],
    "quota_snapshots": {
        "chat": {
            "entitlement": -1,
            "remaining": 0,
            "percent_remaining": 100.0,
            "unlimited": True,
            "overage_count": 0,
            "overage_permitted": False,
            "quota_id": "chat",
        },
        "completions": {"entitlement": -1, "unlimited": True, "quota_id": "completions"},
        "premium_interactions": {
            "entitlement": 300,
            "remaining": -1,
            "quota_remaining": -1.0,
            "percent_remaining": -0.33,
            "unlimited": False,
            "overage_count": 2,
            "overage_permitted": True,
        },
        "5Hour-Session-RateLimits": {
            "entitlement": 0,
            "percent_remaining": 12.5,
            "reset_date": "2026-07-14T17:00:00Z",
        },
        "Weekly-Session-RateLimits": {
            "entitlement": 0,
            "percent_remaining": 80,
            "reset_date": "2026-07-20T00:00:00Z",
        },
        "broken": "nope",
    },
}


def test_copilot_user_snapshots_and_windows() -> None:
    user = parse_copilot_user(USER)
    assert (user.login, user.plan, user.token_based_billing) == ("octocat", "individual_pro", True)
    assert user.organizations == ("acme",)
    assert user.chat is not None
    assert user.chat.unlimited
    assert user.chat.percent_used == 0.0
    premium = user.premium_interactions
    assert premium is not None
    assert (premium.remaining, premium.percent_remaining, premium.overage_count) == (-1, -0.33, 2)
    assert not premium.exhausted  # overage allowed
    assert user.session is not None
    assert user.session.percent_remaining == 12.5
    assert user.session.resets_at == datetime(2026, 7, 14, 17, tzinfo=UTC).timestamp()
    assert user.weekly is not None
    assert user.weekly.percent_remaining == 80
    assert user.premium_interactions.resets_at == datetime(2026, 8, 1, tzinfo=UTC).timestamp()  # type: ignore[union-attr]
    assert set(user.quotas) == {"chat", "completions", "premium_interactions", "session", "weekly"}
    assert parse_copilot_user("nonsense").quotas == {}


def test_free_plan_limited_quotas() -> None:
    user = parse_copilot_user(
        {
            "monthly_quotas": {"chat": 50, "completions": 2000},
            "limited_user_quotas": {"chat": 0, "completions": 1500},
        }
    )
    assert user.chat is not None
    assert user.chat.exhausted
    assert user.completions is not None
    assert user.completions.percent_remaining == 75.0


def test_quota_headers() -> None:
    headers = {
        "X-Quota-Snapshot-Premium_Interactions": "ent=300&ov=0.0&ovPerm=false&rem=42.5&rst=2025-08-01T00:00:00Z",
        "x-quota-snapshot-chat": "ent=-1&ov=0.0&ovPerm=false&rem=100&rst=",
        "x-usage-ratelimit-session": "ent=0&ov=0.0&ovPerm=false&rem=99.6&rst=2026-04-22T14%3A30%3A56Z",
        "x-usage-ratelimit-weekly": "rem=oops&rst=",
        "x-usage-ratelimit-other": "nothing=here",
        "content-type": "application/json",
    }
    found = quotas_from_headers(headers)
    assert set(found) == {"premium_interactions", "chat", "session", "weekly"}
    premium = found["premium_interactions"]
    assert (premium.entitlement, premium.percent_remaining, premium.remaining) == (300, 42.5, 127.5)
    assert premium.overage_permitted is False
    assert premium.source == "header"
    assert found["chat"].unlimited
    assert found["chat"].resets_at is None
    session = found["session"]
    assert session.resets_at == datetime(2026, 4, 22, 14, 30, 56, tzinfo=UTC).timestamp()
    assert session.remaining is None  # ent=0 says nothing about counts
    assert found["weekly"].percent_remaining is None
    assert parse_quota_header("x", "") is None
