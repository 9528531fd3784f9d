"""The lean transport's pure parts: the response parser over llhttp, and the transport choice."""

from __future__ import annotations

import pytest

from copilot_anyio import UsageError
from copilot_anyio._transport import TRANSPORT_ENV, choose_http
from copilot_anyio._transport._parser import MAX_HEAD, ParseError, ResponseParser

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
)


def parse(data: bytes, *, step: int | None = None) -> ResponseParser:
    parser = ResponseParser()
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        parser.feed(piece)
    return parser


class TestResponseParser:
    @pytest.mark.parametrize("step", [None, 1, 7])
    def test_any_split_gives_the_same_response(self, step: int | None) -> None:
        parser = parse(CHUNKED, step=step)
        assert parser.status == 200
        assert (b"Content-Type", b"text/event-stream") in parser.headers
        assert b"".join(parser.body) == b"hello world"
        assert parser.done
        assert parser.keep_alive

    def test_an_interim_response_is_skipped(self) -> None:
        parser = parse(b"HTTP/1.1 100 Continue\r\n\r\n" + CHUNKED)
        assert parser.status == 200
        assert [name for name, _ in parser.headers] == [b"Content-Type", b"Transfer-Encoding"]
        assert b"".join(parser.body) == b"hello world"

    def test_bytes_after_the_response_forbid_reuse(self) -> None:
        parser = parse(CHUNKED + b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        assert parser.done
        assert not parser.keep_alive

    def test_connection_close_forbids_reuse(self) -> None:
        parser = parse(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
        assert parser.done
        assert not parser.keep_alive

    def test_a_body_to_eof_ends_at_eof(self) -> None:
        parser = parse(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        done_before = parser.done
        parser.feed_eof()
        assert (done_before, parser.done) == (False, True)
        assert b"".join(parser.body) == b"until the end"
        assert not parser.keep_alive

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab",
            CHUNKED[:-7],
        ],
    )
    def test_eof_before_the_end_is_an_error(self, data: bytes) -> None:
        parser = parse(data)
        with pytest.raises(ParseError, match="closed the connection before"):
            parser.feed_eof()

    def test_a_head_that_never_ends_is_bounded(self) -> None:
        parser = ResponseParser()
        parser.feed(b"HTTP/1.1 200 OK\r\nx: ")
        with pytest.raises(ParseError, match="longer than"):
            for _ in range(MAX_HEAD // 1024 + 1):
                parser.feed(b"y" * 1024)

    def test_an_answer_to_head_has_no_body(self) -> None:
        parser = ResponseParser(no_body=True)
        parser.feed(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n")
        assert parser.done
        assert parser.body == []
        assert not parser.keep_alive

    @pytest.mark.parametrize("data", [b"not http\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n"])
    def test_malformed_bytes_are_a_parse_error(self, data: bytes) -> None:
        with pytest.raises(ParseError):
            parse(data)

    def test_switching_protocols_is_refused(self) -> None:
        with pytest.raises(ParseError, match="switched"):
            parse(
                b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n"
            )


class TestChoice:
    @pytest.fixture(autouse=True)
    def _no_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in (TRANSPORT_ENV, "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(name, raising=False)

    def test_lean_by_default(self) -> None:
        assert choose_http(None) == "lean"

    @pytest.mark.parametrize("http", ["lean", "httpx"])
    def test_asked_for(self, http: str) -> None:
        assert choose_http(http) == http

    def test_an_httpx_transport_given_means_httpx(self) -> None:
        assert choose_http("lean", httpx_given=True) == "httpx"

    def test_the_environment_chooses_when_the_argument_does_not(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(TRANSPORT_ENV, "httpx")
        assert choose_http(None) == "httpx"
        assert choose_http("lean") == "lean"

    def test_socks_goes_through_httpx(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert choose_http(None, proxy="socks5://127.0.0.1:1080") == "httpx"
        monkeypatch.setenv("ALL_PROXY", "socks5h://127.0.0.1:1080")
        assert choose_http(None) == "httpx"
        assert choose_http(None, trust_env=False) == "lean"
        with pytest.raises(UsageError, match="SOCKS"):
            choose_http("lean", proxy="socks5://127.0.0.1:1080")

    def test_an_unknown_name_is_a_usage_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        with pytest.raises(UsageError, match="http must be one of"):
            choose_http("curl")
        monkeypatch.setenv(TRANSPORT_ENV, "h2")
        with pytest.raises(UsageError, match=TRANSPORT_ENV):
            choose_http(None)
