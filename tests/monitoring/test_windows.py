"""No-driving and stay-nearby windows (clinical-rules §3): created with each CAR T course from the label,
lengthened (never shortened) by center policy, extended by neurologic findings, ended by time or a
physician's clearance. Every change is a WindowEvent. Read through GET /api/v1/patients/{id}/windows/."""

import datetime as dt

import pytest
import time_machine

from monitoring.models import Window, WindowEvent
from monitoring.services.policy import policy_set
from tests.monitoring.support import CAR_T_NORMAL, banner_text, infused, noon_utc, post_checkin, signed_in, utc
from tracker.models import CheckIn

START = dt.date(2026, 3, 2)  # infusion day ("day 0")


def windows_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/windows/"


def clear_url(window) -> str:
    return f"/api/v1/windows/{window.uuid}/clear/"


def by_kind(rows) -> dict:
    return {row["kind"]: row for row in rows}


def driving(patient) -> Window:
    return Window.objects.get(course__patient=patient, kind="driving")


# --- Created from the label -------------------------------------------------------------------------------------

def test_yescarta_course_gets_14_day_driving_and_proximity_windows(patient):
    """clinical-rules §3 (label change of June 26, 2025): no driving and stay nearby for 2 weeks."""
    start = patient.courses.get().start_date
    windows = {w.kind: w for w in Window.objects.filter(course__patient=patient)}
    assert set(windows) == {"driving", "proximity"}
    for window in windows.values():
        assert window.starts_on == start
        assert window.label_days == 14
        assert window.center_days is None
        assert window.ends_on == start + dt.timedelta(days=14)  # first day the restriction no longer applies
        assert list(window.events.values_list("kind", flat=True)) == ["created"]


def test_checkpoint_course_has_no_windows(other_patient):
    assert not Window.objects.filter(course__patient=other_patient).exists()


def test_aucatzyl_course_gets_56_day_driving_and_28_day_proximity_windows(team_a):
    """clinical-rules §3: Aucatzyl 8 weeks no driving, 4 weeks proximity (launch materials, unverified)."""
    p = infused(team_a, "aucatzyl", start=START)
    assert driving(p).ends_on == START + dt.timedelta(days=56)
    assert Window.objects.get(course__patient=p, kind="proximity").ends_on == START + dt.timedelta(days=28)


def test_window_is_active_through_day_13_and_ends_on_day_14(as_user, team_a):
    """clinical-rules §3: 2 weeks after infusion on day 0 covers days 0-13; day 14 is the first day allowed."""
    p = infused(team_a, "yescarta", start=START)
    client = as_user(p.user)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=13)), tick=False):
        rows = by_kind(client.get(windows_url(p)).json())
    assert rows["driving"]["active"] is True
    assert rows["driving"]["days_left"] == 1
    assert rows["driving"]["ends_on"] == "2026-03-16"
    assert rows["proximity"]["active"] is True
    with time_machine.travel(noon_utc(START + dt.timedelta(days=14)), tick=False):
        rows = by_kind(client.get(windows_url(p)).json())
    assert rows["driving"]["active"] is False
    assert rows["driving"]["days_left"] == 0
    assert rows["proximity"]["active"] is False


# --- Center policy ----------------------------------------------------------------------------------------------

def test_center_policy_lengthens_the_driving_window_with_a_policy_event(team_a, admin_user):
    """clinical-rules §3: a center may lengthen the label's no-driving period (policy)."""
    p = infused(team_a, "yescarta", start=START)
    policy_set(center=p.center, name="center_driving_days", value="30", user=admin_user, reason="Our practice")
    window = driving(p)
    assert window.center_days == 30
    assert window.ends_on == START + dt.timedelta(days=30)
    event = window.events.last()
    assert event.kind == WindowEvent.Kind.POLICY
    assert event.actor == admin_user
    assert (event.old_ends_on, event.new_ends_on) == (START + dt.timedelta(days=14), START + dt.timedelta(days=30))
    proximity = Window.objects.get(course__patient=p, kind="proximity")
    assert proximity.ends_on == START + dt.timedelta(days=14)  # only the driving length was set


