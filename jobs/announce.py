"""Tell the person who started ``rankstream api`` when it is ready, and why it cannot start.

uvicorn binds its socket only after the app's startup (models loaded and warmed up), so the first accepted
connection on the address means the API answers requests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

from feature_ops.config import ConfigError

_PROBE = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


def url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def check_free(host: str, port: int) -> None:
    """A ``ConfigError`` naming the address when it cannot be listened on (in use, unknown host)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as e:
        raise ConfigError(f"inference: cannot listen on {host}:{port}: {e.strerror or e}") from None


def when_listening(host: str, port: int, then: Callable[[], None], timeout: float = 300.0) -> threading.Thread:
    """Call ``then`` (once, from a daemon thread) as soon as ``host:port`` accepts a connection."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((_PROBE.get(host, host), port), timeout=0.5):
                    then()
                    return
            except OSError:
                time.sleep(0.05)

    thread = threading.Thread(target=wait, name="announce-listening", daemon=True)
    thread.start()
    return thread
