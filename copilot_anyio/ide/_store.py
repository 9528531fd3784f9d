"""Writing the library's token store: synchronous file I/O, meant for a worker thread.

The file holds GitHub tokens, so it is never readable by others, not even for a moment: the
temporary file is created with mode 0600 (``mkstemp`` does so whatever the umask) in the same
directory, filled, flushed to disk, and then renamed over the old file with ``os.replace``, which
is atomic on POSIX and Windows. A reader sees the old store or the new one, never half of one;
a failure leaves the old store as it was and removes the temporary file.

Two writers at once each read, change and replace the whole file, so the later one wins and the
earlier one's change is lost; signing in to two hosts at the same instant is not worth a lock.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ._credentials import encode_token_store, remove_from_token_store
from ._wire import COPILOT_CLIENT_ID

__all__ = ["remove_token_store_entry", "write_token_store"]


def _read(target: Path) -> str | None:
    try:
        return target.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def _replace_atomically(target: Path, text: str) -> None:
    """Put ``text`` at ``target`` through a 0600 temporary file and ``os.replace``."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        # Make the rename itself durable (POSIX); best effort.
        with contextlib.suppress(OSError):
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def write_token_store(
    path: str | os.PathLike[str],
    token: str,
    *,
    host: str = "github.com",
    client_id: str = COPILOT_CLIENT_ID,
    user: str | None = None,
) -> None:
    """Store ``token`` for ``host`` at ``path``, keeping other hosts' entries.

    Creates the parent directory (mode 0700) if needed. Blocking: run it in a worker thread
    (``anyio.to_thread.run_sync``).

    Raises:
        OSError: the directory or file could not be written; the old store is untouched.
    """
    target = Path(path)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = encode_token_store(host, token, previous=_read(target), client_id=client_id, user=user)
    _replace_atomically(target, text)


def remove_token_store_entry(path: str | os.PathLike[str], *, host: str = "github.com") -> bool:
    """Remove ``host``'s entry from the store at ``path``, keeping the others.

    Returns whether there was one. A missing or unreadable store is not an error (False) and
    is left as it is. Blocking: run it in a worker thread.

    Raises:
        OSError: the store could not be rewritten; the old store is untouched.
    """
    target = Path(path)
    previous = _read(target)
    if previous is None:
        return False
    text = remove_from_token_store(previous, host=host)
    if text is None:
        return False
    _replace_atomically(target, text)
    return True
