"""The dashboard's rows, placed in one pass (`monitoring/dashboard_markup.py`) against the row template they
replaced (the comparator, kept as `REFERENCE` in tests/monitoring/test_dashboard_markup.py, which checks both give
the same markup): `.venv/bin/python bench/dashboard_rows.py [--rows 200] [--runs 50]`.

The rows are the test's shapes repeated (every kind of cell: alerts acknowledged and not, new, numbers, device
line, silent badge); each run renders both, alternately, in this one process, so the machine's load weighs on
both alike. Prints the median and p95 of each."""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    import django

    django.setup()
    from django.template import Context, Template

    from monitoring.dashboard_markup import rows_markup
    from tests.monitoring.test_dashboard_markup import CSRF, NEXT, REFERENCE, SHAPES

    shapes = [row for rows in SHAPES.values() for row in rows]
    rows = [dict(shapes[i % len(shapes)], uuid=str(i)) for i in range(args.rows)]
    template = Template(REFERENCE)
    timings: dict[str, list[float]] = {"row template (comparator)": [], "one pass": []}
    for run in range(args.runs + 10):
        for name, render in (("row template (comparator)", lambda: template.render(
                Context({"rows": rows, "csrf_input": CSRF, "next": NEXT}))),
                             ("one pass", lambda: rows_markup(rows, csrf_input=CSRF, next_url=NEXT))):
            start = time.perf_counter()
            render()
            if run >= 10:  # warm-up
                timings[name].append((time.perf_counter() - start) * 1e3)
    alerts = sum(len(row["alerts"]) for row in rows)
    print(f"{args.rows} rows, {alerts} alerts, {args.runs} runs each; load average {os.getloadavg()[0]:.2f}")
    for name, samples in timings.items():
        samples.sort()
        print(f"  {name}: median {statistics.median(samples):.1f} ms, "
              f"p95 {samples[int(0.95 * (len(samples) - 1))]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
