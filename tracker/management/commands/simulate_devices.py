"""Stream made-up device readings for the demo patients to the ingest API, as a patch and a pulse oximeter would
(clinical-rules §10): `manage.py simulate_devices` (the quick start runs it beside the web server).

For each demo patient it makes sure a device exists and is assigned to them with a credential (ORM, idempotent;
the raw keys are kept in var/simulator-keys.json, readable by the owner only, so a restart reuses them; a key that
no longer works is replaced), then POSTs batches to `<url>/api/v1/readings/` with `Authorization: Device <key>`.
The readings themselves come from tracker/device_simulation.py (a pure function of the time range). While the
server is not up yet, or answers 5xx, 404 (not routed yet) or 429, it waits and tries again (1 s, doubling, at most
30 s); readings that could not be sent are sent later (late batches are accepted). A batch the server refuses (400,
401, 403) is reported and dropped.

--speed N divides the interval between readings and the fever's timings for a quicker demo; each reading is
stamped with the real time it stands for (the server refuses readings from the future)."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from tracker.device_simulation import FEVER_CLIMB, Wearer, grid, readings_for
from tracker.models import Device, DeviceAssignment, DeviceCredential, DeviceKind, Patient, Role, User
from tracker.models.users import hash_key

# The demo patients who wear devices (monitoring/management/commands/seed_demo.py): Maria (CAR T) a patch and a
# pulse oximeter, Grace (teclistamab step-up) a patch.
DEMO_WEARERS = {"maria": ("patch", "oximeter"), "grace": ("patch",)}
DEVICE_SPECS = {
    "patch": {"kind": DeviceKind.TEMPERATURE_PATCH, "model_name": "Demo patch T2", "body_site": "axillary"},
    "oximeter": {"kind": DeviceKind.PULSE_OXIMETER, "model_name": "Demo oximeter O1", "body_site": "finger"},
}
MAKER = "Demo Devices"
RETRY_FIRST, RETRY_MAX = 1.0, 30.0
RETRY_STATUSES = {404, 408, 425, 429, 500, 502, 503, 504}
BATCH_MAX = 500  # readings per POST
sleep = time.sleep  # the tests replace it


class ServerNotReady(Exception):
    pass


def post_batch(url: str, key: str, readings: list[dict], *, timeout: float = 10.0) -> tuple[int, str]:
    """One POST; (status, body). Raises ServerNotReady when nothing answers or the answer says try later."""
    request = urllib.request.Request(  # noqa: S310 (http or https only: checked in handle)
        url, data=json.dumps({"readings": readings}).encode(), method="POST",
        headers={"Authorization": f"Device {key}", "Content-Type": "application/json", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        if exc.code in RETRY_STATUSES:
            raise ServerNotReady(f"HTTP {exc.code}") from exc
        return exc.code, body
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise ServerNotReady(str(getattr(exc, "reason", exc))) from exc


class Command(BaseCommand):
    help = "Stream simulated patch and pulse oximeter readings for the demo patients to the ingest API."
    requires_system_checks: list = []  # the web process runs them; the simulator starts beside it

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default %(default)s)")
        parser.add_argument("--interval", type=float, default=120.0,
                            help="seconds between readings of a device, before --speed (default 120, a patch)")
        parser.add_argument("--speed", type=float, default=1.0, help="time compression: 10 sends ten times as often")
        parser.add_argument("--once", action="store_true", help="send one batch per device and exit")
        parser.add_argument("--fever-after", type=float, default=None, metavar="MINUTES",
                            help="the fever patient's temperature climbs to about 38.6 °C after this many minutes "
                                 "(divided by --speed) and stays; 0 or unset: no fever")
        parser.add_argument("--fever-patient", default="maria", help="the demo login whose fever it is")
        parser.add_argument("--backfill", type=float, default=30.0, metavar="MINUTES",
                            help="the first batch covers this many minutes before now (default 30)")
        parser.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                            help="give up after waiting this long for the server (default: 120 with --once, else never)")
        parser.add_argument("--keys-file", default=str(Path(settings.BASE_DIR) / "var" / "simulator-keys.json"))

    def handle(self, *args, url, interval, speed, once, fever_after, fever_patient, backfill, wait, keys_file,
               **options):
        if interval <= 0 or speed <= 0:
            raise CommandError("--interval and --speed must be positive.")
        if not url.startswith(("http://", "https://")):
            raise CommandError("--url must start with http:// or https://.")
        step = dt.timedelta(seconds=interval / speed)
        started = timezone.now()
        fever_from = started + dt.timedelta(minutes=fever_after / speed) if fever_after else None
        wearers = self.ensure_devices(Path(keys_file), started - dt.timedelta(minutes=backfill) - step,
                                      fever_patient=fever_patient, fever_from=fever_from,
                                      fever_climb=FEVER_CLIMB / speed)
        if not wearers:
            raise CommandError("No demo patients to simulate: run `manage.py seed_demo` first.")
        endpoint = url.rstrip("/") + "/api/v1/readings/"
        deadline = None if wait is None and not once else time.monotonic() + (120.0 if wait is None else wait)
        sent_until = {wearer.key: started - dt.timedelta(minutes=backfill) for wearer, _ in wearers}
        self.stdout.write(f"Simulating {', '.join(w.key for w, _ in wearers)}: a reading every "
                          f"{step.total_seconds():g} s to {endpoint}"
                          + (f"; {fever_patient}'s fever from {timezone.localtime(fever_from):%H:%M:%S}" if fever_from
                             else ""))
        try:
            self.stream(wearers, sent_until, endpoint, step, once=once, deadline=deadline)
        except KeyboardInterrupt:  # Ctrl-C in the quick start stops every process
            self.stdout.write("Device simulator stopped.")

    def stream(self, wearers, sent_until: dict, endpoint: str, step: dt.timedelta, *, once: bool, deadline) -> None:
        """Send what is due, then sleep until the next reading is; once, or until interrupted."""
        while True:
            now = timezone.now()
            for wearer, keys in wearers:
                moments = grid(sent_until[wearer.key], now, step)
                if not moments:
                    continue
                for device, readings in readings_for(wearer, moments).items():
                    for first in range(0, len(readings), BATCH_MAX):  # after a long outage, in several batches
                        self.send(endpoint, keys[device], readings[first:first + BATCH_MAX], deadline=deadline,
                                  label=f"{wearer.key} {device}")
                sent_until[wearer.key] = moments[-1]
            if once:
                return
            following = grid(timezone.now(), timezone.now() + step * 2, step)[0]
            sleep(max(0.05, (following - timezone.now()).total_seconds()))

    def send(self, endpoint: str, key: str, readings: list[dict], *, deadline, label: str) -> None:
        """POST one batch, waiting politely while the server is not ready."""
        delay = RETRY_FIRST
        while True:
            try:
                status, body = post_batch(endpoint, key, readings)
            except ServerNotReady as exc:
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise CommandError(f"The server at {endpoint} did not take the readings ({exc}).") from exc
                self.stdout.write(f"Waiting for the server at {endpoint} ({exc}); trying again in {delay:g} s")
                sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            if 200 <= status < 300:
                self.stdout.write(f"{label}: {len(readings)} reading(s) sent ({status})")
            else:
                self.stderr.write(f"{label}: the server refused {len(readings)} reading(s): {status} {body[:300]}")
            return

    def ensure_devices(self, keys_file: Path, assigned_from: dt.datetime, *, fever_patient: str,
                       fever_from: dt.datetime | None, fever_climb: dt.timedelta) -> list[tuple[Wearer, dict[str, str]]]:
        """Each demo patient's devices, assigned to them, with a working key (reused from `keys_file`)."""
        keys = _read_keys(keys_file)
        staff = (User.objects.filter(username="nurse.cell").first()
                 or User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True)).order_by("pk").first())
        patients = {p.user.username: p for p in Patient.objects.filter(user__username__in=DEMO_WEARERS)
                    .select_related("user", "center") if p.user is not None}
        if staff is None or not patients:
            return []
        wearers = []
        for n, (username, devices) in enumerate(DEMO_WEARERS.items()):
            patient = patients.get(username)
            if patient is None:
                self.stderr.write(f"No demo patient {username!r}: skipped.")
                continue
            raw_keys = {}
            for name in devices:
                spec = DEVICE_SPECS[name]
                device, _ = Device.objects.get_or_create(
                    center=patient.center, maker=MAKER, serial=f"DEMO-{username}-{name}",
                    defaults={**spec, "expected_interval_seconds": 120})
                open_assignment = DeviceAssignment.objects.filter(device=device, ended_at__isnull=True).first()
                if open_assignment is None:
                    DeviceAssignment.objects.create(device=device, patient=patient, started_at=assigned_from,
                                                    assigned_by=staff)
                elif open_assignment.patient_id != patient.pk:
                    self.stderr.write(f"{device} is assigned to another patient: skipped.")
                    continue
                raw = keys.get(device.serial)
                if not raw or not DeviceCredential.objects.filter(device=device, key_hash=hash_key(raw),
                                                                  revoked_at__isnull=True).exists():
                    _, raw = DeviceCredential.issue(device, created_by=staff)
                    keys[device.serial] = raw
                raw_keys[name] = raw
            wearers.append((Wearer(key=username, time_zone=patient.time_zone, patch="patch" in raw_keys,
                                   oximeter="oximeter" in raw_keys, seed=n,
                                   fever_from=fever_from if username == fever_patient else None,
                                   fever_climb=fever_climb), raw_keys))
        _write_keys(keys_file, keys)
        return wearers


def _read_keys(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _write_keys(path: Path, keys: dict[str, str]) -> None:
    """The raw keys, readable by the owner only (they let anyone send readings for the demo patients)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(keys, handle, indent=1, sort_keys=True)
