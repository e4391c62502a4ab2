"""`manage.py simulate_devices` against a loopback HTTP server standing in for the ingest API: the demo patients
get a device, an assignment and a working key (reused on the next run), the batches carry the key and the readings
in the API's shape, and the simulator waits politely for a server that is not up yet or answers 503."""

import datetime as dt
import http.server
import io
import json
import os
import threading

import pytest
import time_machine
from django.core.management import CommandError, call_command

from tests.factories import PatientFactory, UserFactory
from tests.services import free_port
from tracker.management.commands import simulate_devices
from tracker.models import DeviceAssignment, DeviceCredential, Role
from tracker.models.users import hash_key

NOW = dt.datetime(2026, 2, 10, 15, 1, 30, tzinfo=dt.UTC)  # 10:01:30 in New York


class Ingest:
    """Records every POST; answers the scripted statuses first (then 202 with counts)."""

    def __init__(self, statuses=(), port=None):
        self.received: list[dict] = []
        self.statuses = list(statuses)
        ingest = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                ingest.received.append({"path": self.path, "authorization": self.headers["Authorization"],
                                        "content_type": self.headers["Content-Type"], "body": body})
                status = ingest.statuses.pop(0) if ingest.statuses else 202
                answer = json.dumps({"accepted": len(body["readings"]), "duplicates": 0}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                return

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port or free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def demo(team_a):
    """The demo logins the simulator looks for (seed_demo): Maria and Grace, and the nurse who assigns."""
    UserFactory(username="nurse.cell", role=Role.NURSE, teams=[team_a])
    maria = PatientFactory(care_team=team_a, first_name="Maria", user__username="maria")
    grace = PatientFactory(care_team=team_a, first_name="Grace", user__username="grace")
    return {"maria": maria, "grace": grace}


@pytest.fixture
def no_waiting(monkeypatch):
    waits = []
    monkeypatch.setattr(simulate_devices, "sleep", waits.append)
    return waits


@pytest.fixture
def keys_file(tmp_path):
    return tmp_path / "var" / "simulator-keys.json"


def run(url, keys_file, *args) -> str:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("simulate_devices", "--once", "--url", url, "--keys-file", str(keys_file), *args, stdout=out,
                     stderr=out)
    return out.getvalue()


def test_once_assigns_devices_with_keys_and_posts_one_batch_per_device(demo, keys_file, no_waiting):
    ingest = Ingest()
    try:
        run(ingest.url, keys_file, "--backfill", "10")
    finally:
        ingest.stop()
    maria, grace = demo["maria"], demo["grace"]
    assert {(a.patient_id, a.device.kind) for a in DeviceAssignment.objects.filter(ended_at__isnull=True)} == {
        (maria.pk, "temperature_patch"), (maria.pk, "pulse_oximeter"), (grace.pk, "temperature_patch")}
    assert len(ingest.received) == 3
    assert {r["path"] for r in ingest.received} == {"/api/v1/readings/"}
    assert {r["content_type"] for r in ingest.received} == {"application/json"}
    keys = json.loads(keys_file.read_text())
    assert oct(os.stat(keys_file).st_mode & 0o777) == "0o600"
    for posted in ingest.received:
        scheme, raw = posted["authorization"].split(" ")
        assert scheme == "Device"
        credential = DeviceCredential.objects.get(key_hash=hash_key(raw))
        assert keys[credential.device.serial] == raw
    by_device = {DeviceCredential.objects.get(key_hash=hash_key(r["authorization"].split()[1])).device.kind:
                 r["body"]["readings"] for r in ingest.received}
    # Ten minutes before 10:01:30 on the 2-minute grid: 09:52, 09:54, ..., 10:00, stamped with New York's offset.
    patch = by_device["temperature_patch"]
    assert [r["measured_at"] for r in patch] == [f"2026-02-10T{t}:00-05:00" for t in
                                                 ("09:52", "09:54", "09:56", "09:58", "10:00")]
    assert all(r["unit"] == "Cel" and 36.5 < r["value"] < 37.1 for r in patch)
    assert {r["type"] for r in by_device["pulse_oximeter"]} == {"heart_rate", "spo2"}
    assert no_waiting == []


def test_a_second_run_reuses_the_devices_and_the_keys(demo, keys_file, no_waiting):
    ingest = Ingest()
    try:
        run(ingest.url, keys_file)
        first = {r["authorization"] for r in ingest.received}
        run(ingest.url, keys_file)
        second = {r["authorization"] for r in ingest.received[3:]}
    finally:
        ingest.stop()
    assert first == second
    assert DeviceCredential.objects.count() == 3 and DeviceAssignment.objects.count() == 3


def test_a_revoked_or_lost_key_is_replaced(demo, keys_file, no_waiting):
    ingest = Ingest()
    try:
        run(ingest.url, keys_file)
        DeviceCredential.objects.update(revoked_at=NOW)
        run(ingest.url, keys_file)
    finally:
        ingest.stop()
    assert DeviceCredential.objects.filter(revoked_at__isnull=True).count() == 3
    fresh = {r["authorization"].split()[1] for r in ingest.received[3:]}
    assert {hash_key(raw) for raw in fresh} == set(
        DeviceCredential.objects.filter(revoked_at__isnull=True).values_list("key_hash", flat=True))


def test_it_waits_for_a_server_that_is_not_up_yet_then_sends(demo, keys_file, monkeypatch):
    port = free_port()
    started = []

    def wait(seconds):  # the web server comes up while the simulator waits
        started.append(seconds)
        if len(started) == 2:
            started.append(Ingest(port=port))

    monkeypatch.setattr(simulate_devices, "sleep", wait)
    output = run(f"http://127.0.0.1:{port}", keys_file)
    ingest = started[-1]
    ingest.stop()
    assert started[:2] == [1.0, 2.0]  # politely: 1 s, then doubling
    assert "Waiting for the server" in output
    assert len(ingest.received) == 3


def test_it_retries_a_503_and_reports_a_refused_batch(demo, keys_file, no_waiting):
    ingest = Ingest(statuses=[503, 400])
    try:
        output = run(ingest.url, keys_file)
    finally:
        ingest.stop()
    assert no_waiting == [1.0]
    assert len(ingest.received) == 4  # the 503's batch again, then the refused one is not sent again
    assert "the server refused" in output and ": 400 " in output


def test_once_gives_up_when_no_server_answers_within_the_wait(demo, keys_file, no_waiting):
    with pytest.raises(CommandError, match="did not take the readings"):
        run(f"http://127.0.0.1:{free_port()}", keys_file, "--wait", "3")
    assert no_waiting == [1.0, 2.0]  # (the clock does not move while sleep is replaced) then 4 s would pass 3 s


def test_without_demo_patients_it_says_to_seed_first(db, keys_file, no_waiting):
    with pytest.raises(CommandError, match="seed_demo"):
        run("http://127.0.0.1:9", keys_file)


def test_bad_options_are_refused(db, keys_file):
    with pytest.raises(CommandError, match="--url"):
        run("file:///etc/passwd", keys_file)
    with pytest.raises(CommandError, match="positive"):
        run("http://127.0.0.1:9", keys_file, "--speed", "0")


def test_a_long_backfill_goes_in_batches_of_at_most_500(demo, keys_file, no_waiting):
    ingest = Ingest()
    try:
        run(ingest.url, keys_file, "--backfill", "1200")  # 20 hours: 600 patch readings, 1,200 oximeter readings
    finally:
        ingest.stop()
    sizes = sorted(len(r["body"]["readings"]) for r in ingest.received)
    assert sizes == [100, 100, 200, 500, 500, 500, 500]  # Maria and Grace: 500 + 100; the oximeter: 500 + 500 + 200
