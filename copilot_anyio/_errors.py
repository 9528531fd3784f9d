"""The exceptions copilot-anyio raises, and only those.

Which one do I catch? ::

    CopilotError                          base of everything below; never raised bare
    ├── UsageError                        the caller misused the API (also a RuntimeError)
    │   └── ModelRoutingError             the model cannot take this request; ``.model``
    │       ├── UnknownModelError         not in the catalogue; ``.suggestions``
    │       └── UnsupportedEndpointError  it does not serve the endpoint; ``.supported``
    ├── CredentialsError                  no credentials were given or found
    ├── SpendCapReachedError              the caller's AI-credit cap is spent; ``.spent .cap``
    ├── TransportError                    no usable HTTP response came back
    │   ├── ConnectError
    │   ├── ConnectTimeout
    │   ├── ReadError
    │   ├── ReadTimeout
    │   ├── WriteError
    │   └── PoolTimeout
    ├── ProtocolError
    │   ├── LocalProtocolError            we broke the protocol: a bug in copilot-anyio
    │   └── RemoteProtocolError           the peer sent something we cannot read
    │       ├── EventTooLarge             one SSE event outgrew ``max_event_size``
    │       └── UnexpectedResponseError   a page or JSON where a stream was expected
    ├── StreamError                       a stream began but did not complete;
    │   │                                 ``.partial_text .partial_tool_calls``
    │   ├── IncompleteStreamError         the body ended cleanly without the terminal event
    │   ├── StreamStalledError            no event for longer than the idle timeout
    │   ├── StreamInterruptedError        the connection broke mid-stream
    │   ├── StreamServerError             the server reported an error inside the stream
    │   │   └── StreamFailedBeforeOutputError  …before any output: resending is safe
    │   └── MalformedEventError           an event could not be read (it may have held text)
    ├── APIStatusError                    an HTTP error status; ``.status_code .body .request_id``
    │   ├── BadRequestError               400
    │   │   ├── ModelNotSupportedError    400 ``model_not_supported``: refresh the model list
    │   │   ├── UnsupportedAPIForModelError  400 ``unsupported_api_for_model``: wrong endpoint
    │   │   └── ContextLengthExceededError   400: the prompt is longer than the model takes
    │   ├── AuthenticationError           401
    │   ├── QuotaExceededError            402, ``.retry_after .resets_at``
    │   ├── PermissionDeniedError         403
    │   │   └── PolicyDeniedError         403: a policy or plan does not allow this feature
    │   ├── NotFoundError                 404
    │   ├── WrongHostError                421: this Copilot API host does not serve the token
    │   ├── RateLimitError                429 (and 503 with ``retry-after``), ``.retry_after .window``
    │   ├── ClientVersionUnsupportedError 466: a version pin was retired; override it
    │   └── ServerError                   5xx
    ├── TokenExchangeError                the long-lived credential was refused: sign in again
    │   ├── WebSessionInvalidError        the github.com session cookies no longer work
    │   ├── GitHubTokenRejectedError      the GitHub token is bad or revoked: sign in again
    │   ├── CopilotAccessDeniedError      signed in, but no Copilot access (server's reason)
    │   └── TokenNotUsableForCopilotError a token of a kind the exchange does not take
    └── DeviceFlowError                   the device sign-in failed; ``.error_code``
        ├── DeviceCodeExpiredError        the code expired before it was entered: start again
        └── AuthorizationDeniedError      the user declined the sign-in

Cancellation is never turned into one of these, and a timeout never reads as cancellation.
No message, repr or attribute here ever holds a token or a cookie: the I/O layer redacts
request headers before it builds an error, and bodies are the server's, not ours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ide._types import ChatCompletionMessageToolCall

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "AuthorizationDeniedError",
    "BadRequestError",
    "ClientVersionUnsupportedError",
    "ConnectError",
    "ConnectTimeout",
    "ContextLengthExceededError",
    "CopilotAccessDeniedError",
    "CopilotError",
    "CredentialsError",
    "DeviceCodeExpiredError",
    "DeviceFlowError",
    "EventTooLarge",
    "GitHubTokenRejectedError",
    "IncompleteStreamError",
    "LocalProtocolError",
    "MalformedEventError",
    "ModelNotSupportedError",
    "ModelRoutingError",
    "NotFoundError",
    "PermissionDeniedError",
    "PolicyDeniedError",
    "PoolTimeout",
    "ProtocolError",
    "QuotaExceededError",
    "RateLimitError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ServerError",
    "SpendCapReachedError",
    "StreamError",
    "StreamFailedBeforeOutputError",
    "StreamInterruptedError",
    "StreamServerError",
    "StreamStalledError",
    "TokenExchangeError",
    "TokenNotUsableForCopilotError",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownModelError",
    "UnsupportedAPIForModelError",
    "UnsupportedEndpointError",
    "UsageError",
    "WebSessionInvalidError",
    "WriteError",
    "WrongHostError",
]


class CopilotError(Exception):
    """Base class of every error copilot-anyio raises on purpose."""


class UsageError(CopilotError, RuntimeError):
    """The API was used in a way it does not support (e.g. iterating a closed stream)."""


class ModelRoutingError(UsageError):
    """The named model cannot take this request; raised before anything is sent.

    Attributes:
        model: the model id the request named.
        endpoint: the API path the request was for (``"/chat/completions"``).
    """

    def __init__(self, message: str, *, model: str, endpoint: str) -> None:
        super().__init__(message)
        self.model = model
        self.endpoint = endpoint


class UnknownModelError(ModelRoutingError):
    """The model id is not in the account's model list. ``suggestions``: close ids that are."""

    def __init__(
        self, message: str, *, model: str, endpoint: str, suggestions: Sequence[str] = ()
    ) -> None:
        super().__init__(message, model=model, endpoint=endpoint)
        self.suggestions: tuple[str, ...] = tuple(suggestions)


