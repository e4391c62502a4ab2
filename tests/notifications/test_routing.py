"""Who is told: the on-call roster of the patient's care team (falling back to the team's members of the
matching role), and each person's channels (clinical-rules "Urgency levels": only urgent and emergency page)."""

import datetime as dt

import pytest
import time_machine

from notifications.models import NotificationPreference, OnCallShift
from notifications.services.routing import chain_role_for_step, channels_for, on_call, patient_channels
from tests.factories import UserFactory
from tests.notifications.notif_support import now_s, reachable
from tracker.models import Role


@pytest.fixture
def now():
    moment = now_s()
    with time_machine.travel(moment, tick=False):
        yield moment


def shift(user, team, role, starts, ends):
    return OnCallShift.objects.create(user=user, team=team, role=role, starts_at=starts, ends_at=ends)


def test_escalation_chain_is_nurse_then_charge_nurse_then_physician():
    assert [chain_role_for_step(s) for s in range(5)] == [
        "primary_nurse", "charge_nurse", "physician", "physician", "physician"]


def test_on_call_uses_the_shifts_covering_now_for_the_team_and_role(team_a, team_b, nurse, now):
    on_duty = UserFactory(role=Role.NURSE, teams=[team_a])
    earlier = UserFactory(role=Role.NURSE, teams=[team_a])
    other_team = UserFactory(role=Role.NURSE, teams=[team_b])
    charge = UserFactory(role=Role.CHARGE_NURSE, teams=[team_a])
    hour = dt.timedelta(hours=1)
    shift(on_duty, team_a, "primary_nurse", now - hour, now + hour)
    shift(earlier, team_a, "primary_nurse", now - 3 * hour, now)  # ends exactly now: not covering
    shift(other_team, team_b, "primary_nurse", now - hour, now + hour)
    shift(charge, team_a, "charge_nurse", now - hour, now + hour)
    assert on_call(team_a, "primary_nurse", now) == [on_duty]  # not the team's other nurse (`nurse`)
    assert on_call(team_a, "charge_nurse", now) == [charge]
    assert on_call(team_b, "primary_nurse", now) == [other_team]


def test_a_shift_starting_later_is_not_on_call_yet(team_a, nurse, now):
    later = UserFactory(role=Role.NURSE)  # a float nurse: on the roster, not a team member
    shift(later, team_a, "primary_nurse", now + dt.timedelta(minutes=1), now + dt.timedelta(hours=8))
    assert on_call(team_a, "primary_nurse", now) == [nurse]  # roster empty now: the fallback
    assert on_call(team_a, "primary_nurse", now + dt.timedelta(minutes=1)) == [later]


def test_inactive_user_on_shift_is_skipped_for_the_fallback(team_a, nurse, now):
    gone = UserFactory(role=Role.NURSE, teams=[team_a], is_active=False)
    shift(gone, team_a, "primary_nurse", now - dt.timedelta(hours=1), now + dt.timedelta(hours=1))
    assert on_call(team_a, "primary_nurse", now) == [nurse]


def test_without_a_roster_the_teams_members_of_the_matching_role_are_told(
        team_a, nurse, charge_nurse, physician, other_nurse, now):
    second = UserFactory(role=Role.NURSE, teams=[team_a])
    UserFactory(role=Role.NURSE, teams=[team_a], is_active=False)
    assert set(on_call(team_a, "primary_nurse", now)) == {nurse, second}
    assert on_call(team_a, "charge_nurse", now) == [charge_nurse]
    assert on_call(team_a, "physician", now) == [physician]


def test_channels_inapp_always(nurse):
    assert channels_for(nurse, 4) == ["inapp"]  # no address, no phone
    assert channels_for(nurse, None) == ["inapp"]


def test_channels_email_when_the_user_has_an_address_and_prefers_it(nurse):
    reachable(nurse, phone="")
    assert channels_for(nurse, 2) == ["inapp", "email"]
    NotificationPreference.objects.create(user=nurse, email=False)
    assert channels_for(nurse, 2) == ["inapp"]


@pytest.mark.parametrize(("urgency", "email", "sms"), [
    (1, False, False), (2, True, False), (3, True, True), (4, True, True), (None, True, True)])
def test_sms_only_for_urgent_and_emergency_and_nothing_outside_for_routine(nurse, urgency, email, sms):
    """clinical-rules Urgency levels: urgent and emergency page on-call now; same-day is a nurse review (email);
    routine is only visible on the dashboard and in the digest. None: not an alert (digest, notices), where
    the caller decides."""
    reachable(nurse)
    channels = channels_for(nurse, urgency)
    assert channels[0] == "inapp"
    assert ("email" in channels) is email
    assert ("sms" in channels) is sms


def test_no_sms_without_a_phone_even_for_an_emergency(nurse):
    reachable(nurse, phone="")
    assert "sms" not in channels_for(nurse, 4)


def test_preference_sms_false_turns_sms_off(nurse):
    reachable(nurse)
    NotificationPreference.objects.create(user=nurse, sms=False)
    assert channels_for(nurse, 4) == ["inapp", "email"]


def test_patient_channels_prefer_sms_then_email(patient, caregiver):
    assert patient_channels(patient.user) == ["inapp"]
    reachable(patient.user)
    assert patient_channels(patient.user) == ["inapp", "sms"]
    NotificationPreference.objects.create(user=patient.user, sms=False)
    assert patient_channels(patient.user) == ["inapp", "email"]
    reachable(caregiver, phone="")
    assert patient_channels(caregiver) == ["inapp", "email"]
