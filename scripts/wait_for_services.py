"""Before the test suite: PostgreSQL and Redis must answer (DATABASE_URL / REDIS_URL, defaulting to
this machine). They are required, never skipped: the suite fails fast with a clear message instead."""

import os
import socket
import sys
import time
from urllib.parse import urlparse

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/car_t_tracker")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")


def reachable(url: str, default_port: int, timeout: float = 30.0) -> bool:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=2):
                return True
        except OSError:
            time.sleep(0.5)
    return False


def main() -> int:
    missing = []
    if not reachable(DATABASE_URL, 5432):
        missing.append(f"PostgreSQL at {DATABASE_URL}")
    if not reachable(REDIS_URL, 6379):
        missing.append(f"Redis at {REDIS_URL}")
    if missing:
        print("The test suite needs " + " and ".join(missing) + ". Start them, or set DATABASE_URL / REDIS_URL.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