class UnsupportedEndpointError(ModelRoutingError):
    """The model exists but does not serve ``endpoint``; ``supported`` lists those it does."""

    def __init__(
        self, message: str, *, model: str, endpoint: str, supported: Sequence[str] = ()
    ) -> None:
        super().__init__(message, model=model, endpoint=endpoint)
        self.supported: tuple[str, ...] = tuple(supported)


class CredentialsError(CopilotError):
    """No credentials were given and none could be found where the client looks for them."""


class SpendCapReachedError(CopilotError):
    """The caller's cap on AI credits is spent: the request was not sent.

    Attributes:
        spent: credits metered so far (from the servers' ``copilot_usage``).
        cap: the cap that was set (``Limits.max_ai_credits``).
        estimate: the credits the refused request was expected to cost (0 when unknown).
        model: the model the refused request named, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        spent: float,
        cap: float,
        estimate: float = 0.0,
        model: str | None = None,
    ) -> None:
        super().__init__(message)
        self.spent = spent
        self.cap = cap
        self.estimate = estimate
        self.model = model


# --- transport -------------------------------------------------------------------------------


class TransportError(CopilotError):
    """No usable HTTP response: the connection could not be made, or broke before a status."""


class ConnectError(TransportError):
    """The TCP/TLS connection could not be established."""


class ConnectTimeout(TransportError):
    """Establishing the connection took longer than ``Timeouts.connect``."""


class ReadError(TransportError):
    """Reading from the connection failed."""


class ReadTimeout(TransportError):
    """No response headers arrived within ``Timeouts.first_byte``."""


class WriteError(TransportError):
    """Sending the request failed."""


class PoolTimeout(TransportError):
    """No connection became free in the pool in time."""


# --- protocol --------------------------------------------------------------------------------


class ProtocolError(CopilotError):
    """A protocol rule was broken, by us (Local) or by the peer (Remote)."""


class LocalProtocolError(ProtocolError):
    """copilot-anyio broke the protocol: this is a bug, please report it."""


class RemoteProtocolError(ProtocolError):
    """The server sent bytes or JSON that cannot be interpreted."""


class EventTooLarge(RemoteProtocolError):
    """A single server-sent event grew past the decoder's ``max_event_size`` (in bytes)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"server-sent event of at least {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit
        #: the text of a chat reply that arrived before the oversized event (set by the reader)
        self.partial_text = ""


