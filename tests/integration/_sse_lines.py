"""A deliberately naive reader of ``data:`` lines, shared by the emulator's tests.

It is not the library's decoder on purpose: the emulator is tested against independent code.
"""

from __future__ import annotations


def data_lines(raw: bytes) -> list[str]:
    """Payloads of the ``data:`` lines of a body, in order."""
    return [
        line[len("data:") :].strip()
        for line in raw.decode(errors="replace").replace("\r\n", "\n").split("\n")
        if line.startswith("data:")
    ]
