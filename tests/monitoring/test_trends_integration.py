"""Trend rules see the patient's earlier, current (not superseded) check-ins from the database. The numbers
are center policy (clinical-rules gives none); the pure rules are tested in tests/monitoring/rules."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from monitoring.services.policy import policy_set
from tests.monitoring.support import CAR_T_NORMAL, CHECKINS, post_checkin


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - dt.timedelta(hours=8)


def at(moment, client, temperature):
    with time_machine.travel(moment, tick=False):
        return post_checkin(client, **{**CAR_T_NORMAL, "temperature": temperature}).json()


def test_temperature_rising_across_three_checkins_is_a_same_day_trend(as_user, patient, t0):
    """Center trend rule: 3 rising readings, rise >= 0.5 °C, now >= 37.5 °C (below the §1 fever of 38.0)."""
    client = as_user(patient.user)
    assert at(t0, client, "37.3")["urgency"] == "none"
    assert at(t0 + dt.timedelta(hours=3), client, "37.6")["urgency"] == "none"
    body = at(t0 + dt.timedelta(hours=6), client, "37.9")
    assert body["urgency"] == "same-day"
    assert [f["rule_id"] for f in body["findings"]] == ["trend.temperature_rising"]
    assert body["findings"][0]["evidence"]["temperature_c"] == [37.3, 37.6, 37.9]
    assert [a["condition"] for a in body["alerts"]] == ["trend_temperature"]


def test_a_corrected_reading_replaces_the_original_in_the_trend(as_user, patient, t0):
    client = as_user(patient.user)
    at(t0, client, "37.3")
    middle = at(t0 + dt.timedelta(hours=3), client, "37.6")
    with time_machine.travel(t0 + dt.timedelta(hours=4), tick=False):
        response = client.post(f"{CHECKINS}{middle['id']}/amend/",
                               {"reason": "Typo", "temperature": "37.2", "temperature_unit": "C"}, format="json")
        assert response.status_code == 201, response.json()
    body = at(t0 + dt.timedelta(hours=6), client, "37.9")
    assert body["urgency"] == "none", body["findings"]  # 37.3 → 37.2 → 37.9 is not rising


def test_center_can_switch_trend_alerts_off(as_user, patient, admin_user, t0):
    policy_set(center=patient.center, name="trend_urgency", value="none", user=admin_user)
    client = as_user(patient.user)
    at(t0, client, "37.3")
    at(t0 + dt.timedelta(hours=3), client, "37.6")
    assert at(t0 + dt.timedelta(hours=6), client, "37.9")["urgency"] == "none"


def test_other_patients_checkins_do_not_count_toward_a_trend(as_user, patient, team_a, t0):
    from tests.monitoring.support import new_patient

    other = new_patient(team_a)
    at(t0, as_user(other.user), "37.3")
    at(t0 + dt.timedelta(hours=3), as_user(other.user), "37.6")
    assert at(t0 + dt.timedelta(hours=6), as_user(patient.user), "37.9")["urgency"] == "none"
