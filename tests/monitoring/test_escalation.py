"""When an unacknowledged alert escalates: next_escalation_at follows the staff targets of clinical-rules
"Urgency levels" (5 min emergency, 15 min urgent, 4 h same-day, none for routine), all center policy."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from monitoring.models import Alert, PolicySetting
from monitoring.services.policy import policy_set
from tests.monitoring.support import ALERTS, CAR_T_NORMAL, parse_dt, post_checkin


@pytest.fixture
def frozen():
    """Now, to the second, with the clock stopped."""
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        yield moment


def _escalation_of(as_user, staff, alert_id):
    body = as_user(staff).get(f"{ALERTS}{alert_id}/").json()
    return parse_dt(body["opened_at"]), parse_dt(body["next_escalation_at"])


@pytest.mark.parametrize(
    ("values", "urgency", "delay"),
    [
        ({"temperature": "38.3", "dizzy_or_fainting": True}, "emergency", dt.timedelta(minutes=5)),
        ({"temperature": "38.0"}, "urgent", dt.timedelta(minutes=15)),
    ],
)
def test_car_t_alert_escalates_after_the_policy_delay(as_user, patient, nurse, frozen, values, urgency, delay):
    """clinical-rules Urgency levels: escalate an emergency after 5 min, an urgent alert after 15 min."""
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, **values}).json()
    assert body["urgency"] == urgency
    opened_at, next_at = _escalation_of(as_user, nurse, body["alerts"][0]["id"])
    assert opened_at == frozen
    assert next_at == frozen + delay
    assert Alert.objects.get().next_escalation_at == frozen + delay


@pytest.mark.parametrize(("extra_stools", "urgency", "delay"),
                         [(4, "same-day", dt.timedelta(hours=4)), (3, "routine", None)])
def test_checkpoint_alert_review_target(as_user, other_patient, other_nurse, frozen, extra_stools, urgency, delay):
    """clinical-rules Urgency levels: same-day → nurse review within 4 h; routine → no escalation (§4 diarrhea
    grades: 4 stools above usual is grade 2 same-day, 3 is grade 1 routine)."""
    body = post_checkin(as_user(other_patient.user), extra_stools=extra_stools).json()
    assert body["urgency"] == urgency
    opened_at, next_at = _escalation_of(as_user, other_nurse, body["alerts"][0]["id"])
    assert opened_at == frozen
    assert next_at == (frozen + delay if delay else None)


def test_center_policy_changes_the_emergency_escalation_delay(as_user, patient, nurse, admin_user, frozen):
    """The 5-minute emergency target is center policy (clinical-rules Urgency levels): a center may set 3."""
    setting = policy_set(center=patient.center, name="escalation_emergency_minutes", value="3", user=admin_user,
                         reason="Faster paging")
    assert setting.typed_value() == 3
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "temperature": "38.3",
                                                    "dizzy_or_fainting": True}).json()
    _, next_at = _escalation_of(as_user, nurse, body["alerts"][0]["id"])
    assert next_at == frozen + dt.timedelta(minutes=3)


def test_another_centers_policy_does_not_change_this_centers_delay(as_user, patient, nurse, admin_user, frozen):
    from tests.factories import CenterFactory

    elsewhere = CenterFactory(name="Lakeside Hospital")
    policy_set(center=elsewhere, name="escalation_emergency_minutes", value="1", user=admin_user)
    assert PolicySetting.objects.filter(center=patient.center).count() == 0
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "temperature": "38.3",
                                                    "dizzy_or_fainting": True}).json()
    _, next_at = _escalation_of(as_user, nurse, body["alerts"][0]["id"])
    assert next_at == frozen + dt.timedelta(minutes=5)


def test_reopened_alert_escalates_from_the_time_it_got_worse(as_user, patient, nurse):
    """Acknowledging clears the escalation; a worse finding later sets it again from that moment."""
    t0 = timezone.now().replace(microsecond=0)
    client = as_user(patient.user)
    with time_machine.travel(t0, tick=False):
        alert_id = post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.1"}).json()["alerts"][0]["id"]
    with time_machine.travel(t0 + dt.timedelta(minutes=2), tick=False):
        ack = as_user(nurse).post(f"{ALERTS}{alert_id}/acknowledge/", {}, format="json").json()
    assert ack["next_escalation_at"] is None
    t1 = t0 + dt.timedelta(minutes=40)
    with time_machine.travel(t1, tick=False):
        post_checkin(client, **{**CAR_T_NORMAL, "temperature": "38.4", "dizzy_or_fainting": True})
    alert = Alert.objects.get()
    assert alert.status == "open"
    assert alert.opened_at == t0
    assert alert.next_escalation_at == t1 + dt.timedelta(minutes=5)
    assert not alert.is_overdue(t1 + dt.timedelta(minutes=4))
    assert alert.is_overdue(t1 + dt.timedelta(minutes=5))
