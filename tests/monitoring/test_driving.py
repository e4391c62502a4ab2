"""The driving question (clinical-rules §3): asked while the no-driving window is active; driving inside the
window raises an urgent alert whose instruction explains why."""

import datetime as dt

import time_machine

from monitoring.models import Alert
from tests.monitoring.support import CAR_T_NORMAL, PHONE, asked_fields, infused, noon_utc, post_checkin, signed_in

START = dt.date(2026, 4, 6)
QUESTION = "Have you driven or used heavy machinery since your last check-in?"


def form_html(patient, user=None) -> str:
    return signed_in(user or patient.user).get(f"/patients/{patient.uuid}/checkin/").content.decode()


def test_driving_question_is_asked_only_while_the_window_is_active(team_a):
    """clinical-rules §3: 14-day label window; day 13 is the last day of the restriction."""
    p = infused(team_a, "yescarta", start=START)
    for day, asked in ((0, True), (13, True), (14, False), (30, False)):
        with time_machine.travel(noon_utc(START + dt.timedelta(days=day)), tick=False):
            html = form_html(p)
        assert ("drove_since_last" in asked_fields(html)) is asked, day
        assert (QUESTION in html) is asked, day


def test_caregiver_and_nurse_forms_ask_it_too_inside_the_window(team_a, nurse):
    from tests.factories import CaregiverLinkFactory

    p = infused(team_a, "yescarta", start=START)
    caregiver = CaregiverLinkFactory(patient=p).user
    with time_machine.travel(noon_utc(START + dt.timedelta(days=3)), tick=False):
        for user in (caregiver, nurse):
            assert "drove_since_last" in asked_fields(form_html(p, user))


def test_checkpoint_patient_is_never_asked_the_driving_question(other_patient):
    html = form_html(other_patient)
    assert "drove_since_last" not in asked_fields(html)
    assert QUESTION not in html


def test_driving_question_comes_back_after_a_neurologic_extension(as_user, team_a):
    """clinical-rules §3: an ICANS finding extends the window to 8 weeks after it, so the question returns."""
    p = infused(team_a, "yescarta", start=START)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=6)), tick=False):
        post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "balance_loss": True})
    with time_machine.travel(noon_utc(START + dt.timedelta(days=20)), tick=False):
        assert "drove_since_last" in asked_fields(form_html(p))


def test_driving_inside_the_window_raises_an_urgent_alert_and_explains_why(as_user, team_a, nurse):
    """clinical-rules §3: no driving or heavy machinery for 2 weeks after infusion."""
    p = infused(team_a, "yescarta", start=START)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=5)), tick=False):
        response = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "drove_since_last": True})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["urgency"] == "urgent"
    assert [(f["condition"], f["rule_id"]) for f in body["findings"]] == [("driving", "driving.drove_in_window")]
    assert body["findings"][0]["source"].startswith("clinical-rules §3")
    assert [(a["condition"], a["urgency"]) for a in body["alerts"]] == [("driving", "urgent")]
    instruction = body["instruction"]
    assert PHONE in instruction
    assert "do not drive" in instruction.lower()
    assert "confusion" in instruction and "seizure" in instruction  # why: sudden neuro events
    alert = Alert.objects.get()
    assert alert.condition == "driving"
    assert alert.grading_system == "policy"
    staff_view = as_user(nurse).get(f"/api/v1/alerts/{alert.uuid}/").json()
    assert "no-driving window" in staff_view["rationale"]


def test_driving_after_the_window_ended_raises_no_alert(as_user, team_a):
    p = infused(team_a, "yescarta", start=START)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=14)), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "drove_since_last": True}).json()
    assert body["urgency"] == "none"
    assert body["alerts"] == []
    assert not Alert.objects.filter(condition="driving").exists()


def test_driving_after_a_physicians_clearance_raises_no_alert(as_user, team_a, physician):
    from monitoring.models import Window

    p = infused(team_a, "yescarta", start=START)
    window = Window.objects.get(course__patient=p, kind="driving")
    with time_machine.travel(noon_utc(START + dt.timedelta(days=9)), tick=False):
        as_user(physician).post(f"/api/v1/windows/{window.uuid}/clear/", {"reason": "Cleared"}, format="json")
        assert "drove_since_last" not in asked_fields(form_html(p))
    with time_machine.travel(noon_utc(START + dt.timedelta(days=10)), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "drove_since_last": True}).json()
    assert body["urgency"] == "none"
    assert not Alert.objects.exists()


def test_not_driving_inside_the_window_raises_nothing(as_user, team_a):
    p = infused(team_a, "yescarta", start=START)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=5)), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "drove_since_last": False}).json()
    assert body["urgency"] == "none"
    assert not Alert.objects.exists()
