"""The production image's build step: collectstatic with the hashed-manifest storage must succeed (a
vendored file that points at a missing source map breaks it)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_production_collectstatic_succeeds(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'build.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/htmx.min.js" in manifest and "vendor/chart.umd.min.js" in manifest


def test_the_wsgi_entry_point_loads_the_views_and_freezes_the_start_up_heap():
    """Full garbage collections walk what requests create, not the framework loaded at start-up."""
    import gc
    import sys

    import config.wsgi

    assert callable(config.wsgi.application)
    assert "monitoring.views" in sys.modules and "tracker.api.views" in sys.modules
    assert gc.get_freeze_count() > 10_000
