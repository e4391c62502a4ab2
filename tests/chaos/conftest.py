"""The chaos suite's report: one summary line per scenario in the terminal summary (whatever -s or -q say)
and every measured number in var/chaos-results.json, written as each scenario finishes."""

import json
import time

import pytest

from tests.services import ROOT

RESULTS_FILE = ROOT / "var" / "chaos-results.json"
RESULTS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def chaos_results(request):
    """record(result): keep a scenario's numbers for the summary and the JSON file."""
    results = request.config.stash.setdefault(RESULTS, [])

    def record(result) -> None:
        results.append({"recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "line": result.line(),
                        **result.as_dict()})
        RESULTS_FILE.parent.mkdir(exist_ok=True)
        RESULTS_FILE.write_text(json.dumps(results, indent=2, default=str))

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(RESULTS, [])
    if not results:
        return
    terminalreporter.section("chaos scenarios")
    for entry in results:
        terminalreporter.write_line(entry["line"])
        for failure in entry["failures"]:
            terminalreporter.write_line(f"    FAILED CHECK: {failure}")
        for note in entry.get("notes", []):
            terminalreporter.write_line(f"    NOTE: {note}")
    terminalreporter.write_line(f"(details: {RESULTS_FILE}, logs: var/chaos-logs/<scenario>/)")
