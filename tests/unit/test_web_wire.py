"""Table tests for the web-threads wire format (protocol.md §2, §4.2): requests as data, replies
as ChatChunk / ChatResult values. No sockets, no event loop.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot_anyio._errors import (
    IncompleteStreamError,
    MalformedEventError,
    RemoteProtocolError,
    StreamServerError,
)
from copilot_anyio._lenient import SingleNewlineFraming
from copilot_anyio._models import ChatChunk, ChatResult, ThreadInfo
from copilot_anyio._send import BearerAuth
from copilot_anyio._sse import SSEDecoder
from copilot_anyio.web._api import CookieAuth, StaticToken
from copilot_anyio.web._wire import (
    AUTH_SCHEME,
    INTEGRATION_ID,
    Request,
    WebStreamAccumulator,
    create_thread_request,
    delete_thread_request,
    flatten_messages,
    last_assistant_message_id,
    list_messages_request,
    list_threads_request,
    parse_thread_id,
    parse_threads,
    parse_web_token,
    result_from_message,
    send_message_request,
    web_token_request,
)

GITHUB = "https://github.com"
API = "https://api.individual.githubcopilot.com"
# Shaped like a real web token (108 URL-safe base64 characters ending in "="), obviously fake.
TOKEN = "FAKEwebTOKEN" + "x" * 95 + "="
THREAD = "6f1c2a7e-0000-4000-8000-000000000001"
RESPONSE_ID = "0d9e8f7a-0000-4000-8000-0000000000ff"


def header(request: Request, name: str) -> str | None:
    """A header's value, looked up case-insensitively, as HTTP does."""
    matches = [v for k, v in request.headers.items() if k.lower() == name.lower()]
    assert len(matches) <= 1, f"{name} set twice: {matches}"
    return matches[0] if matches else None


def send(**overrides: Any) -> Request:
    kwargs: dict[str, Any] = {
        "thread_id": THREAD,
        "content": "Explain SSE in one sentence.",
        "model": "gpt-4.1",
        "parent_message_id": "root",
        "response_message_id": RESPONSE_ID,
    }
    kwargs.update(overrides)
    return send_message_request(API, GITHUB, **kwargs)


def body(request: Request) -> dict[str, Any]:
    assert isinstance(request.json, dict)
    return request.json


# --- requests to the Copilot API host ----------------------------------------------------------

# (id, builder, method, path under the API host)
API_REQUESTS: list[tuple[str, Callable[[], Request], str, str]] = [
    (
        "create_thread",
        lambda: create_thread_request(API, GITHUB),
        "POST",
        "/github/chat/threads",
    ),
    (
        "list_threads",
        lambda: list_threads_request(API, GITHUB),
        "GET",
        "/github/chat/threads",
    ),
    (
        "list_messages",
        lambda: list_messages_request(API, GITHUB, THREAD),
        "GET",
        f"/github/chat/threads/{THREAD}/messages",
    ),
    (
        "delete_thread",
        lambda: delete_thread_request(API, GITHUB, THREAD),
        "DELETE",
        f"/github/chat/threads/{THREAD}",
    ),
    ("send_message", send, "POST", f"/github/chat/threads/{THREAD}/messages"),
]
api_requests = pytest.mark.parametrize(
    ("build", "method", "path"),
    [pytest.param(b, m, p, id=i) for i, b, m, p in API_REQUESTS],
)


