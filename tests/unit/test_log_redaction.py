"""The HTTP stack's debug records lose credential header values, and nothing else."""

from __future__ import annotations

import logging

import pytest

from copilot_anyio._transport import _httpx  # noqa: F401  (importing it installs the filter)
from copilot_anyio._transport._redact import HTTP_STACK_LOGGERS, RedactCredentials, redact

HEADERS = (
    "receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK', "
    "[(b'content-type', b'application/json'), (b'Set-Cookie', b'user_session=SECRET1; Path=/'), "
    "(b'set-cookie', b\"_gh_sess=SECRET2'x; Path=/\"), (b'x-request-id', b'r1')])"
)


def test_credential_header_values_are_redacted_in_either_quote_style() -> None:
    cleaned = redact(HEADERS)
    assert "SECRET1" not in cleaned
    assert "SECRET2" not in cleaned
    assert cleaned.count("<redacted>") == 2
    # everything else is kept, names of the redacted headers included
    assert "(b'x-request-id', b'r1')" in cleaned
    assert "(b'Set-Cookie', b'<redacted>')" in cleaned
    assert "(b'content-type', b'application/json')" in cleaned


@pytest.mark.parametrize("name", ["authorization", "Proxy-Authorization", "cookie"])
def test_request_credentials_would_be_redacted_too(name: str) -> None:
    assert "tok" not in redact(f"[('{name}', 'GitHub-Bearer tok')]")


def test_text_without_credentials_is_unchanged() -> None:
    text = "send_request_headers.started request=<Request [b'POST']> cookie-less"
    assert redact(text) == text


@pytest.mark.parametrize("name", HTTP_STACK_LOGGERS)
def test_the_filter_sits_on_every_http_stack_logger(name: str) -> None:
    assert any(isinstance(f, RedactCredentials) for f in logging.getLogger(name).filters)


def test_a_record_with_arguments_is_formatted_then_redacted() -> None:
    record = logging.LogRecord(
        "httpcore.http11", logging.DEBUG, __file__, 1, "%s", (HEADERS,), None
    )
    assert RedactCredentials().filter(record) is True
    assert "SECRET1" not in record.getMessage()
    assert record.args == ()
