"""Which product files one check-in passes through, from the request to the nurse's SMS:
`python bench/checkin_path.py [--functions]`.

The README's architecture section walks this path file by file and states how many files it is. This counts
them: every product file (not the virtualenv, tests, the benchmarks or migrations) with a function that runs
while one fever-with-dizziness check-in is posted through the API with a token, graded, and its emergency
alert's SMS is sent to a loopback provider, with Celery eager (the worker's part runs in this process). A
warm-up check-in of another patient goes first, so one-time imports and compilation are not counted. Runs on
production settings against PostgreSQL (database `car_t_path`, recreated) and a private Redis.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alert_latency import make_data, migrate, production_env, recreate_database  # noqa: E402
from ingest import payloads  # noqa: E402

from tests.services import FakeOutside, RedisServer, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = ("/.venv/", "/tests/", "/bench/", "/migrations/")


def product_file(filename: str) -> str | None:
    if not filename.endswith(".py"):
        return None  # frozen modules, generated code
    path = os.path.abspath(filename)
    if not path.startswith(str(ROOT) + os.sep) or any(part in path for part in LEFT_OUT):
        return None
    return os.path.relpath(path, ROOT)


def main() -> int:
    redis_server, outside = RedisServer(), FakeOutside()
    try:
        redis_server.start()
        outside.start()
        env = production_env(redis_server.url, outside.url, "car_t_path")
        recreate_database("car_t_path")
        migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        from django.test import Client

        from config.celery import app

        app.conf.task_always_eager = True
        app.conf.task_eager_propagates = True
        tokens = [token for _, token in make_data(2, outside.url)["tokens"]]
        client = Client(HTTP_HOST="127.0.0.1")
        emergency = payloads()["emergency"]
        rng = random.Random(5)

        def post(token: str) -> int:
            return client.post("/api/v1/checkins/", data=json.dumps(emergency(rng)), content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {token}").status_code

        assert post(tokens[0]) == 201  # warm-up: another patient
        wait_until(lambda: len(outside.answered("/sms")) >= 1, timeout=30, what="the warm-up SMS")
        sent_before = len(outside.answered("/sms"))
        seen: dict[str, dict[str, None]] = {}

        def profile(frame, event, arg):
            if event == "call":
                name = product_file(frame.f_code.co_filename)
                if name is not None:
                    seen.setdefault(name, {})[frame.f_code.co_name] = None

        threading.setprofile(profile)
        sys.setprofile(profile)
        try:
            assert post(tokens[1]) == 201
            wait_until(lambda: len(outside.answered("/sms")) > sent_before, timeout=30, what="the nurse's SMS")
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
        print(f"{len(seen)} product files on one check-in's path, request to SMS (in the order first called):")
        for name, functions in seen.items():
            print(f"  {name}" + (f": {', '.join(functions)}" if "--functions" in sys.argv else ""))
        return 0
    finally:
        outside.stop()
        redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
