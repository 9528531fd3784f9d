"""The IDE flavour (protocol.md §3): the route table of its handlers."""

from __future__ import annotations

from ._capi import embeddings, models, models_policy, ping
from ._chat import chat_completions, responses
from ._github import copilot_token, copilot_user, device_code, device_token
from ._messages import messages

IDE_HANDLERS = {
    "device.code": device_code,
    "device.token": device_token,
    "copilot.token": copilot_token,
    "copilot.user": copilot_user,
    "models": models,
    "models.policy": models_policy,
    "chat.completions": chat_completions,
    "responses": responses,
    "messages": messages,
    "embeddings": embeddings,
    "ping": ping,
}
