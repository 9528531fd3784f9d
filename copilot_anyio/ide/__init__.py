"""The IDE flavour of Copilot Chat: device flow, Copilot token, ``/chat/completions``, ``/models``."""
