"""Real services for integration tests, benchmarks and the chaos suite: a private redis-server, Celery
worker processes (solo or prefork) and Celery beat on it, gunicorn, and a loopback HTTP server standing in
for the SMS provider and the paging webhook (the outside world). Every process runs in its own process
group, so it can be stopped (or killed, as a machine dies) with everything it started.

In CI (CI=true) a missing redis-server binary is a failure, never a skip."""

import contextlib
import http.client
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
    """A private redis-server on a free port (the same port again after stop() and start()). With
    `data_dir`, it keeps an append-only file there, as the compose file's Redis does, so what was queued
    survives a restart."""

    def __init__(self, data_dir: Path | None = None):
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed; the integration tests need a real Redis.")
        self.binary = binary
        self.port = free_port()
        self.data_dir = data_dir
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        persistence = ["--save", "", "--appendonly", "no"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            persistence = ["--save", "", "--appendonly", "yes", "--dir", str(self.data_dir)]
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *persistence],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: _ping(client), timeout=15, what="redis-server to answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.resume()  # a stopped (SIGSTOP) server cannot act on SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the server hangs, its sockets stay open and nothing answers."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)


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
    at: float = 0.0  # time.time() when the request arrived
    client_port: int = 0  # the sender's local port (which process sent it: `pid_with_socket`)
    finished: bool = False  # answered, or given up on (the sender was gone)


@dataclass
class FakeOutside:
    """Answers 200 to every POST, or holds the first `hang` requests until released (a provider that
    never answers while the worker is killed). With `delay`, every request is held that many seconds
    before the answer (a slow provider: a delivery stays in flight); it can be changed while running."""

    hang: int = 0
    delay: float = 0.0
    received: list = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> "FakeOutside":
        outside = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                entry = Received(self.path, dict(self.headers), body, at=time.time(),
                                 client_port=self.client_address[1])
                outside.received.append(entry)
                try:
                    if len([r for r in outside.received if r.path == self.path]) <= outside.hang:
                        outside.release.wait(60)
                        return  # dropped: the client is gone, nothing is answered
                    if outside.delay:
                        time.sleep(outside.delay)
                    try:
                        self.send_response(200)
                        self.end_headers()
                        self.wfile.write(b"{}")
                    except OSError:
                        return  # the sender died while we were slow: received, never answered
                    entry.answered = True
                finally:
                    entry.finished = True

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

    def in_flight(self, path: str | None = None) -> list[Received]:
        """Requests received and not answered yet (their sender is waiting)."""
        return [r for r in list(self.received) if not r.finished and (path is None or r.path == path)]

    def json(self, path: str) -> list[dict]:
        return [json.loads(r.body) for r in self.answered(path)]

    def stop(self) -> None:
        self.release.set()
        if self.server:
            self.server.shutdown()


class Worker:
    """`celery -A config worker` in its own process group, on the given broker and database."""

    def __init__(self, env: dict, log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=INFO",
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


class PreforkWorker(Worker):
    """`celery -A config worker` with the production pool: prefork, as in docker-compose."""

    def __init__(self, env: dict, log_path: Path, concurrency: int = 2, name: str | None = None):
        super().__init__(env, log_path)
        self.concurrency = concurrency
        self.name = name or f"bench-{os.getpid()}"

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        mark = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
             f"--concurrency={self.concurrency}", "-n", f"{self.name}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: b"ready." in self.log_path.read_bytes()[mark:] or self.process.poll() is not None,
                   timeout=60, what="the Celery worker to be ready")
        if self.process.poll() is not None:
            raise RuntimeError("The Celery worker exited:\n" + self.log_path.read_text()[-4000:])

    def children(self) -> list[int]:
        """The pool's processes (the prefork children of the main process)."""
        return child_pids(self.process.pid) if self.alive else []


class Beat:
    """`celery -A config beat` (the DatabaseScheduler of the settings), in its own process group."""

    def __init__(self, env: dict, log_path: Path):
        self.env, self.log_path = env, log_path
        self.process = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        mark = self.log_path.stat().st_size
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: b"beat: Starting" in self.log_path.read_bytes()[mark:] or self.process.poll() is not None,
                   timeout=60, what="Celery beat to start")
        if self.process.poll() is not None:
            raise RuntimeError("Celery beat exited:\n" + self.log_path.read_text()[-4000:])

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        _stop_group(self.process)


class Gunicorn:
    """gunicorn serving config.wsgi (gthread when threads > 1) on a free loopback port."""

    def __init__(self, env: dict, log_path: Path, workers: int, threads: int, access_log: bool = False):
        self.env, self.log_path, self.workers, self.threads = env, log_path, workers, threads
        self.access_log = access_log
        self.port = free_port()
        self.process = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        extra = ["--access-logfile", "-"] if self.access_log else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--threads", str(self.threads), "--backlog", "2048", *extra],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_until(lambda: self._answers() or self.process.poll() is not None, timeout=60,
                   what="gunicorn to answer")
        if self.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + self.log_path.read_text()[-4000:])

    def _answers(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/api/v1/therapies/")
            conn.getresponse().read()
            conn.close()
            return True
        except OSError:
            return False

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def children(self) -> list[int]:
        return child_pids(self.process.pid) if self.alive else []

    def stop(self) -> None:
        _stop_group(self.process)


def _stop_group(process, timeout: float = 20) -> None:
    """SIGTERM the process group (a warm shutdown), SIGKILL it if that takes longer than `timeout`."""
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- /proc


def child_pids(pid: int) -> list[int]:
    """Live child processes of `pid` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return sorted(children)


def pid_with_socket(local_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the TCP socket bound to 127.0.0.1:`local_port` (the sender of a request the
    fake outside received: Received.client_port). Linux /proc only."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == local_port:
                inodes.add(parts[9])
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
        except OSError:
            continue
    return None
