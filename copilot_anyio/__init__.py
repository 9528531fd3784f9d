"""copilot-anyio: GitHub Copilot Chat for async Python, on trio and asyncio."""

from __future__ import annotations

from ._auth import TokenLease as TokenLease
from ._client import ChatThread as ChatThread
from ._client import ClientStatistics as ClientStatistics
from ._client import CopilotClient as CopilotClient
from ._client import Threads as Threads
from ._compat import Conversation as Conversation
from ._compat import GithubCopilot as GithubCopilot
from ._config import Limits as Limits
from ._config import Timeouts as Timeouts
from ._errors import APIStatusError as APIStatusError
from ._errors import AuthenticationError as AuthenticationError
from ._errors import AuthorizationDeniedError as AuthorizationDeniedError
from ._errors import BadRequestError as BadRequestError
from ._errors import ClientVersionUnsupportedError as ClientVersionUnsupportedError
from ._errors import ConnectError as ConnectError
from ._errors import ConnectTimeout as ConnectTimeout
from ._errors import ContextLengthExceededError as ContextLengthExceededError
from ._errors import CopilotAccessDeniedError as CopilotAccessDeniedError
from ._errors import CopilotError as CopilotError
from ._errors import CredentialsError as CredentialsError
from ._errors import DeviceCodeExpiredError as DeviceCodeExpiredError
from ._errors import DeviceFlowError as DeviceFlowError
from ._errors import EventTooLarge as EventTooLarge
from ._errors import GitHubTokenRejectedError as GitHubTokenRejectedError
from ._errors import IncompleteStreamError as IncompleteStreamError
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import MalformedEventError as MalformedEventError
from ._errors import ModelNotSupportedError as ModelNotSupportedError
from ._errors import ModelRoutingError as ModelRoutingError
from ._errors import NotFoundError as NotFoundError
from ._errors import PermissionDeniedError as PermissionDeniedError
from ._errors import PolicyDeniedError as PolicyDeniedError
from ._errors import PoolTimeout as PoolTimeout
from ._errors import ProtocolError as ProtocolError
from ._errors import QuotaExceededError as QuotaExceededError
from ._errors import RateLimitError as RateLimitError
from ._errors import ReadError as ReadError
from ._errors import ReadTimeout as ReadTimeout
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import ServerError as ServerError
from ._errors import SpendCapReachedError as SpendCapReachedError
from ._errors import StreamError as StreamError
from ._errors import StreamFailedBeforeOutputError as StreamFailedBeforeOutputError
from ._errors import StreamInterruptedError as StreamInterruptedError
from ._errors import StreamServerError as StreamServerError
from ._errors import StreamStalledError as StreamStalledError
from ._errors import TokenExchangeError as TokenExchangeError
from ._errors import TokenNotUsableForCopilotError as TokenNotUsableForCopilotError
from ._errors import TransportError as TransportError
from ._errors import UnexpectedResponseError as UnexpectedResponseError
from ._errors import UnknownModelError as UnknownModelError
from ._errors import UnsupportedAPIForModelError as UnsupportedAPIForModelError
from ._errors import UnsupportedEndpointError as UnsupportedEndpointError
from ._errors import UsageError as UsageError
from ._errors import WebSessionInvalidError as WebSessionInvalidError
from ._errors import WriteError as WriteError
from ._errors import WrongHostError as WrongHostError
from ._login import LoginResult as LoginResult
from ._login import device_login as device_login
from ._login import logout as logout
from ._models import ChatChunk as ChatChunk
from ._models import ChatResult as ChatResult
from ._models import ThreadInfo as ThreadInfo
from ._resources import Chat as Chat
from ._resources import Completions as Completions
from ._resources import Models as Models
from ._retry import RetryPolicy as RetryPolicy
from ._sse import DEFAULT_MAX_EVENT_SIZE as DEFAULT_MAX_EVENT_SIZE
from ._sse import ServerSentEvent as ServerSentEvent
from ._sse import SSEDecoder as SSEDecoder
from ._sse import encode_comment as encode_comment
from ._sse import encode_event as encode_event
from ._stream import ChatStream as ChatStream
from ._transport import HTTPXTransport as HTTPXTransport
from ._transport import Transport as Transport
from .ide._catalogue import Model as Model
from .ide._types import ChatCompletion as ChatCompletion
from .ide._types import ChatCompletionChunk as ChatCompletionChunk
from .ide._versions import IdeVersions as IdeVersions

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "APIStatusError",
    "AuthenticationError",
    "AuthorizationDeniedError",
    "BadRequestError",
    "Chat",
    "ChatChunk",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatResult",
    "ChatStream",
    "ChatThread",
    "ClientStatistics",
    "ClientVersionUnsupportedError",
    "Completions",
    "ConnectError",
    "ConnectTimeout",
    "ContextLengthExceededError",
    "Conversation",
    "CopilotAccessDeniedError",
    "CopilotClient",
    "CopilotError",
    "CredentialsError",
    "DeviceCodeExpiredError",
    "DeviceFlowError",
    "EventTooLarge",
    "GitHubTokenRejectedError",
    "GithubCopilot",
    "HTTPXTransport",
    "IdeVersions",
    "IncompleteStreamError",
    "Limits",
    "LocalProtocolError",
    "LoginResult",
    "MalformedEventError",
    "Model",
    "ModelNotSupportedError",
    "ModelRoutingError",
    "Models",
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
    "RetryPolicy",
    "SSEDecoder",
    "ServerError",
    "ServerSentEvent",
    "SpendCapReachedError",
    "StreamError",
    "StreamFailedBeforeOutputError",
    "StreamInterruptedError",
    "StreamServerError",
    "StreamStalledError",
    "ThreadInfo",
    "Threads",
    "Timeouts",
    "TokenExchangeError",
    "TokenLease",
    "TokenNotUsableForCopilotError",
    "Transport",
    "TransportError",
    "UnexpectedResponseError",
    "UnknownModelError",
    "UnsupportedAPIForModelError",
    "UnsupportedEndpointError",
    "UsageError",
    "WebSessionInvalidError",
    "WriteError",
    "WrongHostError",
    "device_login",
    "encode_comment",
    "encode_event",
    "logout",
]


def _rename_modules() -> None:
    # Tracebacks and reprs say ``copilot_anyio.RateLimitError``, not ``copilot_anyio._errors...``:
    # the underscore modules are an implementation detail.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("copilot_anyio._"):
            obj.__module__ = __name__


_rename_modules()