class TestApiRequests:
    @api_requests
    def test_method_and_url(self, build: Callable[[], Request], method: str, path: str) -> None:
        request = build()
        assert (request.method, request.url) == (method, API + path)

    @api_requests
    def test_builders_carry_no_credential(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        # The send loop's auth adds it to a copy, just before sending.
        assert header(build(), "Authorization") is None

    @api_requests
    def test_authorization_is_github_bearer(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        sent = BearerAuth(StaticToken(TOKEN), AUTH_SCHEME).apply(build(), TOKEN)
        assert header(sent, "Authorization") == f"GitHub-Bearer {TOKEN}"

    @api_requests
    def test_copilot_integration_id(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        assert header(build(), "Copilot-Integration-Id") == "copilot-chat"

    @api_requests
    def test_origin_is_the_github_host(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        assert header(build(), "Origin") == GITHUB

    @api_requests
    def test_no_cookie_header(self, build: Callable[[], Request], method: str, path: str) -> None:
        assert header(build(), "Cookie") is None

    @api_requests
    def test_repr_hides_the_token(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        request = BearerAuth(StaticToken(TOKEN), AUTH_SCHEME).apply(build(), TOKEN)
        assert TOKEN not in repr(request)
        assert TOKEN not in str(request)
        assert "Authorization" in repr(request)  # which headers are set is still visible

    @api_requests
    def test_body_is_json_serialisable(
        self, build: Callable[[], Request], method: str, path: str
    ) -> None:
        json.dumps(build().json)

    def test_integration_id_constant(self) -> None:
        assert INTEGRATION_ID == "copilot-chat"

    def test_configured_hosts_are_used(self) -> None:
        # The emulator serves both hosts on one loopback URL (protocol.md §1: {web_api} is
        # configurable).
        local = "http://127.0.0.1:8765"
        request = create_thread_request(local, local)
        assert request.url == f"{local}/github/chat/threads"
        assert header(request, "Origin") == local


class TestCreateThread:
    def test_body_is_one_the_server_accepts(self) -> None:
        # protocol.md §2.3: none, {} or {"custom_copilot_id": null}.
        assert create_thread_request(API, GITHUB).json in (
            None,
            {},
            {"custom_copilot_id": None},
        )

    def test_content_type_is_json(self) -> None:
        assert header(create_thread_request(API, GITHUB), "Content-Type") == ("application/json")


class TestWebTokenRequest:
    def test_method_and_url(self) -> None:
        request = web_token_request(GITHUB)
        assert (request.method, request.url) == ("POST", f"{GITHUB}/github-copilot/chat/token")

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("GitHub-Verified-Fetch", "true"),
            ("X-Requested-With", "XMLHttpRequest"),
            ("Origin", GITHUB),
        ],
    )
    def test_required_header(self, name: str, value: str) -> None:
        # protocol.md §2.2: the smallest working set (plus the cookies).
        assert header(web_token_request(GITHUB), name) == value

    def test_cookie_auth_adds_the_cookies(self) -> None:
        auth = CookieAuth({"user_session": "s1", "_gh_sess": "s2"})
        sent = auth.apply(web_token_request(GITHUB), "user_session=s1; _gh_sess=s2")
        assert header(sent, "Cookie") == "user_session=s1; _gh_sess=s2"
        assert "s1" not in repr(auth)

    def test_cookies_are_not_a_builder_header(self) -> None:
        # The cookie auth adds them, to this request only (the GitHub host).
        assert header(web_token_request(GITHUB), "Cookie") is None

    def test_no_authorization(self) -> None:
        assert header(web_token_request(GITHUB), "Authorization") is None

    def test_body_is_empty(self) -> None:
        assert web_token_request(GITHUB).json in (None, {})

    def test_configured_github_host(self) -> None:
        request = web_token_request("http://127.0.0.1:8765")
        assert request.url == "http://127.0.0.1:8765/github-copilot/chat/token"
        assert header(request, "Origin") == "http://127.0.0.1:8765"


class TestSendMessage:
    def test_content_verbatim(self) -> None:
        text = "line one\nline two — ünïcode 😀"
        assert body(send(content=text))["content"] == text

    def test_intent_is_conversation(self) -> None:
        assert body(send())["intent"] == "conversation"

    def test_references_is_an_empty_list(self) -> None:
        assert body(send())["references"] == []

    @pytest.mark.parametrize("streaming", [True, False])
    def test_streaming_flag(self, streaming: bool) -> None:
        assert body(send(streaming=streaming))["streaming"] is streaming

    def test_streams_by_default(self) -> None:
        assert body(send())["streaming"] is True

    def test_streaming_accepts_event_stream(self) -> None:
        assert header(send(streaming=True), "Accept") == "text/event-stream"

    def test_non_streaming_accepts_json(self) -> None:
        assert header(send(streaming=False), "Accept") == "application/json"

    @pytest.mark.parametrize(
        ("given", "sent"),
        [
            pytest.param("", "root", id="empty-becomes-root"),
            pytest.param("root", "root", id="root"),
            pytest.param("a1b2c3", "a1b2c3", id="previous-assistant-id"),
        ],
    )
    def test_parent_message_id(self, given: str, sent: str) -> None:
        assert body(send(parent_message_id=given))["parentMessageID"] == sent

    def test_response_message_id(self) -> None:
        assert body(send())["responseMessageID"] == RESPONSE_ID

    @pytest.mark.parametrize("model", ["gpt-4.1", "auto", "claude-sonnet-4"])
    def test_model(self, model: str) -> None:
        assert body(send(model=model))["model"] == model

    def test_current_url_names_the_thread(self) -> None:
        assert body(send())["currentURL"] == f"{GITHUB}/copilot/c/{THREAD}"

    def test_thread_id_in_url(self) -> None:
        assert send(thread_id="t-42").url == f"{API}/github/chat/threads/t-42/messages"

    def test_token_is_not_in_the_body(self) -> None:
        assert TOKEN not in json.dumps(send().json)


# --- parsing replies ---------------------------------------------------------------------------


class TestParseWebToken:
    def test_token(self) -> None:
        assert parse_web_token({"token": TOKEN}) == TOKEN

    def test_extra_fields_ignored(self) -> None:
        assert parse_web_token({"token": TOKEN, "expires_in": 1800}) == TOKEN

    @pytest.mark.parametrize(
        "payload",
        [None, [], "token", 7, {}, {"token": ""}, {"token": None}, {"token": 5}, {"value": TOKEN}],
    )
    def test_malformed(self, payload: Any) -> None:
        with pytest.raises(RemoteProtocolError):
            parse_web_token(payload)


class TestParseThreadId:
    def test_thread_id(self) -> None:
        assert parse_thread_id({"thread_id": "t1"}) == "t1"

    def test_thread_dot_id(self) -> None:
        assert parse_thread_id({"thread": {"id": "t2"}}) == "t2"

    def test_thread_id_preferred(self) -> None:
        assert parse_thread_id({"thread_id": "t1", "thread": {"id": "t2"}}) == "t1"

    def test_empty_thread_id_falls_back(self) -> None:
        assert parse_thread_id({"thread_id": "", "thread": {"id": "t2"}}) == "t2"

    def test_non_string_thread_id_falls_back(self) -> None:
        assert parse_thread_id({"thread_id": 17, "thread": {"id": "t2"}}) == "t2"

    def test_protocol_example(self) -> None:
        payload = {
            "thread_id": THREAD,
            "thread": {
                "id": THREAD,
                "name": "",
                "repoID": 0,
                "repoOwnerID": 0,
                "createdAt": "2025-06-01T12:00:00Z",
                "updatedAt": "2025-06-01T12:00:00Z",
                "sharedAt": None,
                "associatedRepoIDs": [],
            },
        }
        assert parse_thread_id(payload) == THREAD

    @pytest.mark.parametrize(
        "payload",
        [
            None,
            [],
            "",
            {},
            {"thread_id": ""},
            {"thread_id": None},
            {"thread_id": 5},
            {"thread": {"id": ""}},
            {"thread": {"id": 5}},
            {"thread": "t2"},
            {"thread": None},
        ],
    )
    def test_malformed(self, payload: Any) -> None:
        with pytest.raises(RemoteProtocolError):
            parse_thread_id(payload)


class TestParseThreads:
    def test_threads(self) -> None:
        payload = {
            "threads": [
                {"id": "a", "name": "First", "createdAt": "c1", "updatedAt": "u1"},
                {"id": "b", "name": "", "manuallyNamed": False},
            ]
        }
        threads = parse_threads(payload)
        assert [(t.id, t.name, t.created_at, t.updated_at) for t in threads] == [
            ("a", "First", "c1", "u1"),
            ("b", "", "", ""),
        ]

    def test_raw_entry_kept(self) -> None:
        entry = {"id": "a", "autoPickedModel": "gpt-4.1"}
        assert parse_threads({"threads": [entry]})[0].data == entry

    def test_null_name(self) -> None:
        assert parse_threads({"threads": [{"id": "a", "name": None}]})[0].name == ""

    @pytest.mark.parametrize(
        "entry",
        [
            pytest.param({"name": "no id"}, id="no-id"),
            pytest.param({"id": 5}, id="int-id"),
            pytest.param({"id": None}, id="null-id"),
            pytest.param({"id": ""}, id="empty-id"),
            pytest.param("a", id="string"),
            pytest.param(None, id="null"),
            pytest.param(["a"], id="list"),
        ],
    )
    def test_malformed_entry_skipped(self, entry: Any) -> None:
        payload = {"threads": [{"id": "a"}, entry, {"id": "b"}]}
        assert [t.id for t in parse_threads(payload)] == ["a", "b"]

    @pytest.mark.parametrize(
        "payload", [None, [], {}, {"threads": None}, {"threads": {"id": "a"}}, "threads"]
    )
    def test_no_thread_list(self, payload: Any) -> None:
        assert parse_threads(payload) == []


class TestLastAssistantMessageId:
    def test_last_assistant(self) -> None:
        payload = {
            "messages": [
                {"id": "u1", "role": "user"},
                {"id": "a1", "role": "assistant"},
                {"id": "u2", "role": "user"},
                {"id": "a2", "role": "assistant"},
                {"id": "u3", "role": "user"},
            ]
        }
        assert last_assistant_message_id(payload) == "a2"

    def test_assistant_without_id_skipped(self) -> None:
        payload = {
            "messages": [
                {"id": "a1", "role": "assistant"},
                {"id": "", "role": "assistant"},
                {"role": "assistant"},
                "junk",
            ]
        }
        assert last_assistant_message_id(payload) == "a1"

    @pytest.mark.parametrize(
        "payload",
        [
            pytest.param({"messages": []}, id="empty"),
            pytest.param({"messages": [{"id": "u1", "role": "user"}]}, id="user-only"),
            pytest.param({}, id="no-messages"),
            pytest.param(None, id="null"),
            pytest.param({"messages": "x"}, id="not-a-list"),
        ],
    )
    def test_root_without_assistant(self, payload: Any) -> None:
        assert last_assistant_message_id(payload) == "root"


class TestResultFromMessage:
    def test_fields(self) -> None:
        payload = {
            "message": {
                "id": "m2",
                "parentMessageID": "m1",
                "role": "assistant",
                "content": "Hello!",
                "model": "gpt-4.1",
                "references": [{"results": [{"title": "t", "url": "u"}]}],
            }
        }
        assert result_from_message(payload, THREAD) == ChatResult(
            text="Hello!",
            message_id="m2",
            thread_id=THREAD,
            parent_message_id="m1",
            model="gpt-4.1",
        )

    def test_missing_fields_are_empty(self) -> None:
        result = result_from_message({"message": {}}, THREAD)
        assert (result.text, result.message_id, result.parent_message_id, result.model) == (
            "",
            "",
            "",
            "",
        )

    def test_finish_reason_stop(self) -> None:
        assert result_from_message({"message": {"content": "x"}}, THREAD).finish_reason == "stop"

    @pytest.mark.parametrize(
        "payload",
        [None, [], "x", {}, {"message": None}, {"message": "Hello"}, {"message": ["Hello"]}],
    )
    def test_malformed(self, payload: Any) -> None:
        with pytest.raises(RemoteProtocolError):
            result_from_message(payload, THREAD)


# --- flattening a transcript -------------------------------------------------------------------


class TestFlattenMessages:
    def test_single_user_message_verbatim(self) -> None:
        text = "Explain SSE\n\nin one sentence."
        assert flatten_messages([{"role": "user", "content": text}]) == text

    def test_single_message_without_role_is_user(self) -> None:
        assert flatten_messages([{"content": "hi"}]) == "hi"

    def test_single_system_message_is_labelled(self) -> None:
        assert flatten_messages([{"role": "system", "content": "be terse"}]) == ("System: be terse")

    def test_transcript_with_role_labels(self) -> None:
        messages = [
            {"role": "system", "content": "be terse"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "bye"},
        ]
        assert flatten_messages(messages) == (
            "System: be terse\n\nUser: hi\n\nAssistant: hello\n\nUser: bye"
        )

    def test_content_parts_keep_text(self) -> None:
        parts = [
            {"type": "text", "text": "Look at"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "this"},
        ]
        flat = flatten_messages([{"role": "user", "content": parts}])
        assert "Look at" in flat
        assert "this" in flat
        assert flat.index("Look at") < flat.index("this")
        assert "image" not in flat
        assert "AAAA" not in flat

    def test_single_text_part(self) -> None:
        assert flatten_messages(
            [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        ) == ("hi")

    def test_content_parts_in_transcript(self) -> None:
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": [{"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": "hello"},
        ]
        assert flatten_messages(messages) == "User: hi\n\nAssistant: hello"

    def test_null_content(self) -> None:
        assert flatten_messages([{"role": "user", "content": None}]) == ""

    def test_no_messages(self) -> None:
        assert flatten_messages([]) == ""


# --- the stream ----------------------------------------------------------------------------------

COMPLETE = {
    "type": "complete",
    "id": "a2",
    "parentMessageID": "u2",
    "model": "gpt-4.1",
    "turnId": "",
    "createdAt": "2025-06-01T12:00:00.123456789Z",
    "references": [],
    "role": "assistant",
    "intent": "conversation",
    "copilotAnnotations": {"CodeVulnerability": [], "PublicCodeReference": []},
}


def feed_all(acc: WebStreamAccumulator, *payloads: Mapping[str, Any] | str) -> list[ChatChunk]:
    chunks = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        chunk = acc.feed(data)
        if chunk is not None:
            chunks.append(chunk)
    return chunks


class TestWebStreamAccumulator:
    def test_protocol_example(self) -> None:
        # The made-up stream of protocol.md §4.2.
        acc = WebStreamAccumulator(THREAD)
        feed_all(
            acc,
            '{"type":"content","body":"Hel"}',
            '{"type":"content","body":"lo!"}',
            json.dumps(COMPLETE),
        )
        assert acc.finish() == ChatResult(
            text="Hello!",
            message_id="a2",
            thread_id=THREAD,
            parent_message_id="u2",
            model="gpt-4.1",
        )

    def test_content_chunk(self) -> None:
        chunk = WebStreamAccumulator(THREAD).feed('{"type":"content","body":"Hel"}')
        assert chunk is not None
        assert (chunk.type, chunk.text) == ("content", "Hel")
        assert chunk.data == {"type": "content", "body": "Hel"}

    def test_content_deltas_accumulate(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, *({"type": "content", "body": piece} for piece in ["a", "", "b c", "\n"]))
        assert acc.partial_text == "ab c\n"

    def test_non_string_body_adds_nothing(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        chunks = feed_all(acc, {"type": "content", "body": "a"}, {"type": "content", "body": 5})
        assert acc.partial_text == "a"
        assert chunks[1].text == ""

    def test_complete_chunk(self) -> None:
        chunk = WebStreamAccumulator(THREAD).feed(json.dumps(COMPLETE))
        assert chunk is not None
        assert (chunk.type, chunk.text) == ("complete", "")
        assert chunk.data["id"] == "a2"

    def test_completed_flag(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {"type": "content", "body": "x"})
        assert acc.completed is False
        feed_all(acc, COMPLETE)
        assert acc.completed is True

    def test_result_before_complete_raises(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {"type": "content", "body": "x"})
        with pytest.raises(IncompleteStreamError) as info:
            acc.finish()
        assert info.value.partial_text == "x"

    def test_result_of_empty_stream_raises(self) -> None:
        with pytest.raises(IncompleteStreamError):
            WebStreamAccumulator(THREAD).finish()

    @pytest.mark.parametrize(
        ("field", "value", "attribute", "expected"),
        [
            ("id", "a9", "message_id", "a9"),
            ("parentMessageID", "u9", "parent_message_id", "u9"),
            ("model", "claude-sonnet-4", "model", "claude-sonnet-4"),
            ("model", "", "model", ""),  # the captured reply had an empty model
        ],
    )
    def test_result_field(self, field: str, value: str, attribute: str, expected: str) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {**COMPLETE, field: value})
        assert getattr(acc.finish(), attribute) == expected

    def test_result_thread_id(self) -> None:
        acc = WebStreamAccumulator("t-77")
        feed_all(acc, COMPLETE)
        assert acc.finish().thread_id == "t-77"

    def test_result_finish_reason(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, COMPLETE)
        assert acc.finish().finish_reason == "stop"

    @pytest.mark.parametrize("data", ["not json", "[DONE]", "", "\ufeff{}", "ping"])
    def test_non_json_skipped_and_counted(self, data: str) -> None:
        acc = WebStreamAccumulator(THREAD)
        assert acc.feed(data) is None
        assert acc.skipped == 1
        assert acc.partial_text == ""

    @pytest.mark.parametrize("data", ["{", '{"type":"content","body":"x"', "{not json}", " {"])
    def test_an_unreadable_object_ends_the_stream_with_the_text_so_far(self, data: str) -> None:
        # It may have been a content delta: dropping it would report a success missing text.
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {"type": "content", "body": "before"})
        with pytest.raises(MalformedEventError) as info:
            acc.feed(data)
        assert info.value.partial_text == "before"

    @pytest.mark.parametrize(
        ("raw", "text"),
        [
            ('{"type":"content","body":"tab\there"}', "tab\there"),
            ('{"type":"content","body":"line\nbreak"}', "line\nbreak"),
            ('{"type":"content","body":"bell\x07"}', "bell\x07"),
        ],
    )
    def test_raw_control_characters_in_strings_are_read_leniently(
        self, raw: str, text: str
    ) -> None:
        acc = WebStreamAccumulator(THREAD)
        chunk = acc.feed(raw)
        assert chunk is not None
        assert chunk.text == text
        assert acc.partial_text == text

    @pytest.mark.parametrize("data", ["[1, 2]", '"content"', "42", "null", "true"])
    def test_non_object_json_skipped(self, data: str) -> None:
        acc = WebStreamAccumulator(THREAD)
        assert acc.feed(data) is None
        assert acc.skipped == 1

    def test_skipped_payloads_do_not_stop_the_stream(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(
            acc, {"type": "content", "body": "a"}, "garbage", "[]", {"type": "content", "body": "b"}
        )
        feed_all(acc, COMPLETE)
        assert (acc.finish().text, acc.skipped) == ("ab", 2)

    def test_deeply_nested_json_is_skipped(self) -> None:
        # A payload too deep for the JSON decoder is as unreadable as any other non-JSON one
        # (protocol.md §4.1 rule 7), not a crash of the reader.
        acc = WebStreamAccumulator(THREAD)
        assert acc.feed("[" * 100_000) is None
        assert acc.skipped == 1

    @pytest.mark.parametrize(
        "payload",
        [
            {"type": "routedModel", "model": "gpt-4.1"},
            {"type": "threadAutoPickedModel", "model": "gpt-4.1"},
            {"type": "annotations", "annotations": []},
            {"type": "skill-progress", "name": "bing-search", "status": "started"},
        ],
    )
    def test_unknown_type_passed_through(self, payload: dict[str, Any]) -> None:
        acc = WebStreamAccumulator(THREAD)
        chunk = acc.feed(json.dumps(payload))
        assert chunk is not None
        assert (chunk.type, chunk.text) == (payload["type"], "")
        assert chunk.data == payload
        assert acc.partial_text == ""
        assert acc.skipped == 0

    def test_object_without_type_passed_through(self) -> None:
        # Skill progress objects are named by `name`; their `type` is uncertain (§4.2).
        payload = {"name": "codesearch", "status": "done"}
        chunk = WebStreamAccumulator(THREAD).feed(json.dumps(payload))
        assert chunk is not None
        assert chunk.text == ""
        assert chunk.data == payload

    def test_unknown_type_does_not_complete(self) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {"type": "routedModel", "model": "gpt-4.1"})
        assert acc.completed is False

    @pytest.mark.parametrize(
        ("payload", "message", "code"),
        [
            pytest.param(
                {"type": "error", "error": {"message": "boom", "code": "model_overloaded"}},
                "boom",
                "model_overloaded",
                id="typed-nested",
            ),
            pytest.param(
                {"error": {"message": "boom", "code": "rate_limited"}},
                "boom",
                "rate_limited",
                id="untyped-nested",
            ),
            pytest.param(
                {"type": "error", "message": "boom", "code": "x1"}, "boom", "x1", id="typed-flat"
            ),
            pytest.param({"error": "boom"}, "boom", None, id="error-string"),
            pytest.param({"type": "error", "body": "boom"}, "boom", None, id="error-body"),
        ],
    )
    def test_error_object(self, payload: dict[str, Any], message: str, code: str | None) -> None:
        acc = WebStreamAccumulator(THREAD)
        feed_all(acc, {"type": "content", "body": "Hel"}, {"type": "content", "body": "lo"})
        with pytest.raises(StreamServerError) as info:
            acc.feed(json.dumps(payload))
        assert info.value.partial_text == "Hello"
        assert info.value.code == code
        assert message in str(info.value)

    def test_error_without_message_still_says_something(self) -> None:
        with pytest.raises(StreamServerError) as info:
            WebStreamAccumulator(THREAD).feed('{"type":"error"}')
        assert str(info.value)
        assert info.value.partial_text == ""
        assert info.value.code is None


# --- framing single-newline streams (protocol.md §4.1 rule 5) ---------------------------------

WEB_EVENTS = ['{"type":"content","body":"Hel"}', '{"type":"content","body":"lo!"}', '{"x":{}}']


def framed(separator: str, line_ending: str = "\n") -> bytes:
    return "".join(f"data: {e}{line_ending}{separator}" for e in WEB_EVENTS).encode()


def decode_framed(chunks: list[bytes]) -> list[str]:
    framing = SingleNewlineFraming()
    decoder = SSEDecoder()
    events = []
    for chunk in chunks:
        events.extend(decoder.feed(framing.feed(chunk)))
    events.extend(decoder.feed_eof())
    return [event.data for event in events]


def splits(stream: bytes) -> list[list[bytes]]:
    cuts = [[stream[:i], stream[i:]] for i in range(len(stream) + 1)]
    return [[stream], [stream[i : i + 1] for i in range(len(stream))], *cuts]


STREAMS = [
    pytest.param(framed(""), id="lf"),
    pytest.param(framed("\n"), id="lf-lf"),
    pytest.param(framed("\r\n", "\r\n"), id="crlf-crlf"),
    pytest.param(framed("", "\r\n"), id="crlf"),
    pytest.param(framed(": keep-alive\n"), id="lf-with-comments"),
]


class TestSingleNewlineFraming:
    @pytest.mark.parametrize("stream", STREAMS)
    def test_one_event_per_data_line(self, stream: bytes) -> None:
        # A complete JSON data line followed by another data line is an event of its own,
        # whether or not a blank line separates them.
        assert decode_framed([stream]) == WEB_EVENTS

    @pytest.mark.parametrize("stream", STREAMS)
    def test_chunking_does_not_matter(self, stream: bytes) -> None:
        for chunks in splits(stream):
            assert decode_framed(chunks) == WEB_EVENTS, chunks

    def test_brace_and_newline_split_across_chunks(self) -> None:
        assert decode_framed([b'data: {"a":1}', b'\ndata: {"b":2}', b"\n"]) == [
            '{"a":1}',
            '{"b":2}',
        ]

    def test_empty_chunk_keeps_state(self) -> None:
        framing = SingleNewlineFraming()
        assert framing.feed(b"") == b""
        out = framing.feed(b'data: {"a":1}') + framing.feed(b"") + framing.feed(b"\ndata: x\n")
        assert b'{"a":1}\n\n' in out

    def test_last_line_dispatched_at_eof(self) -> None:
        assert decode_framed([b'data: {"a":1}\n']) == ['{"a":1}']

    def test_already_framed_bytes_keep_their_events(self) -> None:
        stream = framed("\n")
        decoder = SSEDecoder()
        plain = [e.data for e in decoder.feed(stream) + decoder.feed_eof()]
        assert decode_framed([stream]) == plain

    @pytest.mark.parametrize("stream", [framed("\n"), framed("\r\n", "\r\n")])
    def test_a_framed_chunk_is_passed_on_untouched(self, stream: bytes) -> None:
        # No extra blank line: the exact decoder keeps to its fast path for such streams.
        framing = SingleNewlineFraming()
        assert framing.feed(stream) == stream
        assert framing.feed(stream) == stream

    @given(
        st.lists(
            st.tuples(
                st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
                st.sampled_from(["\n", "\n\n", "\r\n", "\r\n\r\n", "\n: ping\n", "\n\n\n"]),
            ),
            min_size=1,
            max_size=8,
        ),
        st.lists(st.integers(min_value=0, max_value=2_000), max_size=6),
    )
    def test_any_mix_of_framings_and_cuts_keeps_every_event(
        self, events: list[tuple[str, str]], cuts: list[int]
    ) -> None:
        datas = [json.dumps({"i": i, "t": text}) for i, (text, _) in enumerate(events)]
        stream = "".join(f"data: {d}{end}" for d, (_, end) in zip(datas, events, strict=True))
        raw = stream.encode()
        points = sorted({0, len(raw), *(c % (len(raw) + 1) for c in cuts)})
        chunks = [raw[a:b] for a, b in itertools.pairwise(points)]
        assert decode_framed(chunks) == datas

    def test_lines_not_ending_in_a_brace_untouched(self) -> None:
        assert SingleNewlineFraming().feed(b"data: [DONE]\n: ping\n") == (b"data: [DONE]\n: ping\n")


# --- the data types ------------------------------------------------------------------------------


class TestModels:
    def test_chunk_data_not_in_repr_or_equality(self) -> None:
        a = ChatChunk("content", "x", {"secret-ish": "payload"})
        assert "payload" not in repr(a)
        assert a == ChatChunk("content", "x", {})

    def test_chunk_is_frozen(self) -> None:
        chunk = ChatChunk("content", "x")
        with pytest.raises(dataclasses.FrozenInstanceError):
            chunk.text = "y"  # type: ignore[misc]

    def test_result_defaults(self) -> None:
        result = ChatResult(text="t", message_id="m", thread_id="th")
        assert (result.parent_message_id, result.model, result.finish_reason) == ("", "", "stop")

    def test_thread_info_data_not_in_repr(self) -> None:
        assert "hidden" not in repr(ThreadInfo("a", data={"x": "hidden"}))
