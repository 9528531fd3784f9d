"""Deterministic reply text, so tests can predict exactly what a stream will say.

The text depends on the prompt and on ``turn`` (the position of the user message in its thread
chain), so a test can prove threading works: the second turn says something else than the first.
It contains multi-byte UTF-8 (accents, an em dash, curly quotes, a four-byte emoji) so that byte
re-chunking splits characters.
"""

from __future__ import annotations

import hashlib

_OPENERS = (
    "Sure — here is a café-style answer",
    "Voilà, a naïve but honest reply",
    "Good question; here’s the gist",
    "Happy to help — quick résumé",
)
_MIDDLES = (
    "streams arrive in small pieces and the client stitches them together",
    "each event carries one delta, and the order of deltas matters",
    "a reply ends with a final event that names the next parent message",
    "servers may pause, split characters, or close early, so parse leniently",
)
_CLOSERS = ("🚀", "🎉", "🌟", "🧩")  # all four-byte UTF-8

#: Piece sizes (in characters) cycled through by :func:`reply_deltas`.
_PIECE_SIZES = (4, 7, 3, 5, 8, 6, 3, 5)


def _summary(prompt: str) -> str:
    words = prompt.split()
    if not words:
        return "(empty prompt)"
    text = " ".join(words[:6])
    return text if len(words) <= 6 else text + " …"


def reply_for(prompt: str, *, turn: int = 1) -> str:
    """The assistant's reply to ``prompt`` at position ``turn`` (1 for a thread's first message).

    Deterministic: the same arguments always give the same text; different turns give different
    texts. A few dozen words with non-ASCII characters.
    """
    digest = hashlib.sha256(f"{turn}\x00{prompt}".encode()).digest()
    opener = _OPENERS[digest[0] % len(_OPENERS)]
    middle = _MIDDLES[digest[1] % len(_MIDDLES)]
    closer = _CLOSERS[digest[2] % len(_CLOSERS)]
    return (
        f"Turn {turn}. {opener} to “{_summary(prompt)}”: {middle}. "
        f"In short, SSE is plain text over HTTP — one event at a time, déjà vu for every "
        f"reader — and this reply is number {turn} of its thread {closer}"
    )


def reply_deltas(prompt: str, *, turn: int = 1) -> list[str]:
    """The token-sized pieces (3 to 8 characters) a stream sends; ``"".join()`` gives
    :func:`reply_for`."""
    return split_text(reply_for(prompt, turn=turn))


def split_text(text: str, sizes: tuple[int, ...] = _PIECE_SIZES) -> list[str]:
    """Split arbitrary text into pieces like :func:`reply_deltas` does."""
    pieces: list[str] = []
    pos = 0
    i = 0
    while pos < len(text):
        size = sizes[i % len(sizes)]
        pieces.append(text[pos : pos + size])
        pos += size
        i += 1
    return pieces
