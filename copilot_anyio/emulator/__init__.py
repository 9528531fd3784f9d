"""A loopback GitHub Copilot emulator (web threads and IDE flavours) with scriptable faults.

Needs the ``emulator`` extra (Starlette and Hypercorn). Runs under trio and asyncio, in the
caller's event loop, for the length of an ``async with`` block::

    async with serve_emulator() as emu:
        emu.script("chat.completions", Fault.rate_limited("2"))
        ...  # point a client at emu.base_url (every host's routes live there)

Theory of operation:

* **Routes** (:data:`ROUTES`): github.com (``web.token``, ``device.code``, ``device.token``),
  api.github.com (``copilot.token``, ``copilot.user``), the web thread API (``web.*``) and CAPI
  (``models``, ``models.policy``, ``chat.completions``, ``responses``, ``messages``,
  ``embeddings``, ``ping``),
  all on one base URL; the Copilot token's ``endpoints.api`` points back at it.
* **Accounts**: any non-empty ``user_session`` cookie and any well-formed ``ghu_``/``gho_`` token
  (see :class:`EmulatorConfig` ``accounts`` to restrict them). Tokens expire by their TTLs or
  :meth:`Emulator.expire_tokens`.
* **Replies** are deterministic: :func:`reply_for` / :func:`reply_deltas` of the last user
  message and its turn (the depth of the thread chain, or the number of user messages).
* **Faults** (:class:`Fault`) are queued per route by :meth:`Emulator.script` and consumed one per
  request, before authentication.
* **Framing** (``line_separator``, ``chunk_size``, ``pacing``) is the emulator's own code, not the
  client's, so the client's SSE decoder is tested against an independent writer.
* **Observation**: :class:`Stats` counts requests, tokens, streams (completed / aborted, so a
  test can prove a cancelled stream's socket closed) and keeps a request log.
* **Credential files**: :func:`write_editor_credentials` writes the ``apps.json`` /
  ``hosts.json`` an editor plugin leaves, holding a token the emulator accepts.
* **State**: the route handlers share one :class:`EmulatorState` (``emu.state``: issued tokens,
  threads, device grants, fault queues, live streams) and never see the :class:`Emulator`.
"""

from __future__ import annotations

from ._config import EmulatorConfig as EmulatorConfig
from ._config import default_models as default_models
from ._emulator import Emulator as Emulator
from ._faults import Fault as Fault
from ._fixtures import COPILOT_CLIENT_ID as COPILOT_CLIENT_ID
from ._fixtures import write_editor_credentials as write_editor_credentials
from ._replies import reply_deltas as reply_deltas
from ._replies import reply_for as reply_for
from ._routes import ROUTES as ROUTES
from ._server import serve_emulator as serve_emulator
from ._state import EmulatorState as EmulatorState
from ._state import RecordedRequest as RecordedRequest
from ._state import Stats as Stats
from ._state import StoredMessage as StoredMessage
from ._state import StoredThread as StoredThread

__all__ = [
    "COPILOT_CLIENT_ID",
    "ROUTES",
    "Emulator",
    "EmulatorConfig",
    "EmulatorState",
    "Fault",
    "RecordedRequest",
    "Stats",
    "StoredMessage",
    "StoredThread",
    "default_models",
    "reply_deltas",
    "reply_for",
    "serve_emulator",
    "write_editor_credentials",
]
