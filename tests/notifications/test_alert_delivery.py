"""Alert delivery end to end: a check-in through the API raises an alert, the after-commit hook hands it to
the notify task, which writes one outbox row per recipient and channel and hands each to the delivery task
(all eager here). clinical-rules "Urgency levels": urgent and emergency page on-call now."""


import pytest

from monitoring.models import Alert
from notifications.models import Notification, PagingWebhook
from notifications.services.alerts import alert_notify, alert_notify_now
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    FEVER_ONLY,
    HOOK_SECRET,
    HOOK_URL,
    SMS_URL,
    post_checkin,
    reachable,
)


@pytest.fixture
def hook(team_a):
    return PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)


@pytest.fixture
def staff(nurse, charge_nurse, physician):
    reachable(nurse, email="nurse@example.test", phone="+15550100001")
    reachable(charge_nurse, email="charge@example.test", phone="+15550100002")
    reachable(physician, email="doctor@example.test", phone="+15550100003")
    return nurse, charge_nurse, physician


def _checkin(as_user, patient, capture, values):
    with capture(execute=True):
        response = post_checkin(as_user(patient.user), **values)
    assert response.status_code == 201, response.json()
    return response.json()


def test_fever_with_dizziness_notifies_the_team_nurse_on_inapp_email_and_sms_and_pages_the_team(
        as_user, patient, staff, hook, outside_calls, eager_tasks, mailoutbox, django_capture_on_commit_callbacks):
    """clinical-rules §1: fever plus dizziness or fainting after CAR T → emergency; "Urgency levels": page now."""
    nurse, charge_nurse, physician = staff
    body = _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_AND_DIZZY)
    assert body["urgency"] == "emergency"
    alert = Alert.objects.get()
    rows = list(Notification.objects.filter(alert=alert))
    assert len(rows) == 4
    assert {(r.recipient_id, r.webhook_id, r.channel) for r in rows} == {
        (nurse.pk, None, "inapp"), (nurse.pk, None, "email"), (nurse.pk, None, "sms"), (None, hook.pk, "webhook"),
    }
    for row in rows:
        assert row.status == "sent", (row.channel, row.last_error)
        assert row.step == 0 and row.kind == "alert"
        assert row.urgency == "emergency" and row.alert_urgency == 4
        assert row.patient == patient
        assert row.attempts == 1
        assert row.context["link"] == f"/staff/alerts/{alert.uuid}/"
    assert [m.to for m in mailoutbox] == [["nurse@example.test"]]
    assert [s["to"] for s in outside_calls.sms()] == ["+15550100001"]
    assert len(outside_calls.hooks()) == 1
    assert not Notification.objects.filter(recipient__in=[charge_nurse, physician]).exists()


def test_urgent_fever_alert_also_pages_the_nurse_and_the_team(
        as_user, patient, staff, hook, outside_calls, eager_tasks, django_capture_on_commit_callbacks):
    """clinical-rules §1: any fever after CAR T → urgent; "Urgency levels": urgent pages on-call now."""
    nurse = staff[0]
    assert _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_ONLY)["urgency"] == "urgent"
    channels = set(Notification.objects.values_list("channel", flat=True))
    assert channels == {"inapp", "email", "sms", "webhook"}
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert [s["to"] for s in outside_calls.sms()] == [nurse.phone]


def test_realerting_the_same_step_creates_no_duplicates(
        as_user, patient, staff, hook, outside_calls, eager_tasks, mailoutbox, django_capture_on_commit_callbacks):
    _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_AND_DIZZY)
    alert = Alert.objects.get()
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_notify(alert=alert, step=0) == []
        alert_notify_now(alert_id=alert.pk, kind="opened")  # a redelivered task
    assert Notification.objects.count() == before == 4
    assert len(mailoutbox) == 1
    assert len(outside_calls.sms()) == 1 and len(outside_calls.hooks()) == 1


def test_a_worse_finding_notifies_again_at_the_new_urgency(
        as_user, patient, staff, hook, outside_calls, eager_tasks, django_capture_on_commit_callbacks):
    """Urgent (fever) then emergency (fever + dizziness, clinical-rules §1): the raised urgency is a new message."""
    _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_ONLY)
    _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_AND_DIZZY)
    alert = Alert.objects.get()
    assert alert.urgency == 4
    by_urgency = {u: Notification.objects.filter(alert=alert, alert_urgency=u).count() for u in (3, 4)}
    assert by_urgency == {3: 4, 4: 4}
    assert len(outside_calls.sms()) == 2


def test_same_day_alert_emails_the_nurse_but_sends_no_sms_and_no_page(
        as_user, other_patient, other_nurse, team_b, outside_calls, eager_tasks, mailoutbox,
        django_capture_on_commit_callbacks):
    """clinical-rules §4: 5 stools above usual is grade 2 → same-day; "Urgency levels": nurse review, not a page."""
    reachable(other_nurse)
    PagingWebhook.objects.create(team=team_b, url=HOOK_URL, secret=HOOK_SECRET)
    assert _checkin(as_user, other_patient, django_capture_on_commit_callbacks, {"extra_stools": 5})["urgency"] \
        == "same-day"
    assert set(Notification.objects.values_list("channel", flat=True)) == {"inapp", "email"}
    assert outside_calls.calls == []


def test_routine_alert_creates_no_outside_messages(
        as_user, other_patient, other_nurse, team_b, outside_calls, eager_tasks, mailoutbox,
        django_capture_on_commit_callbacks):
    """clinical-rules "Urgency levels": routine is logged, visible on the dashboard and in the daily digest;
    §4: 3 stools above usual is grade 1 → routine. No email, SMS or page for it."""
    reachable(other_nurse)
    PagingWebhook.objects.create(team=team_b, url=HOOK_URL, secret=HOOK_SECRET)
    assert _checkin(as_user, other_patient, django_capture_on_commit_callbacks, {"extra_stools": 3})["urgency"] \
        == "routine"
    assert Alert.objects.get().urgency == 1
    outside_rows = Notification.objects.exclude(channel="inapp")
    assert list(outside_rows.values_list("channel", flat=True)) == []
    assert mailoutbox == []
    assert outside_calls.calls == []


def test_checkin_without_findings_notifies_nobody(
        as_user, patient, staff, hook, outside_calls, eager_tasks, mailoutbox, django_capture_on_commit_callbacks):
    from tests.notifications.notif_support import CAR_T_NORMAL

    assert _checkin(as_user, patient, django_capture_on_commit_callbacks, CAR_T_NORMAL)["alerts"] == []
    assert not Notification.objects.exists()
    assert mailoutbox == [] and outside_calls.calls == []


def test_failed_sms_provider_does_not_stop_the_other_channels(
        as_user, patient, staff, hook, outside_calls, eager_tasks, mailoutbox, django_capture_on_commit_callbacks):
    from notifications.channels import DeliveryError

    outside_calls.fail_for_url[SMS_URL] = DeliveryError("HTTP 400 from provider", permanent=True)
    _checkin(as_user, patient, django_capture_on_commit_callbacks, FEVER_AND_DIZZY)
    status = dict(Notification.objects.values_list("channel", "status"))
    assert status == {"inapp": "sent", "email": "sent", "sms": "failed", "webhook": "sent"}
    assert Notification.objects.get(channel="sms").last_error == "HTTP 400 from provider"
