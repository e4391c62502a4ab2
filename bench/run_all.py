"""Run every benchmark in bench/ one after the other: `python bench/run_all.py` (or `make bench`)."""

import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
BENCHMARKS = ["rules.py", "alert_latency.py", "ingest.py", "datagen.py", "dashboard.py", "scans.py", "readings.py"]


def main() -> int:
    failed = 0
    for name in BENCHMARKS:
        print(f"\n== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / name)])
    return failed


if __name__ == "__main__":
    sys.exit(main())
