"""For tests and benchmarks: a throwaway redis-server (loopback, free port, no persistence, own directory),
moto_server as the S3 endpoint, and the API under a real uvicorn in a thread (concurrency, wire limits, bind
address)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

MISSING = "redis-server not found: run `make install`"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def started(process: subprocess.Popen, ready: Callable[[], bool], timeout: float, interval: float) -> bool:
    """Wait until ``ready()`` (the server answers): False once ``process`` has exited or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


class RedisServer:
    """Starts ``redis-server`` on 127.0.0.1; ``stop``/``start`` again keep the same port (restart tests)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError(MISSING)
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host, self.port = "127.0.0.1", port or free_port()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 5.0) -> RedisServer:
        args = [
            self.binary, "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not started(self.process, self._answers, timeout, 0.02):
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}: see {self.dir / 'redis.log'}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.process = None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the server: SIGSTOP hangs it (connections stay open), SIGCONT resumes it,
        SIGKILL kills it at once (unread requests get their connection reset)."""
        assert self.process is not None, "redis-server is not running"
        os.kill(self.process.pid, signum)
        if signum == signal.SIGKILL:
            self.process.wait(5)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class ApiServer:
    """The API (``serving.app.server_config``) under uvicorn in a daemon thread, on a free port of the configured
    host unless ``host`` is given; ``address`` is where it listens."""

    def __init__(self, config, resources=None, host: str | None = None) -> None:
        import uvicorn

        from serving.app import create_app, server_config

        app = create_app(config, resources)
        self.server = uvicorn.Server(server_config(config, app, host, free_port()))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API did not start: see the log above")
            time.sleep(0.01)
        return self

    @property
    def address(self) -> tuple[str, int]:
        return self.server.servers[0].sockets[0].getsockname()[:2]

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class MotoServer:
    """``moto_server`` (an S3-compatible HTTP server from PyPI's moto) on 127.0.0.1 and a free port, in memory."""

    def __init__(self) -> None:
        self.binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        self.host, self.port = "127.0.0.1", free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> MotoServer:
        self.process = subprocess.Popen([self.binary, "-H", self.host, "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        if not started(self.process, self._answers, timeout, 0.05):
            self.stop()
            raise RuntimeError(f"moto_server did not start on port {self.port}")
        return self

    def require_auth(self, after: float = 0) -> None:
        """Check every request's credentials against moto's IAM from now on (``float('inf')``: never)."""
        self._post("/moto-api/reset-auth", str(after).encode())

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(5)
        self.process = None

    def _post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(
            self.url + path, data=body, method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request, timeout=5).close()

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/moto-api/", timeout=0.5).close()
        except OSError:
            return False
        return True

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
