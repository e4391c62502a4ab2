"""The silence scan raises a batch of silences at once (clinical-rules §10; thresholds are center policy): several
patients, two centers with different limits, one alert already open (and acknowledged) made urgent, a second device
of that patient falling silent in the same batch, a device back, one claimed but not yet due. What people see (the
alerts, their events, the silence rows, the reminders, the nurse told of each change) is what raising the same
silences one device at a time gives."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import transaction

import notifications.receivers
from monitoring.models import Alert, AlertEvent, AlertStatus, DeviceSilence, PolicySetting
from monitoring.services.alerts import alert_acknowledge
from notifications.models import Notification, NotificationKind
from notifications.services.device_silence import device_silence_scan
from tests.factories import CaregiverLinkFactory, CareTeamFactory, CenterFactory, CourseFactory, PatientFactory
from tests.monitoring.stream_support import wear
from tracker.models import DeviceAssignment
from tracker.models.devices import DeviceKind

ON = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(hours=3)  # the course: 2 days ago
AT = ON + dt.timedelta(minutes=125)  # the scan that raises the batch
PATCH, OXIMETER = DeviceKind.TEMPERATURE_PATCH, DeviceKind.PULSE_OXIMETER


@pytest.fixture
def lakeside(nurse):
    """A second center whose policy is stricter: same-day after 20 minutes, urgent after 60."""
    team = CareTeamFactory(center=CenterFactory(name="Lakeside Cell Therapy Center"), name="Lakeside CAR T")
    for name, value in (("device_silence_minutes", "20"), ("device_silence_urgent_minutes", "60")):
        PolicySetting.objects.create(center=team.center, name=name, value=value, changed_by=nurse,
                                     reason="center policy")
    return team


def wearing(team, *devices, caregiver=False):
    """A CAR T patient of `team` wearing each (kind, put on at) device, silent since it was put on."""
    patient = PatientFactory(care_team=team)
    CourseFactory(patient=patient)
    if caregiver:
        CaregiverLinkFactory(patient=patient)
    for kind, started_at in devices:
        wear(patient, kind=kind, started_at=started_at, interval=60 if kind == OXIMETER else 120)
    return patient


@pytest.fixture
def ward(team_a, lakeside, nurse):
    """Two patients raised at ON + 35 (one alert then acknowledged, one device back since), then five more."""
    people = {"acknowledged": wearing(team_a, (PATCH, ON)), "back": wearing(team_a, (PATCH, ON))}
    with time_machine.travel(ON + dt.timedelta(minutes=35), tick=False):
        assert device_silence_scan() == {"raised": 2, "ended": 0}
        alert_acknowledge(alert=Alert.objects.get(patient=people["acknowledged"]), user=nurse)
    wear(people["acknowledged"], kind=OXIMETER, started_at=AT - dt.timedelta(minutes=35), interval=60)
    DeviceAssignment.objects.filter(patient=people["back"]).update(last_received_at=AT - dt.timedelta(minutes=5))
    people.update(
        one=wearing(team_a, (PATCH, AT - dt.timedelta(minutes=40)), caregiver=True),
        two=wearing(team_a, (PATCH, AT - dt.timedelta(minutes=35)), (OXIMETER, AT - dt.timedelta(minutes=35))),
        quiet=wearing(team_a, (PATCH, AT - dt.timedelta(minutes=25))),  # 25 min: claimed (Lakeside's 20), not due
        lake_urgent=wearing(lakeside, (PATCH, AT - dt.timedelta(minutes=65))),
        lake_same_day=wearing(lakeside, (PATCH, AT - dt.timedelta(minutes=25))),
    )
    return people


def silence_alert(patient):
    return Alert.objects.filter(patient=patient, condition="device_silence").order_by("-opened_at").first()


def kinds(alert):
    return list(AlertEvent.objects.filter(alert=alert).order_by("at", "id").values_list("kind", flat=True))


def test_one_batch_raises_the_silences_of_several_patients_by_each_center_policy(ward):
    with time_machine.travel(AT, tick=False):
        assert device_silence_scan() == {"raised": 7, "ended": 1}

    acknowledged = silence_alert(ward["acknowledged"])  # worse than what the nurse took on: open again, urgent
    assert (acknowledged.status, acknowledged.urgency) == (AlertStatus.OPEN, 3)
    assert kinds(acknowledged) == ["opened", "acknowledged", "reopened", "evidence"]
    assert [e["rule_id"] for e in acknowledged.evidence] == ["stream.device_silence_urgent", "stream.device_silence"]
    assert sorted(DeviceSilence.objects.filter(patient=ward["acknowledged"]).values_list("stage", flat=True)) == [1, 2]

    back = silence_alert(ward["back"])
    assert back.status == AlertStatus.RESOLVED and kinds(back)[-1] == "device_back"
    assert DeviceSilence.objects.get(patient=ward["back"]).end_reason == DeviceSilence.EndReason.DEVICE_BACK

    two = silence_alert(ward["two"])  # two devices, one alert
    assert (two.urgency, len(two.evidence), kinds(two)) == (2, 2, ["opened", "evidence"])

    lake_urgent = silence_alert(ward["lake_urgent"])  # Lakeside: 65 min is urgent at once
    assert (lake_urgent.urgency, lake_urgent.rule_ids) == (3, ["stream.device_silence_urgent"])
    silence = DeviceSilence.objects.get(patient=ward["lake_urgent"])
    assert (silence.stage, silence.escalated_at, silence.alert_id) == (DeviceSilence.Stage.URGENT, AT, lake_urgent.pk)
    assert silence_alert(ward["lake_same_day"]).urgency == 2  # Lakeside: 25 min is past its 20
    assert silence_alert(ward["quiet"]) is None  # Riverside: 25 min is not yet its 30

    one = ward["one"]
    reminded = Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE, patient=one)
    assert {n.recipient_id for n in reminded} == {one.user_id, one.caregiver_links.get().user_id}
    assert not Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE, patient=ward["quiet"]).exists()


def test_a_batch_shows_people_what_raising_one_device_at_a_time_shows(ward, monkeypatch, enqueued,
                                                                       django_capture_on_commit_callbacks):
    told: list[tuple[int, str]] = []
    monkeypatch.setattr(notifications.receivers, "publish", lambda task, alert_id, kind, what: told.append(
        (alert_id, kind)))

    def scan(batch_size):
        told.clear()
        with time_machine.travel(AT, tick=False), django_capture_on_commit_callbacks(execute=True):
            counts = device_silence_scan(batch_size=batch_size)
        mrn = dict(Alert.objects.values_list("pk", "patient__mrn"))
        return counts, what_people_see(), [(mrn[alert_id], kind) for alert_id, kind in told]

    with transaction.atomic():
        batched = scan(batch_size=200)
        transaction.set_rollback(True)
    one_at_a_time = scan(batch_size=1)
    assert batched[0] == one_at_a_time[0] == {"raised": 7, "ended": 1}
    assert batched[1] == one_at_a_time[1]
    assert batched[2] == one_at_a_time[2]
    assert sorted(kind for _, kind in batched[2]) == [  # the nurse is told of each change, once
        "evidence", "evidence", "opened", "opened", "opened", "opened", "reopened", "resolved"]


def what_people_see() -> dict:
    """The device_silence alerts with their events, the silences and the reminders, named by patient and device
    instead of by id."""
    serial = dict(DeviceSilence.objects.values_list("pk", "assignment__device__serial"))
    alerts = {}
    for alert in Alert.objects.filter(condition="device_silence").select_related("patient"):
        alerts[alert.patient.mrn] = {
            **{name: getattr(alert, name) for name in (
                "status", "urgency", "min_grade", "grading_system", "title", "rationale", "rationale_messages",
                "patient_instruction", "rule_ids", "sources", "evidence", "opened_at", "updated_at",
                "acknowledged_at", "acknowledged_by_id", "resolved_at", "resolution_note", "escalation_level",
                "next_escalation_at")},
            "events": list(AlertEvent.objects.filter(alert=alert).order_by("at", "id").values_list(
                "kind", "at", "actor_id", "old_status", "new_status", "old_urgency", "new_urgency", "note")),
        }
    silences = sorted(DeviceSilence.objects.values_list(
        "assignment__device__serial", "patient__mrn", "alert__patient__mrn", "silent_since", "stage", "opened_at",
        "escalated_at", "ended_at", "end_reason"))
    reminders = sorted(
        (re.sub(r"^silence:(\d+):", lambda m: f"silence:{serial[int(m[1])]}:", n.dedup_key), n.recipient_id,
         n.patient_id, n.channel, n.language, n.status, sorted(n.context.items()))
        for n in Notification.objects.filter(kind=NotificationKind.DEVICE_SILENCE))
    return {"alerts": alerts, "silences": silences, "reminders": reminders}
