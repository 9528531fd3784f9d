"""The error hierarchy (style.md §5): what each class keeps, how it prints, where it says it lives."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import copilot_anyio
import copilot_anyio._errors as errors_module
from copilot_anyio._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectTimeout,
    CopilotError,
    CredentialsError,
    EventTooLarge,
    IncompleteStreamError,
    LocalProtocolError,
    NotFoundError,
    PermissionDeniedError,
    PoolTimeout,
    ProtocolError,
    QuotaExceededError,
    RateLimitError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    ServerError,
    StreamError,
    StreamInterruptedError,
    StreamServerError,
    StreamStalledError,
    TokenExchangeError,
    TransportError,
    UsageError,
    WebSessionInvalidError,
    WriteError,
)

STATUS_CLASSES: list[tuple[type[APIStatusError], int]] = [
    (APIStatusError, 422),
    (BadRequestError, 400),
    (AuthenticationError, 401),
    (QuotaExceededError, 402),
    (PermissionDeniedError, 403),
    (NotFoundError, 404),
    (RateLimitError, 429),
    (ServerError, 500),
]
status_classes = pytest.mark.parametrize(
    ("cls", "status"), [pytest.param(c, s, id=c.__name__) for c, s in STATUS_CLASSES]
)
BODY = '{"error":{"message":"You have no quota","code":"quota_exceeded"}}\n'


def make(cls: type[APIStatusError], status: int, **extra: Any) -> APIStatusError:
    kwargs: dict[str, Any] = {
        "status_code": status,
        "headers": {"X-Request-Id": "ABCD:1", "Content-Type": "text/plain"},
        "body": BODY,
        "code": "quota_exceeded",
        "request_id": "ABCD:1",
    }
    kwargs.update(extra)
    return cls("You have no quota", **kwargs)


def public_classes() -> list[type[BaseException]]:
    return [getattr(errors_module, name) for name in errors_module.__all__]


class TestHierarchy:
    @pytest.mark.parametrize(
        ("cls", "parent"),
        [
            (UsageError, CopilotError),
            (UsageError, RuntimeError),
            (CredentialsError, CopilotError),
            (ConnectError, TransportError),
            (ConnectTimeout, TransportError),
            (ReadError, TransportError),
            (ReadTimeout, TransportError),
            (WriteError, TransportError),
            (PoolTimeout, TransportError),
            (TransportError, CopilotError),
            (LocalProtocolError, ProtocolError),
            (RemoteProtocolError, ProtocolError),
            (EventTooLarge, RemoteProtocolError),
            (ProtocolError, CopilotError),
            (IncompleteStreamError, StreamError),
            (StreamStalledError, StreamError),
            (StreamInterruptedError, StreamError),
            (StreamServerError, StreamError),
            (StreamError, CopilotError),
            (BadRequestError, APIStatusError),
            (AuthenticationError, APIStatusError),
            (QuotaExceededError, APIStatusError),
            (PermissionDeniedError, APIStatusError),
            (NotFoundError, APIStatusError),
            (RateLimitError, APIStatusError),
            (ServerError, APIStatusError),
            (APIStatusError, CopilotError),
            (WebSessionInvalidError, TokenExchangeError),
            (TokenExchangeError, CopilotError),
        ],
    )
    def test_parent(self, cls: type[BaseException], parent: type[BaseException]) -> None:
        assert issubclass(cls, parent)

    @pytest.mark.parametrize(
        ("cls", "not_parent"),
        [
            (ReadTimeout, TimeoutError),  # a timeout is not the builtin, nor cancellation
            (TransportError, OSError),
            (RateLimitError, QuotaExceededError),
            (QuotaExceededError, RateLimitError),
            (TokenExchangeError, APIStatusError),
            (StreamError, TransportError),
        ],
    )
    def test_not_parent(self, cls: type[BaseException], not_parent: type[BaseException]) -> None:
        assert not issubclass(cls, not_parent)

    def test_every_class_is_a_copilot_error(self) -> None:
        assert all(issubclass(cls, CopilotError) for cls in public_classes())

    def test_every_error_class_is_listed(self) -> None:
        defined = {
            name
            for name, obj in vars(errors_module).items()
            if inspect.isclass(obj) and issubclass(obj, BaseException) and not name.startswith("_")
        }
        assert defined == set(errors_module.__all__)

    @pytest.mark.parametrize("name", errors_module.__all__)
    def test_module_is_the_package(self, name: str) -> None:
        assert getattr(errors_module, name).__module__ == "copilot_anyio"

    @pytest.mark.parametrize("name", errors_module.__all__)
    def test_exported_from_the_package(self, name: str) -> None:
        assert getattr(copilot_anyio, name) is getattr(errors_module, name)

    @pytest.mark.parametrize("name", errors_module.__all__)
    def test_named_in_the_docstring_tree(self, name: str) -> None:
        assert errors_module.__doc__ is not None
        assert f" {name} " in errors_module.__doc__ or f" {name}\n" in errors_module.__doc__


class TestAPIStatusError:
    @status_classes
    def test_keeps_everything(self, cls: type[APIStatusError], status: int) -> None:
        error = make(cls, status)
        assert (error.status_code, error.body, error.code, error.request_id, error.message) == (
            status,
            BODY,
            "quota_exceeded",
            "ABCD:1",
            "You have no quota",
        )

    @status_classes
    def test_headers_lower_cased(self, cls: type[APIStatusError], status: int) -> None:
        assert make(cls, status).headers == {"x-request-id": "ABCD:1", "content-type": "text/plain"}

    @status_classes
    def test_str(self, cls: type[APIStatusError], status: int) -> None:
        assert str(make(cls, status)) == f"{status}: You have no quota (request id ABCD:1)"

    @status_classes
    def test_str_without_request_id(self, cls: type[APIStatusError], status: int) -> None:
        assert str(make(cls, status, request_id=None)) == f"{status}: You have no quota"

    @status_classes
    def test_repr_has_no_body(self, cls: type[APIStatusError], status: int) -> None:
        error = make(cls, status, body="BODY-MARKER " + BODY)
        text = repr(error)
        assert "BODY-MARKER" not in text
        assert text.startswith(f"{cls.__name__}(")
        assert f"status_code={status}" in text
        assert "quota_exceeded" in text

    @status_classes
    def test_args_are_the_message(self, cls: type[APIStatusError], status: int) -> None:
        assert make(cls, status).args == ("You have no quota",)

    @status_classes
    def test_defaults(self, cls: type[APIStatusError], status: int) -> None:
        error = cls("m", status_code=status)
        assert (error.headers, error.body, error.code, error.request_id) == ({}, "", None, None)

    @status_classes
    def test_status_code_is_keyword_only(self, cls: type[APIStatusError], status: int) -> None:
        with pytest.raises(TypeError):
            cls("m", status)  # type: ignore[call-arg]

    @pytest.mark.parametrize("cls", [RateLimitError, QuotaExceededError])
    def test_retry_after(self, cls: type[RateLimitError | QuotaExceededError]) -> None:
        error = cls("wait", status_code=429, retry_after=42.5, request_id="r")
        assert (error.retry_after, error.status_code, error.request_id) == (42.5, 429, "r")

    @pytest.mark.parametrize("cls", [RateLimitError, QuotaExceededError])
    def test_retry_after_default(self, cls: type[RateLimitError | QuotaExceededError]) -> None:
        assert cls("wait", status_code=429).retry_after is None

    def test_catchable_by_base(self) -> None:
        with pytest.raises(APIStatusError) as info:
            raise make(RateLimitError, 429)
        assert isinstance(info.value, RateLimitError)


class TestStreamErrors:
    @pytest.mark.parametrize(
        "cls",
        [StreamError, IncompleteStreamError, StreamStalledError, StreamInterruptedError],
    )
    def test_partial_text(self, cls: type[StreamError]) -> None:
        error = cls("cut short", partial_text="Hel")
        assert (error.partial_text, str(error)) == ("Hel", "cut short")

    @pytest.mark.parametrize(
        "cls",
        [StreamError, IncompleteStreamError, StreamStalledError, StreamInterruptedError],
    )
    def test_partial_text_default(self, cls: type[StreamError]) -> None:
        assert cls("x").partial_text == ""

    def test_server_error_code(self) -> None:
        error = StreamServerError("boom", partial_text="He", code="model_overloaded")
        assert (error.partial_text, error.code, str(error)) == ("He", "model_overloaded", "boom")

    def test_server_error_code_default(self) -> None:
        assert StreamServerError("boom").code is None


class TestOtherErrors:
    def test_event_too_large(self) -> None:
        error = EventTooLarge(70_000, 65_536)
        assert (error.size, error.limit) == (70_000, 65_536)
        assert "70000" in str(error)
        assert "65536" in str(error)

    def test_event_too_large_is_remote(self) -> None:
        with pytest.raises(RemoteProtocolError):
            raise EventTooLarge(2, 1)

    def test_token_exchange_error(self) -> None:
        error = TokenExchangeError(
            "sign in again", status_code=401, body='{"message":"Bad credentials"}'
        )
        assert (error.status_code, error.body, str(error)) == (
            401,
            '{"message":"Bad credentials"}',
            "sign in again",
        )

    def test_token_exchange_error_defaults(self) -> None:
        error = TokenExchangeError("x")
        assert (error.status_code, error.body) == (None, "")

    def test_web_session_invalid(self) -> None:
        error = WebSessionInvalidError("cookies refused", status_code=404)
        assert isinstance(error, TokenExchangeError)
        assert error.status_code == 404

    def test_usage_error_is_runtime_error(self) -> None:
        with pytest.raises(RuntimeError):
            raise UsageError("stream is closed")