def test_course_started_after_the_policy_gets_the_center_length(team_a, admin_user):
    policy_set(center=team_a.center, name="center_driving_days", value="30", user=admin_user)
    p = infused(team_a, "yescarta", start=START)
    assert driving(p).ends_on == START + dt.timedelta(days=30)


def test_center_policy_shorter_than_the_label_never_shortens_the_window(team_a, admin_user):
    """clinical-rules §3: a center may lengthen, never silently shorten below the label."""
    p = infused(team_a, "yescarta", start=START)
    policy_set(center=p.center, name="center_driving_days", value="7", user=admin_user)
    assert driving(p).ends_on == START + dt.timedelta(days=14)
    later = infused(team_a, "yescarta", start=START)
    assert driving(later).ends_on == START + dt.timedelta(days=14)
    aucatzyl = infused(team_a, "aucatzyl", start=START)
    policy_set(center=p.center, name="center_driving_days", value="30", user=admin_user)
    assert driving(aucatzyl).ends_on == START + dt.timedelta(days=56)  # 30 < Aucatzyl's 56


# --- Neurologic findings extend the driving window --------------------------------------------------------------

@pytest.mark.parametrize(
    "icans_signs",
    [
        {"confusion": True},
        {"ice_orientation": 2, "ice_naming": 2, "ice_command": 1, "ice_writing": 1, "ice_counting": 0},  # ICE 6
    ],
    ids=["confusion", "ice_6"],
)
def test_icans_finding_on_day_5_extends_driving_to_8_weeks_after_it(as_user, team_a, icans_signs):
    """clinical-rules §3: any neurologic event extends the no-driving window to at least 8 weeks after it
    (§2: new confusion → urgent ICANS finding; ICE <= 6 → emergency)."""
    p = infused(team_a, "yescarta", start=START)
    day5 = START + dt.timedelta(days=5)
    with time_machine.travel(noon_utc(day5), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, **icans_signs}).json()
    assert "icans" in [f["condition"] for f in body["findings"]]
    window = driving(p)
    assert window.neuro_event_dates == [day5.isoformat()]
    assert window.ends_on == day5 + dt.timedelta(days=56)
    event = window.events.last()
    assert event.kind == WindowEvent.Kind.EXTENDED
    assert event.checkin == CheckIn.objects.get(uuid=body["id"])
    assert (event.old_ends_on, event.new_ends_on) == (START + dt.timedelta(days=14), day5 + dt.timedelta(days=56))
    proximity = Window.objects.get(course__patient=p, kind="proximity")
    assert proximity.ends_on == START + dt.timedelta(days=14)


def test_non_neurologic_finding_does_not_extend_the_window(as_user, team_a):
    p = infused(team_a, "yescarta", start=START)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=5)), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "temperature": "38.6"}).json()
    assert body["urgency"] == "urgent"
    assert driving(p).ends_on == START + dt.timedelta(days=14)
    assert list(driving(p).events.values_list("kind", flat=True)) == ["created"]


# --- Read in the patient's time zone ----------------------------------------------------------------------------

