"""Route names: the keys of :meth:`Emulator.script` and ``Stats.requests``."""

from __future__ import annotations

#: Route name → (method, path template). One base URL serves every host's routes.
ROUTE_TABLE: dict[str, tuple[str, str]] = {
    "web.token": ("POST", "/github-copilot/chat/token"),
    "web.threads.create": ("POST", "/github/chat/threads"),
    "web.threads.list": ("GET", "/github/chat/threads"),
    "web.threads.delete": ("DELETE", "/github/chat/threads/{thread_id}"),
    "web.messages.create": ("POST", "/github/chat/threads/{thread_id}/messages"),
    "web.messages.list": ("GET", "/github/chat/threads/{thread_id}/messages"),
    "device.code": ("POST", "/login/device/code"),
    "device.token": ("POST", "/login/oauth/access_token"),
    "copilot.token": ("GET", "/copilot_internal/v2/token"),
    "copilot.user": ("GET", "/copilot_internal/user"),
    "models": ("GET", "/models"),
    "models.policy": ("POST", "/models/{model_id:path}/policy"),
    "chat.completions": ("POST", "/chat/completions"),
    "responses": ("POST", "/responses"),
    "messages": ("POST", "/v1/messages"),
    "embeddings": ("POST", "/embeddings"),
    "ping": ("GET", "/_ping"),
}

#: Every route name.
ROUTES: frozenset[str] = frozenset(ROUTE_TABLE)

#: Routes served by github.com itself; github.com cookies are expected there and nowhere else.
GITHUB_COM_ROUTES: frozenset[str] = frozenset({"web.token", "device.code", "device.token"})

#: Routes whose requests are counted as token requests (in-flight gauge, ``token_delay``).
TOKEN_ROUTES: frozenset[str] = frozenset({"web.token", "copilot.token"})
