"""The Starlette application: one wrapper records, scripts faults and counts; handlers answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from ._config import GITHUB_COOKIE_NAMES
from ._http import Ctx, fault_response, text_error
from ._ide import IDE_HANDLERS
from ._routes import GITHUB_COM_ROUTES, ROUTE_TABLE, TOKEN_ROUTES
from ._state import EmulatorState, RecordedRequest
from ._web import WEB_HANDLERS
from ._writer import PlannedBody

Handler = Callable[[Ctx], Awaitable[Response]]

_log = logging.getLogger("copilot_anyio.emulator")


def _carries_github_cookie(cookie_header: str) -> bool:
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return any(name in cookie_header for name in GITHUB_COOKIE_NAMES)
    return any(name in jar for name in GITHUB_COOKIE_NAMES)


def _headers(request: Request) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in request.headers.items():
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def _shutting_down(request: Request) -> Response:
    return text_error(
        request, 503, "the emulator is shutting down", headers={"connection": "close"}
    )


def _endpoint(
    state: EmulatorState, route: str, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    is_token_route = route in TOKEN_ROUTES

    async def answer(request: Request, body: bytes, record: RecordedRequest) -> Response:
        stats = state.stats
        fault = state.faults.pop(route)
        record.fault = fault
        if is_token_route:
            stats.token_requests_in_flight += 1
            stats.max_token_requests_in_flight = max(
                stats.max_token_requests_in_flight, stats.token_requests_in_flight
            )
        try:
            if is_token_route and state.config.token_delay > 0:
                await anyio.sleep(state.config.token_delay)
            if fault is not None and fault.kind == "delay":
                await anyio.sleep(fault.seconds)
            if state.stopping:
                return _shutting_down(request)
            if fault is not None and fault.is_status:
                return fault_response(request, fault)
            return await handler(Ctx(state, request, route, body, record, fault))
        finally:
            if is_token_route:
                stats.token_requests_in_flight -= 1

    async def endpoint(request: Request) -> Response:
        stats = state.stats
        record: RecordedRequest | None = None
        response: Response | None = None
        # Shutdown cancels this scope, so no request outlives the server's grace period: a
        # connection the server had to cancel itself makes asyncio log a CancelledError.
        with anyio.CancelScope() as scope:
            state.track_handler(scope)
            try:
                try:
                    body = await request.body()
                except ClientDisconnect:
                    # A client that leaves early is normal traffic for a test server.
                    stats.client_disconnects += 1
                    _log.debug(
                        "%s %s: the client left before sending the whole body",
                        request.method,
                        request.url.path,
                    )
                    return Response(status_code=400)
                headers = _headers(request)
                record = RecordedRequest(
                    route=route,
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    headers=headers,
                    body=body,
                )
                stats.request_log.append(record)
                stats.last_request_headers[route] = headers
                if route not in GITHUB_COM_ROUTES and _carries_github_cookie(
                    headers.get("cookie", "")
                ):
                    stats.cookie_leaks += 1
                response = await answer(request, body, record)
            finally:
                state.untrack_handler(scope)
        if response is None:
            _log.debug(
                "%s %s: cut short, the emulator is stopping", request.method, request.url.path
            )
            response = _shutting_down(request)
        if record is not None:
            record.status = response.status_code
            stats.requests[(route, response.status_code)] += 1
        if not isinstance(response, PlannedBody):
            stats.bytes_sent += len(response.body)  # planned bodies count their own writes
        return response

    return endpoint


def build_app(state: EmulatorState) -> Starlette:
    """The Starlette app serving every route of :data:`ROUTE_TABLE` over ``state``."""
    handlers: dict[str, Handler] = {**WEB_HANDLERS, **IDE_HANDLERS}
    routes = []
    for name, (method, path) in ROUTE_TABLE.items():
        routes.append(
            Route(path, _endpoint(state, name, handlers[name]), methods=[method], name=name)
        )
    return Starlette(routes=routes)
