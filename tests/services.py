"""Real services for integration tests: a private redis-server, a Celery worker process on it, and a
loopback HTTP server standing in for the SMS provider and the paging webhook (the outside world).

In CI (CI=true) a missing redis-server binary is a failure, never a skip."""

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll until predicate() is truthy; integration tests wait for other processes, never for time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


class RedisServer:
    def __init__(self):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the integration tests need a real Redis.")
        self.binary = binary
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _ping(client), timeout=15, what="redis-server to answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _ping(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    answered: bool = False


@dataclass
class FakeOutside:
    """Answers 200 to every POST, or holds the first `hang` requests until released (a provider that
    never answers while the worker is killed)."""

    hang: int = 0
    received: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> "FakeOutside":
        outside = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                entry = Received(self.path, dict(self.headers), body)
                outside.received.append(entry)
                if len([r for r in outside.received if r.path == self.path]) <= outside.hang:
                    outside.release.wait(60)
                    return  # dropped: the client is gone, nothing is answered
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")
                entry.answered = True

            def log_message(self, *args):
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answered(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path and r.answered]

    def json(self, path: str) -> list[dict]:
        return [json.loads(r.body) for r in self.answered(path)]

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.shutdown()


class Worker:
    """`celery -A tracker worker` in its own process group, on the given broker and database."""

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tracker", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"it-{os.getpid()}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: b"ready." in self.log_path.read_bytes() or self.process.poll() is not None,
                   timeout=60, what="the Celery worker to be ready")
        if self.process.poll() is not None:
            raise AssertionError("The Celery worker exited:\n" + self.log_path.read_text()[-4000:])

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as when a machine dies: no warm shutdown, no acknowledgement."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
