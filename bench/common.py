"""Shared helpers of the scale benchmarks (datagen.py, dashboard.py, scans.py): the environment they run
Django in, the bench databases, the machine line and the small tables they print. Not a benchmark."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_10K = "car_t_scale"
DB_100K = "car_t_scale_100k"
# Nothing listens on the discard port: anything that tried to reach a broker or the Redis cache would
# fail loudly instead of touching the machine's Redis on 6379. The benchmarks below need no broker.
DUMMY_REDIS_URL = "redis://127.0.0.1:9/0"


def db_url(name: str, options: str = "") -> str:
    """`options` are PostgreSQL run-time settings for the connection, e.g. "-c jit=off" (libpq `options`)."""
    from urllib.parse import quote

    return f"postgres://postgres@127.0.0.1:5432/{name}" + (f"?options={quote(options)}" if options else "")


def bench_env(database: str, settings: str = "config.settings.production", redis_url: str = DUMMY_REDIS_URL,
              db_options: str = "") -> dict:
    """The production settings module, fed the way a deployment feeds it (environment variables)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings,
        "DJANGO_SECRET_KEY": "bench-not-a-secret-" + secrets.token_hex(32),
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "DATABASE_URL": db_url(database, db_options),
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "SMS_BACKEND": "notifications.channels.sms.HttpProviderSmsBackend",
        "SMS_PROVIDER_URL": "http://127.0.0.1:9/sms",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def setup_django(env: dict) -> None:
    os.environ.update(env)
    import django

    django.setup()


def admin_connect(dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{dbname}", autocommit=True)


def database_exists(name: str) -> bool:
    with admin_connect() as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def recreate_database(name: str) -> None:
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_database(template: str, name: str) -> float:
    """A throwaway copy of a generated database (file copy: seconds, not a reload). Returns seconds."""
    import time

    start = time.monotonic()
    with admin_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return time.monotonic() - start


def migrate(env: dict) -> None:
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError("migrate failed:\n" + result.stdout[-2000:] + result.stderr[-4000:])


def read_meta(database: str) -> dict:
    """What datagen.py wrote about a database (its clock, size, seed); empty if it is not a bench db."""
    if not database_exists(database):
        return {}
    with admin_connect(database) as conn:
        exists = conn.execute("SELECT to_regclass('public.bench_meta')").fetchone()[0]
        if not exists:
            return {}
        return dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())


def anchor_of(meta: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(meta["anchor"])


def ensure_generated(database: str, patients: int, days: int) -> dict:
    """The database's metadata; runs datagen.py first when the database is missing or of another size."""
    meta = read_meta(database)
    if meta.get("complete") != "yes" or int(meta.get("patients", -1)) != patients or int(meta.get("days", -1)) != days:
        print(f"[{database} missing or not {patients} patients x {days} days: running datagen.py]", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / "datagen.py"), "--patients", str(patients), "--days",
                        str(days), "--database", database], check=True)
        meta = read_meta(database)
    return meta


# ---------------------------------------------------------------------------------------------- reporting


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine_line() -> str:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    pg = ""
    try:
        with admin_connect() as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(conn.execute(
                "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                "('shared_buffers', 'work_mem', 'synchronous_commit')").fetchall())
        pg = (f"; PostgreSQL {version.split()[0]} (shared_buffers {settings['shared_buffers']}, work_mem "
              f"{settings['work_mem']}, synchronous_commit {settings['synchronous_commit']})")
    except Exception:  # noqa: BLE001 (the line is informative only)
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GB; python {sys.version.split()[0]}{pg}"


def header(title: str) -> None:
    print(title)
    print(f"machine: {machine_line()}")
    print(f"load average (1/5/15 min) at start: {load_average()}")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def table(headers: list[str], rows: list[list], align: str | None = None) -> None:
    """A small fixed-width table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        line = "  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        print(line.rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
