"""The IDE flavour of Copilot Chat, pure layer: device flow, Copilot token, ``/chat/completions``,
``/models``.

Everything here is data in, data out: request builders, reply parsers, the stream accumulator
and the decisions of the device flow and token exchange. The I/O (sending, polling, reading
files) lives with the client; ``write_token_store`` is the one blocking helper, for a worker
thread.
"""

from __future__ import annotations

from ._accumulate import ChatCompletionAccumulator as ChatCompletionAccumulator
from ._catalogue import Model as Model
from ._catalogue import ModelBilling as ModelBilling
from ._catalogue import ModelCatalogue as ModelCatalogue
from ._catalogue import ModelLimits as ModelLimits
from ._catalogue import ModelPolicy as ModelPolicy
from ._catalogue import ModelSupports as ModelSupports
from ._catalogue import SkippedModel as SkippedModel
from ._catalogue import parse_models as parse_models
from ._catalogue import route as route
from ._credentials import FoundToken as FoundToken
from ._device_flow import Authorized as Authorized
from ._device_flow import Denied as Denied
from ._device_flow import DeviceCode as DeviceCode
from ._device_flow import Expired as Expired
from ._device_flow import Failed as Failed
from ._device_flow import Pending as Pending
from ._device_flow import PollOutcome as PollOutcome
from ._device_flow import SlowDown as SlowDown
from ._device_flow import classify_poll as classify_poll
from ._device_flow import parse_device_code as parse_device_code
from ._store import write_token_store as write_token_store
from ._token import CopilotToken as CopilotToken
from ._token import exchange_error as exchange_error
from ._token import parse_copilot_token as parse_copilot_token
from ._types import ChatCompletion as ChatCompletion
from ._types import ChatCompletionChunk as ChatCompletionChunk
from ._types import ChatCompletionMessage as ChatCompletionMessage
from ._types import ChatCompletionMessageToolCall as ChatCompletionMessageToolCall
from ._types import Choice as Choice
from ._types import ChoiceDelta as ChoiceDelta
from ._types import ChoiceDeltaToolCall as ChoiceDeltaToolCall
from ._types import ChoiceDeltaToolCallFunction as ChoiceDeltaToolCallFunction
from ._types import ChunkChoice as ChunkChoice
from ._types import CompletionUsage as CompletionUsage
from ._types import CopilotUsage as CopilotUsage
from ._types import Function as Function
from ._versions import DEFAULT_VERSIONS as DEFAULT_VERSIONS
from ._versions import IdeVersions as IdeVersions
from ._wire import COPILOT_CLIENT_ID as COPILOT_CLIENT_ID
from ._wire import chat_completions_request as chat_completions_request
from ._wire import models_request as models_request
from ._wire import parse_chat_completion as parse_chat_completion

__all__ = [
    "COPILOT_CLIENT_ID",
    "DEFAULT_VERSIONS",
    "Authorized",
    "ChatCompletion",
    "ChatCompletionAccumulator",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionUsage",
    "CopilotToken",
    "CopilotUsage",
    "Denied",
    "DeviceCode",
    "Expired",
    "Failed",
    "FoundToken",
    "Function",
    "IdeVersions",
    "Model",
    "ModelBilling",
    "ModelCatalogue",
    "ModelLimits",
    "ModelPolicy",
    "ModelSupports",
    "Pending",
    "PollOutcome",
    "SkippedModel",
    "SlowDown",
    "chat_completions_request",
    "classify_poll",
    "exchange_error",
    "models_request",
    "parse_chat_completion",
    "parse_copilot_token",
    "parse_device_code",
    "parse_models",
    "route",
    "write_token_store",
]