class UnexpectedResponseError(RemoteProtocolError):
    """A successful status, but not the event stream that was asked for (a login page, a JSON
    body, an empty reply).

    Attributes:
        status_code: the HTTP status.
        content_type: the ``Content-Type`` the server sent ("" when none).
        body: the start of the body as text (at most a few hundred characters).
    """

    def __init__(self, message: str, *, status_code: int, content_type: str, body: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.content_type = content_type
        self.body = body


# --- streams ---------------------------------------------------------------------------------


class StreamError(CopilotError):
    """A response stream started but did not complete.

    ``partial_text`` holds every text delta that was received before the failure, so no
    token of text is lost even when the stream is. ``partial_tool_calls`` holds the tool calls
    begun so far (their ``arguments`` may be cut short), empty for flavours without tools.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        partial_tool_calls: Sequence[ChatCompletionMessageToolCall] = (),
    ) -> None:
        super().__init__(message)
        self.partial_text = partial_text
        self.partial_tool_calls: tuple[ChatCompletionMessageToolCall, ...] = tuple(
            partial_tool_calls
        )


class IncompleteStreamError(StreamError):
    """The body ended cleanly, but without the terminal event (``complete`` / ``[DONE]``)."""


class StreamStalledError(StreamError):
    """No event arrived for longer than the idle timeout (keep-alive comments do not count)."""


class StreamInterruptedError(StreamError):
    """The connection broke in the middle of the stream."""


class MalformedEventError(StreamError):
    """An event's data could not be read, even leniently. It may have carried text, so the
    stream ends here (with ``partial_text``) rather than report a success that lost some."""


class StreamServerError(StreamError):
    """The server reported an error inside the stream (an ``error`` object or event)."""

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        partial_tool_calls: Sequence[ChatCompletionMessageToolCall] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message, partial_text=partial_text, partial_tool_calls=partial_tool_calls)
        self.code = code


class StreamFailedBeforeOutputError(StreamServerError):
    """The server failed the stream after announcing the reply and before any output
    (``/responses``: ``response.failed`` or ``error`` right after ``response.created``).

    Nothing was generated, so sending the same request again on a new connection is safe
    (protocol.md §10.5); the client does so a bounded number of times before raising this.
    """


# --- HTTP status -----------------------------------------------------------------------------


class APIStatusError(CopilotError):
    """The server answered with an error status.

    Attributes:
        status_code: the HTTP status.
        headers: response headers (lower-cased names).
        body: the response body as text (the server's words; never our credentials).
        code: the machine-readable ``code`` from a JSON error body, when there is one.
        request_id: ``x-request-id`` or ``x-github-request-id``, when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        body: str = "",
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.headers: dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        rid = f" (request id {self.request_id})" if self.request_id else ""
        return f"{self.status_code}: {self.message}{rid}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code}, "
            f"message={self.message!r}, code={self.code!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request was refused as malformed or unsupported (never retried)."""


class ModelNotSupportedError(BadRequestError):
    """400 ``model_not_supported``: the model is unknown to, or not enabled for, this account.

    Refresh the model list (``GET /models``); the model may have been removed, or need its
    policy accepted first.
    """


class UnsupportedAPIForModelError(BadRequestError):
    """400 ``unsupported_api_for_model``: the model does not serve this endpoint.

    Route by the model's ``supported_endpoints`` (``/responses``, ``/v1/messages``).
    """


class ContextLengthExceededError(BadRequestError):
    """400: the prompt is longer than the model accepts. Shorten the conversation."""


class AuthenticationError(APIStatusError):
    """401: the short-lived token was refused even after one refresh."""


class _RetryAfterMixin:
    retry_after: float | None


class QuotaExceededError(APIStatusError, _RetryAfterMixin):
    """402: the account's quota is used up.

    ``retry_after`` is seconds until it resets and ``resets_at`` the Unix time it does, when the
    server said (``retry-after`` as seconds or as an HTTP date).
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        resets_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.resets_at = resets_at


class PermissionDeniedError(APIStatusError):
    """403: the account or integration may not use this endpoint or model."""


class PolicyDeniedError(PermissionDeniedError):
    """403: an enterprise or organization policy (or the plan) does not allow this feature.

    The message is the server's; an administrator, not a retry, changes the answer.
    """


class NotFoundError(APIStatusError):
    """404: the path, thread or model does not exist (or the thread API is disabled)."""


class WrongHostError(APIStatusError):
    """421 Misdirected Request: this Copilot API host does not serve the token's seat.

    Typical after a plan change, or with a Business token sent to ``api.individual...``. Fetch a
    new Copilot token and retry once, only if its ``endpoints.api`` names another host.
    ``host`` is the host the request went to, when the caller knew it.
    """

    def __init__(self, message: str, *, host: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.host = host


class RateLimitError(APIStatusError, _RetryAfterMixin):
    """429 (or 503 with ``retry-after``). ``retry_after`` is seconds to wait, if the server said.

    ``window`` names the limit that tripped, when the server said which: ``"session"`` (the
    rolling 5-hour window), ``"weekly"``, ``"model"``, ``"integration"``, or the code itself for
    others; None for a plain rate limit. ``resets_at`` is the Unix time ``retry_after`` ends.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        window: str | None = None,
        resets_at: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.window = window
        self.resets_at = resets_at


class ClientVersionUnsupportedError(APIStatusError):
    """466: Copilot no longer accepts a version this client sends (API version or editor).

    Never retried: upgrade copilot-anyio, or override the pins (``IdeVersions.api_version``,
    ``editor_version``, ``editor_plugin_version``). ``pins`` holds the values that were sent.
    """

    def __init__(
        self, message: str, *, pins: Mapping[str, str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.pins: dict[str, str] = dict(pins or {})


class ServerError(APIStatusError):
    """5xx: the server failed."""


# --- credentials -----------------------------------------------------------------------------


class TokenExchangeError(CopilotError):
    """The long-lived credential could not be exchanged for a short-lived token.

    This means "your GitHub sign-in is bad", not "Copilot is down": retrying will not help.
    """

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class WebSessionInvalidError(TokenExchangeError):
    """github.com refused the session cookies (expired, signed out, or not a Copilot user)."""


class GitHubTokenRejectedError(TokenExchangeError):
    """GitHub refused the GitHub token (401: bad, expired or revoked). Sign in again."""


class CopilotAccessDeniedError(TokenExchangeError):
    """The GitHub account has no usable Copilot access (no seat, policy, suspended plan...).

    Attributes:
        notification_id: the server's reason key (``no_copilot_access``, ``subscription_ended``,
            ``feature_flag_blocked``...), when it sent one.
        url: where the server says to go about it (sign-up or settings page), if any.
        can_signup_for_limited: whether the free plan is open to this account, if said.
    """

    def __init__(
        self,
        message: str,
        *,
        notification_id: str | None = None,
        url: str | None = None,
        can_signup_for_limited: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.notification_id = notification_id
        self.url = url
        self.can_signup_for_limited = can_signup_for_limited


class TokenNotUsableForCopilotError(TokenExchangeError):
    """The exchange does not take this kind of GitHub token (a personal access token, or an
    OAuth token of an app without Copilot, such as ``gh auth login``'s).

    Sign in with the device flow under Copilot's client id instead. ``token_kind`` and
    ``token_source`` describe the refused token (never its value).
    """

    def __init__(
        self,
        message: str,
        *,
        token_kind: str | None = None,
        token_source: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.token_kind = token_kind
        self.token_source = token_source


# --- device flow -----------------------------------------------------------------------------


class DeviceFlowError(CopilotError):
    """The OAuth device sign-in failed. ``error_code`` is GitHub's ``error`` value, if any."""

    def __init__(self, message: str, *, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class DeviceCodeExpiredError(DeviceFlowError):
    """The user code expired (or was never valid) before sign-in finished. Start again."""


class AuthorizationDeniedError(DeviceFlowError):
    """The user declined the sign-in on GitHub's device page."""
