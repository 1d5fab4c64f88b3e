"""A real ``redis-server`` on a free loopback port, started and stopped by the test.

No fake stands in for Redis: the binary is the system's (``apt-get install
redis-server``; README.md says so, and ``.ci/run`` installs it). It runs
without persistence, so a restart loses every key, the worst case a
restarting Redis can be. The benchmarks use it too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

#: Where the tests look for the binary (``REDIS_SERVER`` overrides it).
BINARY_HINT = (
    "redis-server not found: install it (apt-get install redis-server; see README.md)"
)


def find_redis_server() -> str:
    """The path of ``redis-server``.

    Raises:
        FileNotFoundError: it is not installed.
    """
    path = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if path is None:
        raise FileNotFoundError(BINARY_HINT)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1 (a context manager: started, then stopped).

    Attributes:
        port: Its TCP port (kept across `restart`).
        url: ``redis://127.0.0.1:PORT/0``.
    """

    def __init__(self, *, port: int | None = None, password: str | None = None) -> None:
        self.port = port if port is not None else free_port()
        self._password = password
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._binary = find_redis_server()
        self._dir = tempfile.TemporaryDirectory(prefix="realtime-trio-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers ``PING``."""
        log = Path(self._dir.name) / "redis.log"
        command = [
            self._binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir.name,
            "--logfile", str(log),
            "--daemonize", "no",
            *(["--requirepass", self._password] if self._password else []),
        ]  # fmt: skip
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self._process.poll() is not None:
                text = log.read_text() if log.exists() else ""
                raise RuntimeError(f"redis-server exited at start:\n{text}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("redis-server did not answer PING in time")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a stuck server
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop, then start on the same port (every key is lost: no persistence)."""
        self.stop()
        self.start()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused server go on (SIGCONT)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                answer = s.recv(64)
                return answer.startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self._dir.cleanup()
