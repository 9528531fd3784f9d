"""The clients of the end-to-end benchmark, each behind the same small adapter.

An adapter opens a session (a client object and the one token fetch every client does before
the clock starts) and runs conversation ``i``. On the web route: a thread POST, then the
streaming message POST whose ``content`` events it reads to the end. On the IDE route: one
streaming ``POST {api}/chat/completions`` (the token exchange was the session's), whose
``chat.completion.chunk`` events it reads to ``[DONE]``. It calls ``first()`` when the first
text delta arrives and returns ``(text, deltas, ended)``, ``ended`` saying that the end marker
(``complete``, or a ``finish_reason``) was seen.

Each library is used the way its documentation shows, with its connection pool opened up to
``n`` connections so that no client queues requests the others do not:

* ``copilot-anyio``: the public API only (``CopilotClient``, ``Limits``). Web: the thread stream
  by whatever name the installed version gives it (``open_chat_stream``). IDE:
  ``CopilotClient(github_token=…)``, ``client.models.list()`` once before the clock (the token
  exchange and the model list it routes by), then ``client.chat.completions.stream(...)``.
* ``aiohttp``: ``ClientSession.post`` and the SSE ``data:`` lines read from ``response.content``.
* ``httpx-sse``: ``httpx.AsyncClient`` and ``aconnect_sse(...).aiter_sse()``.
* ``openai``: ``AsyncOpenAI.chat.completions.create(stream=True)``, IDE route only (on the web
  route's runs it still runs its IDE route, and the table says so).
* ``floor``: AnyIO sockets, one connection per conversation, prebuilt request bytes, a minimal
  chunked-body and event splitter, ``json.loads`` per event: what the work costs with no
  HTTP library at all.

Every IDE peer sends the headers and body copilot-anyio sends (``e2e_wire.completions_*``),
a fresh ``X-Request-Id`` included.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from . import e2e_wire as wire

__all__ = ["CLIENTS", "ClientSpec", "Session", "open_chat_stream"]

First = Callable[[], None]


class Session(Protocol):
    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]: ...


OpenSession = Callable[[str, int], AbstractAsyncContextManager[Session]]


@dataclass(frozen=True)
class ClientSpec:
    name: str
    backends: tuple[str, ...]  # the event loops it runs on
    distributions: tuple[str, ...]  # whose versions the report names
    #: How it opens a session, per route ("web", "ide") it speaks.
    routes: Mapping[str, OpenSession]
    #: Above this N the client is left out unless asked for (``--no-skip``), and why.
    max_n: int | None = None
    why_skipped: str = ""

    def route_for(self, route: str) -> str:
        """The route it runs when ``route`` is asked for: that one, else its only one."""
        return route if route in self.routes else next(iter(self.routes))


def _connect_limit(n: int) -> int:
    # Room for every conversation at once, plus a few for token fetches.
    return n + 4


# --- copilot-anyio ---------------------------------------------------------------------------


def open_chat_stream(client: Any, prompt: str) -> Any:
    """``client.threads.stream(prompt)`` where it exists, else ``client.stream_chat(prompt)``."""
    threads = getattr(client, "threads", None)
    stream = getattr(threads, "stream", None)
    if callable(stream):
        return stream(prompt)
    return client.stream_chat(prompt)


class _CopilotAnyio:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        parts: list[str] = []
        ended = False
        async with open_chat_stream(self.client, wire.prompt(i)) as stream:
            async for chunk in stream:
                kind = chunk.type
                if kind == "content":
                    if not parts:
                        first()
                    parts.append(chunk.text)
                elif kind == "complete":
                    ended = True
        return "".join(parts), len(parts), ended


async def _read_chat_chunks(stream: Any, first: Callable[[], None]) -> tuple[str, int, bool]:
    """The text, delta count and whether a finish reason came, from an OpenAI-shaped chunk
    stream (ours or openai-python's); ``first`` is called at the first delta."""
    parts: list[str] = []
    ended = False
    async for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text = choice.delta.content
        if text:
            if not parts:
                first()
            parts.append(text)
        if choice.finish_reason is not None:
            ended = True
    return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_copilot_anyio(base: str, n: int) -> AsyncIterator[Session]:
    import copilot_anyio

    options: dict[str, Any] = {
        "cookies": {"user_session": "bench"},
        "github_url": base,
        "github_api_url": base,
        "api_url": base,
    }
    limits = getattr(copilot_anyio, "Limits", None)
    if limits is not None:
        options["limits"] = limits(max_concurrent_requests=_connect_limit(n))
    async with copilot_anyio.CopilotClient(**options) as client:
        fetch_token = getattr(client, "web_token", None)
        if fetch_token is not None:
            await fetch_token()  # the one token fetch, before the clock starts
        yield _CopilotAnyio(client)


class _CopilotAnyioIde:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        messages = [{"role": "user", "content": wire.prompt(i)}]
        async with self.client.chat.completions.stream(
            model=wire.MODEL, messages=messages
        ) as stream:
            return await _read_chat_chunks(stream, first)


@asynccontextmanager
async def _open_copilot_anyio_ide(base: str, n: int) -> AsyncIterator[Session]:
    import copilot_anyio

    async with copilot_anyio.CopilotClient(
        github_token=wire.GITHUB_TOKEN,
        github_url=base,
        github_api_url=base,
        api_url=base,
        env={},
        limits=copilot_anyio.Limits(max_concurrent_requests=_connect_limit(n)),
    ) as client:
        # The token exchange and the model list, before the clock starts.
        models = await client.models.list()
        if wire.MODEL not in {m.id for m in models}:
            raise RuntimeError(f"{wire.MODEL} is not in the model list")
        yield _CopilotAnyioIde(client)


# --- aiohttp ---------------------------------------------------------------------------------


class _Aiohttp:
    def __init__(self, session: Any, base: str, token: str) -> None:
        self.session = session
        self.base = base
        self.headers = wire.api_headers(token, base)
        self.stream_headers = wire.api_headers(token, base, stream=True)

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        session, base = self.session, self.base
        async with session.post(
            base + wire.THREADS_PATH, json={"custom_copilot_id": None}, headers=self.headers
        ) as response:
            response.raise_for_status()
            thread_id = (await response.json())["thread_id"]
        parts: list[str] = []
        ended = False
        async with session.post(
            base + wire.message_path(thread_id),
            json=wire.message_body(base, thread_id, i),
            headers=self.stream_headers,
        ) as response:
            response.raise_for_status()
            async for line in response.content:
                if line.startswith(b"data:"):
                    event = json.loads(line[5:])
                    kind = event.get("type")
                    if kind == "content":
                        if not parts:
                            first()
                        parts.append(event["body"])
                    elif kind == "complete":
                        ended = True
        return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_aiohttp(base: str, n: int) -> AsyncIterator[Session]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=_connect_limit(n), limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False
    ) as session:
        async with session.post(
            base + wire.WEB_TOKEN_PATH, headers=wire.web_token_headers(base)
        ) as response:
            response.raise_for_status()
            token = (await response.json())["token"]
        yield _Aiohttp(session, base, token)


