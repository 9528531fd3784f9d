"""The IDE flavour of Copilot Chat, pure layer: device flow, Copilot token, ``/chat/completions``,
``/responses``, ``/v1/messages``, ``/embeddings``, ``/models``, usage and quotas, history repair.

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
from ._catalogue import preferred_endpoint as preferred_endpoint
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
from ._messages import ContentBlock as ContentBlock
from ._messages import Message as Message
from ._messages import MessageAccumulator as MessageAccumulator
from ._messages import MessageStreamEvent as MessageStreamEvent
from ._messages import MessageUsage as MessageUsage
from ._repair import RepairedHistory as RepairedHistory
from ._repair import ToolHistoryRepair as ToolHistoryRepair
from ._repair import check_tool_history as check_tool_history
from ._repair import repair_tool_history as repair_tool_history
from ._responses import Response as Response
from ._responses import ResponseAccumulator as ResponseAccumulator
from ._responses import ResponseOutputItem as ResponseOutputItem
from ._responses import ResponseStreamEvent as ResponseStreamEvent
from ._responses import ResponseUsage as ResponseUsage
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
from ._types import CreateEmbeddingResponse as CreateEmbeddingResponse
from ._types import Embedding as Embedding
from ._types import Function as Function
from ._usage import CopilotUser as CopilotUser
from ._usage import ModelTotals as ModelTotals
from ._usage import QuotaSnapshot as QuotaSnapshot
from ._usage import UsageRecord as UsageRecord
from ._usage import UsageTotals as UsageTotals
from ._usage import check_spend_cap as check_spend_cap
from ._usage import estimate_credits as estimate_credits
from ._usage import parse_copilot_user as parse_copilot_user
from ._usage import quotas_from_headers as quotas_from_headers
from ._usage import usage_record as usage_record
from ._versions import DEFAULT_VERSIONS as DEFAULT_VERSIONS
from ._versions import IdeVersions as IdeVersions
from ._wire import COPILOT_CLIENT_ID as COPILOT_CLIENT_ID
from ._wire import chat_completions_request as chat_completions_request
from ._wire import embeddings_request as embeddings_request
from ._wire import messages_request as messages_request
from ._wire import models_request as models_request
from ._wire import parse_chat_completion as parse_chat_completion
from ._wire import parse_embeddings as parse_embeddings
from ._wire import parse_message as parse_message
from ._wire import parse_response as parse_response
from ._wire import responses_request as responses_request

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
    "ContentBlock",
    "CopilotToken",
    "CopilotUsage",
    "CopilotUser",
    "CreateEmbeddingResponse",
    "Denied",
    "DeviceCode",
    "Embedding",
    "Expired",
    "Failed",
    "FoundToken",
    "Function",
    "IdeVersions",
    "Message",
    "MessageAccumulator",
    "MessageStreamEvent",
    "MessageUsage",
    "Model",
    "ModelBilling",
    "ModelCatalogue",
    "ModelLimits",
    "ModelPolicy",
    "ModelSupports",
    "ModelTotals",
    "Pending",
    "PollOutcome",
    "QuotaSnapshot",
    "RepairedHistory",
    "Response",
    "ResponseAccumulator",
    "ResponseOutputItem",
    "ResponseStreamEvent",
    "ResponseUsage",
    "SkippedModel",
    "SlowDown",
    "ToolHistoryRepair",
    "UsageRecord",
    "UsageTotals",
    "chat_completions_request",
    "check_spend_cap",
    "check_tool_history",
    "classify_poll",
    "embeddings_request",
    "estimate_credits",
    "exchange_error",
    "messages_request",
    "models_request",
    "parse_chat_completion",
    "parse_copilot_token",
    "parse_copilot_user",
    "parse_device_code",
    "parse_embeddings",
    "parse_message",
    "parse_models",
    "parse_response",
    "preferred_endpoint",
    "quotas_from_headers",
    "repair_tool_history",
    "responses_request",
    "route",
    "usage_record",
    "write_token_store",
]
