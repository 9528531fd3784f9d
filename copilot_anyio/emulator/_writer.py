"""The ASGI response that writes a planned body: re-chunking, pacing, faults, disconnects."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import anyio
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from ._config import EmulatorConfig
from ._framing import Plan, encode, encode_comment, rechunk
from ._state import StreamRegistry

_log = logging.getLogger("copilot_anyio.emulator")


class PlannedBody(Response):
    """Writes ``plan`` and ends it as planned.

    * ``close``: the final empty body message; counted in ``streams_completed``.
    * ``drop``: the app returns without finishing the body, so Hypercorn closes the connection
      (no terminating chunk): the client sees an incomplete body. Counted as aborted.
    * ``stall``: waits (writing keep-alive comments if asked) until the client disconnects or
      the server shuts down. Counted as aborted.

    A client disconnect (``http.disconnect``) cancels the writing at once and counts as aborted,
    so ``streams_open`` returning to 0 proves the client closed its socket.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        streams: StreamRegistry,
        config: EmulatorConfig,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        media_type: str = "text/event-stream",
    ) -> None:
        self.plan = plan
        self._streams = streams
        self._stats = streams.stats
        self._separator = config.line_separator
        self._chunk_size = plan.chunk_size if plan.chunk_size is not None else config.chunk_size
        self._pacing = config.pacing
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)
        self._ending = False
        self._written = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        streams = self._streams
        streams.opened()
        completed = False
        try:
            async with anyio.create_task_group() as tg:
                streams.track(tg.cancel_scope)
                try:
                    tg.start_soon(self._watch_disconnect, receive, tg.cancel_scope)
                    completed = await self._write(send)
                    tg.cancel_scope.cancel()
                finally:
                    streams.untrack(tg.cancel_scope)
        finally:
            streams.closed(completed=completed)

    async def _watch_disconnect(self, receive: Receive, scope: anyio.CancelScope) -> None:
        while True:
            message: Message = await receive()
            # Hypercorn also reports a disconnect once the final body message went out; that
            # one must not cancel the (finished) write.
            if message["type"] == "http.disconnect":
                if not self._ending:
                    _log.debug("the client left during a body (%d bytes written)", self._written)
                    scope.cancel()
                return

    async def _write(self, send: Send) -> bool:
        """Write the planned body; ``True`` if it ended cleanly."""
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        first = True
        for event in self.plan.events:
            for piece in rechunk(encode(event, self._separator), self._chunk_size):
                if not first and self._pacing > 0:
                    await anyio.sleep(self._pacing)
                first = False
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                self._stats.bytes_sent += len(piece)
                self._written += len(piece)
        ending = self.plan.ending
        if ending == "close":
            self._ending = True
            # Shielded: once the last byte is written the body is complete, even if a shutdown
            # cancels us while Hypercorn finishes the message.
            with anyio.CancelScope(shield=True):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            return True
        if ending == "stall":
            keepalive = self.plan.keepalive
            if keepalive is None:
                await anyio.sleep_forever()
                return False
            while True:
                await anyio.sleep(keepalive)
                comment = encode_comment("keep-alive", self._separator)
                await send({"type": "http.response.body", "body": comment, "more_body": True})
                self._stats.bytes_sent += len(comment)
                self._written += len(comment)
        # "drop": return with the body unfinished; Hypercorn then closes the connection.
        return False