class _AiohttpIde:
    def __init__(self, session: Any, api: str, token: str) -> None:
        self.session = session
        self.url = api + wire.COMPLETIONS_PATH
        self.token = token

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        parts: list[str] = []
        ended = False
        async with self.session.post(
            self.url, json=wire.completions_body(i), headers=wire.completions_headers(self.token)
        ) as response:
            response.raise_for_status()
            async for line in response.content:
                if not line.startswith(b"data:"):
                    continue
                data = line[5:].strip()
                if data == b"[DONE]":
                    continue  # the body ends just after it
                choices = json.loads(data).get("choices")
                if not choices:
                    continue
                choice = choices[0]
                text = choice.get("delta", {}).get("content")
                if text:
                    if not parts:
                        first()
                    parts.append(text)
                if choice.get("finish_reason") is not None:
                    ended = True
        return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_aiohttp_ide(base: str, n: int) -> AsyncIterator[Session]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=_connect_limit(n), limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trust_env=False
    ) as session:
        async with session.get(
            base + wire.IDE_TOKEN_PATH, headers=wire.ide_token_headers()
        ) as response:
            response.raise_for_status()
            token, api = wire.ide_token(await response.json())
        yield _AiohttpIde(session, api, token)


# --- httpx + httpx-sse -----------------------------------------------------------------------


def _httpx_client(n: int) -> Any:
    import httpx

    size = _connect_limit(n)
    return httpx.AsyncClient(
        limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        timeout=httpx.Timeout(60.0, read=120.0),
        trust_env=False,
    )


class _HttpxSSE:
    def __init__(self, client: Any, base: str, token: str) -> None:
        self.client = client
        self.base = base
        self.token = token
        self.headers = wire.api_headers(token, base)

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        from httpx_sse import aconnect_sse

        client, base = self.client, self.base
        response = await client.post(
            base + wire.THREADS_PATH, json={"custom_copilot_id": None}, headers=self.headers
        )
        response.raise_for_status()
        thread_id = response.json()["thread_id"]
        parts: list[str] = []
        ended = False
        async with aconnect_sse(
            client,
            "POST",
            base + wire.message_path(thread_id),
            json=wire.message_body(base, thread_id, i),
            headers=wire.api_headers(self.token, base, stream=True),
        ) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                event = json.loads(sse.data)
                kind = event.get("type")
                if kind == "content":
                    if not parts:
                        first()
                    parts.append(event["body"])
                elif kind == "complete":
                    ended = True
        return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_httpx_sse(base: str, n: int) -> AsyncIterator[Session]:
    async with _httpx_client(n) as client:
        response = await client.post(
            base + wire.WEB_TOKEN_PATH, headers=wire.web_token_headers(base)
        )
        response.raise_for_status()
        yield _HttpxSSE(client, base, response.json()["token"])


