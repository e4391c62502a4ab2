"""config.settings.production for bench/ingest.py, with ROOT_URLCONF at bench/urls.py: the product's URLs
plus the bare check-in create the benchmark compares a check-in with."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
