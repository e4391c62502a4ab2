"""The quick start's clinical flow on its embedded defaults (SQLite, filesystem broker), run by
tests/test_quickstart_sqlite.py in a process of its own after `migrate` and `seed_demo`: the code paths
that PostgreSQL runs differently (bulk SQL of the scans, the dashboard's ranking) must work here too."""

import datetime as dt

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from monitoring.models import Alert  # noqa: E402
from notifications.models import DeliveryAttempt, Notification, ReminderState  # noqa: E402
from notifications.services.alerts import alerts_escalate_due  # noqa: E402
from notifications.services.reminders import reminders_advance_due, reminders_ensure_states  # noqa: E402
from tracker.models import Patient, Role, User  # noqa: E402

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
print("quick start flow on SQLite: ok")