class _HttpxSSEIde:
    def __init__(self, client: Any, api: str, token: str) -> None:
        self.client = client
        self.url = api + wire.COMPLETIONS_PATH
        self.token = token

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        from httpx_sse import aconnect_sse

        parts: list[str] = []
        ended = False
        async with aconnect_sse(
            self.client,
            "POST",
            self.url,
            json=wire.completions_body(i),
            headers=wire.completions_headers(self.token),
        ) as source:
            source.response.raise_for_status()
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    continue  # the body ends just after it
                choices = json.loads(sse.data).get("choices")
                if not choices:
                    continue
                choice = choices[0]
                text = choice.get("delta", {}).get("content")
                if text:
                    if not parts:
                        first()
                    parts.append(text)
                if choice.get("finish_reason") is not None:
                    ended = True
        return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_httpx_sse_ide(base: str, n: int) -> AsyncIterator[Session]:
    async with _httpx_client(n) as client:
        response = await client.get(base + wire.IDE_TOKEN_PATH, headers=wire.ide_token_headers())
        response.raise_for_status()
        token, api = wire.ide_token(response.json())
        yield _HttpxSSEIde(client, api, token)


# --- openai (IDE route) ----------------------------------------------------------------------


class _OpenAI:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        stream = await self.client.chat.completions.create(
            model=wire.MODEL, messages=[{"role": "user", "content": wire.prompt(i)}], stream=True
        )
        async with stream:
            return await _read_chat_chunks(stream, first)


@asynccontextmanager
async def _open_openai(base: str, n: int) -> AsyncIterator[Session]:
    import openai

    async with _httpx_client(n) as http:
        response = await http.get(base + wire.IDE_TOKEN_PATH, headers=wire.ide_token_headers())
        response.raise_for_status()
        token, api = wire.ide_token(response.json())
        client = openai.AsyncOpenAI(
            api_key=token,
            base_url=api,
            max_retries=0,
            http_client=http,
            default_headers=wire.ide_headers(),
        )
        yield _OpenAI(client)


