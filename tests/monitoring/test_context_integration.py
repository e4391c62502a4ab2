"""The rules get the patient's context from the database: tocilizumab/steroids on the course, the patient's
own ICE baseline, their age (CAPD for children) and the days since infusion in their time zone."""

import datetime as dt

import time_machine
from django.utils import timezone

from tests.factories import CourseFactory, PatientFactory
from tests.monitoring.support import CAR_T_NORMAL, infused, noon_utc, post_checkin, utc
from tracker.models import Therapy

ICE_8 = {"ice_orientation": 4, "ice_naming": 2, "ice_command": 1, "ice_writing": 1, "ice_counting": 0}


def test_after_tocilizumab_a_sign_without_fever_is_an_emergency(as_user, patient):
    """clinical-rules §1: after tocilizumab or steroids fever is no longer required for CRS."""
    client = as_user(patient.user)
    assert post_checkin(client, **{**CAR_T_NORMAL, "dizzy_or_fainting": True}).json()["urgency"] == "urgent"
    course = patient.courses.get()
    course.tocilizumab_or_steroids_on = timezone.localdate() - dt.timedelta(days=1)
    course.save()
    body = post_checkin(client, **{**CAR_T_NORMAL, "dizzy_or_fainting": True}).json()
    assert body["urgency"] == "emergency"
    assert body["findings"][0]["rule_id"] == "crs.after_tocilizumab_dizziness"


def test_ice_drop_is_measured_from_the_patients_own_baseline(as_user, patient):
    """clinical-rules §2: any ICE drop from the patient's baseline → urgent (baseline 10 unless recorded)."""
    client = as_user(patient.user)
    assert post_checkin(client, **{**CAR_T_NORMAL, **ICE_8}).json()["urgency"] == "urgent"
    patient.baseline_ice_score = 8
    patient.save()
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, **ICE_8}).json()
    assert "icans.ice_drop" not in [f["rule_id"] for f in body["findings"]]


def test_child_is_screened_with_capd_not_ice(as_user, team_a):
    """clinical-rules §2: children 12 and under use CAPD (>= 9 → grade 3, emergency)."""
    child = PatientFactory(care_team=team_a, date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 10))
    CourseFactory(patient=child, therapy=Therapy.objects.get(code="kymriah"))
    body = post_checkin(as_user(child.user), **{**CAR_T_NORMAL, "capd_score": 9}).json()
    assert body["urgency"] == "emergency"
    assert [f["rule_id"] for f in body["findings"]] == ["icans.capd_9_or_more"]


def test_days_since_infusion_use_the_patients_local_date(as_user, team_a):
    """clinical-rules §1 timing: the finding names the day after infusion, counted in the patient's zone."""
    p = infused(team_a, "yescarta", start=dt.date(2026, 5, 4), time_zone="Pacific/Honolulu")
    with time_machine.travel(utc(2026, 5, 9, 5, 0), tick=False):  # 19:00 on 8 May in Honolulu: day 4
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "temperature": "38.2"}).json()
    assert body["findings"][0]["evidence"]["days_since_infusion"] == 4


def test_fever_after_the_peak_window_is_still_urgent_and_names_infection(as_user, team_a):
    """clinical-rules §1 and §3: almost no new CRS after day 14, but any fever stays urgent (low counts)."""
    start = dt.date(2026, 5, 4)
    p = infused(team_a, "yescarta", start=start)
    with time_machine.travel(noon_utc(start + dt.timedelta(days=40)), tick=False):
        body = post_checkin(as_user(p.user), **{**CAR_T_NORMAL, "temperature": "38.1"}).json()
    assert body["urgency"] == "urgent"
    assert "infection" in body["findings"][0]["staff_rationale"]
    assert "§3" in body["findings"][0]["source"]
