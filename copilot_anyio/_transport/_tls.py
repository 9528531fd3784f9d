"""The lean transport's TLS contexts: built once per setting, off the event loop, then shared.

Loading a CA bundle takes tens of milliseconds of blocking file I/O and parsing. A thousand
conversations that start at once must not each do it, nor do it on the event loop: the first
use builds the context in a worker thread, under a lock the others wait on, and every later
connection of every transport in the process reuses it.

The trust store is the one httpx uses, so both transports trust the same servers: a CA bundle
or directory given as ``verify``, else (``trust_env``) ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``,
else certifi's bundle, else the system's.
"""

from __future__ import annotations

import os
import ssl
import threading

import anyio

__all__ = ["ssl_context"]

_contexts: dict[tuple[str | bool, bool, str, str], ssl.SSLContext] = {}
_lock = threading.Lock()


def _env_key(trust_env: bool) -> tuple[str, str]:
    if not trust_env:
        return ("", "")
    return (os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", ""))


def _build(verify: str | bool, trust_env: bool) -> ssl.SSLContext:
    key = (verify, trust_env, *_env_key(trust_env))
    with _lock:
        context = _contexts.get(key)
        if context is not None:
            return context
        if verify is False:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            cafile: str | None = None
            capath: str | None = None
            env_file, env_dir = key[2], key[3]
            if isinstance(verify, str):
                if os.path.isdir(verify):
                    capath = verify
                else:
                    cafile = verify
            elif env_file or env_dir:
                cafile, capath = env_file or None, env_dir or None
            else:
                try:
                    import certifi  # httpx's dependency, so present; optional here

                    cafile = certifi.where()
                except ImportError:  # pragma: no cover - certifi comes with httpx
                    pass
            context = ssl.create_default_context(cafile=cafile, capath=capath)
        context.set_alpn_protocols(["http/1.1"])
        _contexts[key] = context
        return context


async def ssl_context(verify: ssl.SSLContext | str | bool, trust_env: bool) -> ssl.SSLContext:
    """The context for ``verify`` (a context given is used as it is)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    cached = _contexts.get((verify, trust_env, *_env_key(trust_env)))
    if cached is not None:
        return cached
    return await anyio.to_thread.run_sync(_build, verify, trust_env)