# --- the floor: AnyIO sockets and a minimal HTTP/1.1 reader ----------------------------------


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Reader:
    """Just enough of an HTTP/1.1 response reader for this server's replies."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.buffer = b""

    async def head(self) -> tuple[int, bytes]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self.buffer += await self.stream.receive(65536)
        head = self.buffer[:end].lower()
        self.buffer = self.buffer[end + 4 :]
        return int(head[9:12]), head

    async def json_body(self, head: bytes) -> Any:
        at = head.index(b"content-length:") + 15
        stop = head.find(b"\r\n", at)
        length = int(head[at : stop if stop >= 0 else None])
        while len(self.buffer) < length:
            self.buffer += await self.stream.receive(65536)
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return json.loads(body)


async def _read_events(reader: _Reader, stream: Any, on_data: Callable[[bytes], None]) -> None:
    """Chunked body → bytes → events split at blank lines → ``on_data(payload after "data: ")``."""
    raw = reader.buffer
    body = b""
    done = False
    while not done:
        while True:
            eol = raw.find(b"\r\n")
            if eol < 0:
                break
            size = int(raw[:eol], 16)
            if size == 0:
                done = True
                break
            if len(raw) < eol + 2 + size + 2:
                break
            body += raw[eol + 2 : eol + 2 + size]
            raw = raw[eol + 2 + size + 2 :]
        while (cut := body.find(b"\n\n")) >= 0:
            on_data(body[6:cut])  # after "data: "
            body = body[cut + 2 :]
        if not done:
            raw += await stream.receive(65536)


class _Floor:
    def __init__(self, host: str, port: int, base: str, token: str) -> None:
        self.host = host
        self.port = port
        self.base = base
        self.token = token
        self.hostport = f"{host}:{port}"
        self.thread_request = _request(
            "POST",
            wire.THREADS_PATH,
            self.hostport,
            wire.api_headers(token, base),
            wire.encode_json({"custom_copilot_id": None}),
        )

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        import anyio

        parts: list[str] = []
        ended = False

        def on_data(data: bytes) -> None:
            nonlocal ended
            event = json.loads(data)
            kind = event.get("type")
            if kind == "content":
                if not parts:
                    first()
                parts.append(event["body"])
            elif kind == "complete":
                ended = True

        async with await anyio.connect_tcp(self.host, self.port) as stream:
            reader = _Reader(stream)
            await stream.send(self.thread_request)
            status, head = await reader.head()
            if status != 201:
                raise RuntimeError(f"thread POST: {status}")
            thread_id = (await reader.json_body(head))["thread_id"]
            await stream.send(
                _request(
                    "POST",
                    wire.message_path(thread_id),
                    self.hostport,
                    wire.api_headers(self.token, self.base, stream=True),
                    wire.encode_json(wire.message_body(self.base, thread_id, i)),
                )
            )
            status, head = await reader.head()
            if status != 200 or b"transfer-encoding: chunked" not in head:
                raise RuntimeError(f"message POST: {status}")
            await _read_events(reader, stream, on_data)
        return "".join(parts), len(parts), ended


async def _floor_get_json(host: str, port: int, method: str, path: str, headers: Any) -> Any:
    import anyio

    async with await anyio.connect_tcp(host, port) as stream:
        await stream.send(_request(method, path, f"{host}:{port}", headers, b""))
        reader = _Reader(stream)
        status, head = await reader.head()
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status}")
        return await reader.json_body(head)


@asynccontextmanager
async def _open_floor(base: str, n: int) -> AsyncIterator[Session]:
    host, port = base.removeprefix("http://").split(":")
    reply = await _floor_get_json(
        host, int(port), "POST", wire.WEB_TOKEN_PATH, wire.web_token_headers(base)
    )
    yield _Floor(host, int(port), base, reply["token"])


class _FloorIde:
    def __init__(self, api: str, token: str) -> None:
        host, port = api.removeprefix("http://").split(":")
        self.host = host
        self.port = int(port)
        self.hostport = f"{host}:{port}"
        self.token = token

    async def conversation(self, i: int, first: First) -> tuple[str, int, bool]:
        import anyio

        parts: list[str] = []
        ended = False

        def on_data(data: bytes) -> None:
            nonlocal ended
            if data == b"[DONE]":
                return
            choices = json.loads(data).get("choices")
            if not choices:
                return
            choice = choices[0]
            text = choice.get("delta", {}).get("content")
            if text:
                if not parts:
                    first()
                parts.append(text)
            if choice.get("finish_reason") is not None:
                ended = True

        async with await anyio.connect_tcp(self.host, self.port) as stream:
            reader = _Reader(stream)
            await stream.send(
                _request(
                    "POST",
                    wire.COMPLETIONS_PATH,
                    self.hostport,
                    wire.completions_headers(self.token),
                    wire.encode_json(wire.completions_body(i)),
                )
            )
            status, head = await reader.head()
            if status != 200 or b"transfer-encoding: chunked" not in head:
                raise RuntimeError(f"/chat/completions: {status}")
            await _read_events(reader, stream, on_data)
        return "".join(parts), len(parts), ended


@asynccontextmanager
async def _open_floor_ide(base: str, n: int) -> AsyncIterator[Session]:
    host, port = base.removeprefix("http://").split(":")
    envelope = await _floor_get_json(
        host, int(port), "GET", wire.IDE_TOKEN_PATH, wire.ide_token_headers()
    )
    token, api = wire.ide_token(envelope)
    yield _FloorIde(api, token)


CLIENTS: dict[str, ClientSpec] = {
    spec.name: spec
    for spec in (
        ClientSpec(
            "copilot-anyio",
            ("asyncio", "trio"),
            ("copilot-anyio", "httpx", "anyio"),
            {"web": _open_copilot_anyio, "ide": _open_copilot_anyio_ide},
        ),
        ClientSpec(
            "aiohttp", ("asyncio",), ("aiohttp",), {"web": _open_aiohttp, "ide": _open_aiohttp_ide}
        ),
        ClientSpec(
            "httpx-sse",
            ("asyncio",),
            ("httpx", "httpx-sse"),
            {"web": _open_httpx_sse, "ide": _open_httpx_sse_ide},
            max_n=1000,
            why_skipped="one httpx pool of N connections costs O(N) per request: about a "
            "minute at N = 1,000 and growing with N squared",
        ),
        ClientSpec(
            "openai",
            ("asyncio",),
            ("openai", "httpx"),
            {"ide": _open_openai},
            max_n=1000,
            why_skipped="over half a millisecond of CPU per chunk: half a minute at "
            "N = 1,000, growing with N",
        ),
        ClientSpec(
            "floor",
            ("asyncio", "trio"),
            ("anyio",),
            {"web": _open_floor, "ide": _open_floor_ide},
        ),
    )
}