def test_windows_are_read_in_the_patients_time_zone_near_midnight_utc(as_user, nurse, team_a):
    """02:00 UTC on the 16th is still the 15th (16:00) in Honolulu: day 13 of 14, one day left."""
    p = infused(team_a, "yescarta", start=START, time_zone="Pacific/Honolulu")
    assert driving(p).ends_on == dt.date(2026, 3, 16)
    with time_machine.travel(utc(2026, 3, 16, 2, 0), tick=False):
        for client in (as_user(p.user), as_user(nurse)):
            rows = by_kind(client.get(windows_url(p)).json())
            assert rows["driving"]["active"] is True
            assert rows["driving"]["days_left"] == 1
        page = signed_in(p.user).get(f"/patients/{p.uuid}/").content.decode()
        assert banner_text(dt.date(2026, 3, 16), 1) in page
    with time_machine.travel(utc(2026, 3, 16, 10, 30), tick=False):  # 00:30 on the 16th in Honolulu
        rows = by_kind(as_user(p.user).get(windows_url(p)).json())
        assert rows["driving"]["active"] is False
        assert rows["driving"]["days_left"] == 0
        page = signed_in(p.user).get(f"/patients/{p.uuid}/").content.decode()
        assert "No driving until" not in page


def test_windows_endpoint_is_scoped_to_the_patients_care(as_user, patient, other_nurse, caregiver):
    assert as_user(other_nurse).get(windows_url(patient)).status_code == 404
    assert as_user(caregiver).get(windows_url(patient)).status_code == 200
    assert as_user(None).get(windows_url(patient)).status_code == 401


# --- Clearance by a physician -----------------------------------------------------------------------------------

def test_physician_clears_the_patient_to_drive_with_a_reason(as_user, physician, team_a):
    p = infused(team_a, "yescarta", start=START)
    window = driving(p)
    day9 = START + dt.timedelta(days=9)
    with time_machine.travel(noon_utc(day9), tick=False):
        response = as_user(physician).post(clear_url(window), {"reason": "Neuro exam normal, no events"},
                                           format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["cleared_on"] == day9.isoformat()
        assert body["cleared_by"] == physician.get_full_name()
        assert body["clearance_reason"] == "Neuro exam normal, no events"
        assert body["active"] is False
        assert body["events"][-1]["kind"] == "cleared"
        assert body["events"][-1]["actor"] == physician.get_full_name()
        rows = by_kind(as_user(p.user).get(windows_url(p)).json())
        assert rows["driving"]["active"] is False
        assert rows["proximity"]["active"] is True  # only the driving window was cleared
    window.refresh_from_db()
    assert (window.cleared_on, window.cleared_by) == (day9, physician)
    event = window.events.get(kind="cleared")
    assert event.actor == physician
    assert event.note == "Neuro exam normal, no events"


def test_clearance_date_is_the_patients_local_today(as_user, physician, team_a):
    p = infused(team_a, "yescarta", start=START, time_zone="Pacific/Honolulu")
    with time_machine.travel(utc(2026, 3, 12, 3, 0), tick=False):  # 17:00 on the 11th in Honolulu
        body = as_user(physician).post(clear_url(driving(p)), {"reason": "Cleared in clinic"}, format="json").json()
    assert body["cleared_on"] == "2026-03-11"


@pytest.mark.parametrize("who", ["nurse", "charge_nurse"])
def test_only_a_physician_may_clear_the_window(request, as_user, patient, who):
    response = as_user(request.getfixturevalue(who)).post(clear_url(driving(patient)), {"reason": "Looks fine"},
                                                           format="json")
    assert response.status_code == 403
    assert response.json()["type"] == "permission_denied"
    assert driving(patient).cleared_on is None
    assert not WindowEvent.objects.filter(kind="cleared").exists()


def test_patient_cannot_clear_their_own_window(as_user, patient):
    response = as_user(patient.user).post(clear_url(driving(patient)), {"reason": "I feel fine"}, format="json")
    assert response.status_code == 403
    assert driving(patient).cleared_on is None


def test_clearance_needs_a_reason(as_user, physician, patient):
    for payload in ({}, {"reason": ""}, {"reason": "   "}):
        response = as_user(physician).post(clear_url(driving(patient)), payload, format="json")
        assert response.status_code == 400, payload
        assert "reason" in response.json()["fields"]
    assert driving(patient).cleared_on is None


def test_physician_of_another_team_cannot_see_or_clear_the_window(as_user, patient, team_b):
    from tests.factories import UserFactory
    from tracker.models import Role

    elsewhere = UserFactory(role=Role.PHYSICIAN, teams=[team_b])
    response = as_user(elsewhere).post(clear_url(driving(patient)), {"reason": "x"}, format="json")
    assert response.status_code == 404
    assert driving(patient).cleared_on is None


def test_new_neurologic_finding_after_clearance_withdraws_it_and_extends_again(as_user, physician, team_a):
    """clinical-rules §3: a clearance ends the window early, but a later neurologic event extends it again."""
    p = infused(team_a, "yescarta", start=START)
    window = driving(p)
    with time_machine.travel(noon_utc(START + dt.timedelta(days=8)), tick=False):
        as_user(physician).post(clear_url(window), {"reason": "Cleared at visit"}, format="json")
    day10 = START + dt.timedelta(days=10)
    with time_machine.travel(noon_utc(day10), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "speech_trouble": True}).json()
        assert body["urgency"] == "urgent"
        rows = by_kind(as_user(p.user).get(windows_url(p)).json())
    window.refresh_from_db()
    assert window.cleared_on is None and window.cleared_by is None and window.clearance_reason == ""
    assert window.ends_on == day10 + dt.timedelta(days=56)
    assert rows["driving"]["active"] is True
    assert rows["driving"]["days_left"] == 56
    assert rows["driving"]["cleared_on"] is None
    kinds = list(window.events.values_list("kind", flat=True))
    assert kinds == ["created", "cleared", "extended", "extended"]
    withdrawal = window.events.filter(kind="extended").first()
    assert "withdrawn" in withdrawal.note
    assert str(withdrawal.checkin.uuid) == body["id"]


