"""copilot-anyio: GitHub Copilot Chat for async Python, on trio and asyncio."""

from __future__ import annotations

from ._errors import APIStatusError as APIStatusError
from ._errors import AuthenticationError as AuthenticationError
from ._errors import BadRequestError as BadRequestError
from ._errors import ConnectError as ConnectError
from ._errors import ConnectTimeout as ConnectTimeout
from ._errors import CopilotError as CopilotError
from ._errors import CredentialsError as CredentialsError
from ._errors import EventTooLarge as EventTooLarge
from ._errors import IncompleteStreamError as IncompleteStreamError
from ._errors import LocalProtocolError as LocalProtocolError
from ._errors import NotFoundError as NotFoundError
from ._errors import PermissionDeniedError as PermissionDeniedError
from ._errors import PoolTimeout as PoolTimeout
from ._errors import ProtocolError as ProtocolError
from ._errors import QuotaExceededError as QuotaExceededError
from ._errors import RateLimitError as RateLimitError
from ._errors import ReadError as ReadError
from ._errors import ReadTimeout as ReadTimeout
from ._errors import RemoteProtocolError as RemoteProtocolError
from ._errors import ServerError as ServerError
from ._errors import StreamError as StreamError
from ._errors import StreamInterruptedError as StreamInterruptedError
from ._errors import StreamServerError as StreamServerError
from ._errors import StreamStalledError as StreamStalledError
from ._errors import TokenExchangeError as TokenExchangeError
from ._errors import TransportError as TransportError
from ._errors import UsageError as UsageError
from ._errors import WebSessionInvalidError as WebSessionInvalidError
from ._errors import WriteError as WriteError

__version__ = "0.1.0"

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConnectError",
    "ConnectTimeout",
    "CopilotError",
    "CredentialsError",
    "EventTooLarge",
    "IncompleteStreamError",
    "LocalProtocolError",
    "NotFoundError",
    "PermissionDeniedError",
    "PoolTimeout",
    "ProtocolError",
    "QuotaExceededError",
    "RateLimitError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "ServerError",
    "StreamError",
    "StreamInterruptedError",
    "StreamServerError",
    "StreamStalledError",
    "TokenExchangeError",
    "TransportError",
    "UsageError",
    "WebSessionInvalidError",
    "WriteError",
]
