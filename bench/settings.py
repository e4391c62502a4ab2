"""config.settings.production for the page benchmark (bench/dashboard.py), changed only where static
files are collected. Production serves the manifest-hashed files collected into var/staticfiles; the
benchmark collects them into a temporary directory instead, so it writes nothing outside bench/ and /tmp
while the pages still render through the production storage, middleware and connection settings.

One addition: chart.umd.min.js ends with `//# sourceMappingURL=chart.umd.min.js.map`, and the manifest
storage refuses to collect a file whose source map is missing. The Makefile and the Dockerfile copy the
script without its map, so `collectstatic` fails under these storages (product issue, reported by the
benchmark); dashboard.py puts the map from node_modules (or an empty one) in an extra static directory."""

import tempfile
from pathlib import Path

from config.settings.production import *  # noqa: F403
from config.settings.production import STATICFILES_DIRS

STATIC_ROOT = Path(tempfile.gettempdir()) / "car-t-bench-staticfiles"
EXTRA_STATIC_DIR = Path(tempfile.gettempdir()) / "car-t-bench-static-extra"
STATICFILES_DIRS = [*STATICFILES_DIRS, EXTRA_STATIC_DIR]