def test_driving_check_in_is_judged_by_the_patients_local_date(as_user, team_a):
    """02:00 UTC on the 16th is the 15th in Honolulu: still inside the 14-day window (clinical-rules §3)."""
    p = infused(team_a, "yescarta", start=START, time_zone="Pacific/Honolulu")
    with time_machine.travel(utc(2026, 3, 16, 2, 0), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "drove_since_last": True}).json()
    assert body["local_date"] == "2026-03-15"
    assert [a["condition"] for a in body["alerts"]] == ["driving"]


def test_days_left_counts_calendar_days_across_the_dst_change(as_user, team_a):
    """New York moves its clocks on 8 March 2026; days left still counts the patient's calendar days."""
    p = infused(team_a, "yescarta", start=START)  # ends 16 March
    with time_machine.travel(utc(2026, 3, 7, 15, 0), tick=False):  # 10:00 EST on the 7th
        assert by_kind(as_user(p.user).get(windows_url(p)).json())["driving"]["days_left"] == 9
    with time_machine.travel(utc(2026, 3, 16, 3, 30), tick=False):  # 23:30 EDT on the 15th
        row = by_kind(as_user(p.user).get(windows_url(p)).json())["driving"]
        assert (row["active"], row["days_left"]) == (True, 1)
    with time_machine.travel(utc(2026, 3, 16, 4, 30), tick=False):  # 00:30 EDT on the 16th
        assert by_kind(as_user(p.user).get(windows_url(p)).json())["driving"]["active"] is False


def test_center_neuro_extension_policy_sets_the_length_after_a_finding(as_user, team_a, admin_user):
    """clinical-rules §3: at least 8 weeks after a neurologic event is center policy; a center may use 12."""
    policy_set(center=team_a.center, name="neuro_driving_extension_weeks", value="12", user=admin_user)
    p = infused(team_a, "yescarta", start=START)
    day5 = START + dt.timedelta(days=5)
    with time_machine.travel(noon_utc(day5), tick=False):
        post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "tremor": True})
    assert driving(p).ends_on == day5 + dt.timedelta(weeks=12)
    assert "12 weeks" in driving(p).events.last().note
