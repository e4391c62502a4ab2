"""config.settings.production for the page benchmarks (bench/dashboard.py, bench/readings.py part 5), changed
only where static files are collected. Production serves the manifest-hashed files collected into
var/staticfiles; the benchmark collects them into a temporary directory instead, so it writes nothing outside
bench/ and /tmp while the pages still render through the production storage, middleware and connection settings."""

import tempfile
from pathlib import Path

from config.settings.production import *  # noqa: F403

STATIC_ROOT = Path(tempfile.gettempdir()) / "car-t-bench-staticfiles"
