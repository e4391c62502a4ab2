"""`make run` uses SQLite and the filesystem broker: migrate, load the demo data and run the clinical flow
(check-in, dashboard, escalation and reminder scans) on them, each in its own process as the quick start
does. The rest of the suite runs on PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str], env: dict) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return result.stdout


def test_the_quick_start_flow_runs_on_sqlite_and_the_filesystem_broker(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               CELERY_FILESYSTEM_DIR=str(tmp_path / "celery"), DJANGO_DEBUG="true",
               DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1,localhost", PYTHONPATH=str(ROOT))
    run(["manage.py", "migrate", "--noinput"], env)
    run(["manage.py", "seed_demo"], env)
    assert "quick start flow on SQLite: ok" in run(["tests/quickstart_flow.py"], env)
    assert list((tmp_path / "celery" / "queue").iterdir()), "nothing was handed to the broker"
