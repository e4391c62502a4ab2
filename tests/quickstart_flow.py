"""The quick start's clinical flow on its embedded defaults (SQLite, filesystem broker), run by
tests/test_quickstart_sqlite.py in a process of its own after `migrate` and `seed_demo`: the code paths
that PostgreSQL runs differently (bulk SQL of the scans, the dashboard's ranking, the readings' storage) must work
here too."""

import datetime as dt

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from monitoring.models import Alert  # noqa: E402
from monitoring.services.stream_grading import readings_grade_missed  # noqa: E402
from notifications.models import DeliveryAttempt, Notification, ReminderState  # noqa: E402
from notifications.services.alerts import alerts_escalate_due  # noqa: E402
from notifications.services.device_silence import device_silence_scan  # noqa: E402
from notifications.services.reminders import reminders_advance_due, reminders_ensure_states  # noqa: E402
from tracker.device_services import device_assign, device_credential_issue, device_register  # noqa: E402
from tracker.models import Patient, Reading, Role, User  # noqa: E402
from tracker.reading_storage import reading_partitions_maintain  # noqa: E402

assert connection.vendor == "sqlite", connection.vendor
maria = Patient.objects.get(mrn="RCC-100234")
robert = Patient.objects.get(mrn="RCC-100871")

# Maria reports a fever through the API: stored, graded, an alert opened.
patient_client = Client()
patient_client.force_login(maria.user)
answer = patient_client.post("/api/v1/checkins/", {"temperature": "38.6", "temperature_unit": "C"},
                             content_type="application/json")
assert answer.status_code == 201, answer.content
assert answer.json()["urgency"] in ("urgent", "emergency"), answer.json()
alert = Alert.objects.get(patient=maria)

# Her team's nurse sees her at the top of the dashboard, with the alert linked; the htmx poll answers too.
nurse = User.objects.filter(role=Role.NURSE, team_memberships__team=maria.care_team).first()
staff_client = Client()
staff_client.force_login(nurse)
page = staff_client.get("/staff/")
assert page.status_code == 200, page.status_code
html = page.content.decode()
assert "Lopez, Maria" in html and f"/staff/alerts/{alert.uuid}/" in html, "Maria's row or alert link missing"
poll = staff_client.get("/staff/", {"since": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
                        headers={"HX-Request": "true"})
assert poll.status_code == 200 and "Lopez, Maria" in poll.content.decode()

# Nobody acknowledges: the escalation scan moves it up the chain.
overdue = alert.next_escalation_at + dt.timedelta(seconds=1)
assert alerts_escalate_due(now=overdue) == 1
alert.refresh_from_db()
assert alert.escalation_level == 1 and alert.events.filter(kind="escalated").count() == 1
assert Notification.objects.filter(alert=alert, step=1).exists()

# Robert has a reminder schedule; at its time the scan reminds him (in-app stored as sent, SMS queued).
reminders_ensure_states(now=timezone.now())
state = ReminderState.objects.get(patient=robert)
outcomes = reminders_advance_due(now=state.next_due_at + dt.timedelta(seconds=30))
assert outcomes["first reminder"] >= 1, outcomes
reminders = Notification.objects.filter(patient=robert, kind="reminder")
assert reminders.filter(channel="inapp", status="sent").exists() and reminders.exclude(channel="inapp").exists()
assert DeliveryAttempt.objects.filter(notification__in=reminders.filter(channel="inapp")).exists()
# The same tick again writes nothing new (de-duplication).
count = reminders.count()
reminders_advance_due(now=state.next_due_at + dt.timedelta(seconds=30))
assert reminders.count() == count

# Grace (teclistamab) wears a temperature patch; its gateway sends 14 minutes of fever through the readings API
# with the device's own key, then the same batch again (stored once). Grading (a worker's task in the quick
# start) opens her alert (clinical-rules §10: >= 38.0 °C sustained 10 minutes, every 2 minutes).
grace = Patient.objects.get(mrn="RCC-101502")
grace_nurse = User.objects.filter(role=Role.NURSE, team_memberships__team=grace.care_team).first()
now = timezone.now()
patch = device_register(patient=grace, by=grace_nurse, values={
    "kind": "temperature_patch", "maker": "Flow", "model_name": "Patch", "serial": "QS-1", "body_site": "axillary",
    "expected_interval_seconds": 120})
device_assign(patient=grace, device=patch, started_at=now - dt.timedelta(hours=1), by=grace_nurse)
_credential, key = device_credential_issue(patient=grace, device=patch, by=grace_nurse)
batch = {"readings": [{"type": "temperature", "value": 38.7, "unit": "Cel",
                       "measured_at": (now - dt.timedelta(minutes=minutes)).isoformat()} for minutes in range(14, -1, -2)]}
gateway = Client()
first = gateway.post("/api/v1/readings/", batch, content_type="application/json", headers={"Authorization": f"Device {key}"})
assert first.status_code == 202 and first.json()["stored"] == 8, first.content
again = gateway.post("/api/v1/readings/", batch, content_type="application/json", headers={"Authorization": f"Device {key}"})
assert again.status_code == 202 and again.json()["stored"] == 0 and again.json()["duplicates"] == 8, again.content
assert Reading.objects.filter(patient=grace).count() == 8
readings_grade_missed(now=timezone.now() + dt.timedelta(minutes=2))  # the sweep grades what no task has yet
device_alert = Alert.objects.get(patient=grace)
assert device_alert.first_checkin_id is None and device_alert.urgency >= 3, (device_alert.condition, device_alert.urgency)
# The silence scan and the readings' partition upkeep run on SQLite too.
device_silence_scan(now=timezone.now())
reading_partitions_maintain()
print("quick start flow on SQLite: ok")
