"""Who is told: the on-call roster of the patient's care team, and each person's channels.

The scans route hundreds of rows at once: `on_call_by_team` and `preferences_by_user` read for many teams
or people in a fixed number of queries, and `channels_for`/`patient_channels` take the preferences so read
(`preferences=`) instead of reading one row per person."""

import datetime as dt
from collections.abc import Iterable, Mapping

from notifications.channels.base import contact_for
from notifications.models import ChainRole, ChannelKind, NotificationPreference, OnCallShift, PagingWebhook
from tracker.models import CareTeam, CareTeamMembership, Role, User

_UNSET = object()

# Without a roster entry, the team's members of the matching role are told (nobody is left out).
FALLBACK_ROLES: dict[str, str] = {
    ChainRole.PRIMARY_NURSE: Role.NURSE,
    ChainRole.CHARGE_NURSE: Role.CHARGE_NURSE,
    ChainRole.PHYSICIAN: Role.PHYSICIAN,
}
ESCALATION_CHAIN = [ChainRole.PRIMARY_NURSE, ChainRole.CHARGE_NURSE, ChainRole.PHYSICIAN]


def chain_role_for_step(step: int) -> str:
    return ESCALATION_CHAIN[min(step, len(ESCALATION_CHAIN) - 1)]


def on_call(team: CareTeam, role: str, at: dt.datetime) -> list[User]:
    """Who holds the role's shift for the team at `at`; without one, the team's members of the role."""
    return on_call_by_team([team.pk], role, at)[team.pk]


def on_call_by_team(team_ids: Iterable[int], role: str, at: dt.datetime) -> dict[int, list[User]]:
    """`on_call` for many teams in two queries: the people on shift, then the role's members for the teams
    with nobody on shift. Each team's people in the order of their ids."""
    teams = set(team_ids)
    people: dict[int, dict[int, User]] = {team_id: {} for team_id in teams}
    if not teams:
        return {}
    shifts = (OnCallShift.objects.filter(team_id__in=teams, role=role, starts_at__lte=at, ends_at__gt=at,
                                         user__is_active=True).select_related("user").order_by("user_id"))
    for shift in shifts:
        people[shift.team_id].setdefault(shift.user_id, shift.user)
    uncovered = [team_id for team_id, users in people.items() if not users]
    if uncovered:
        members = (CareTeamMembership.objects.filter(team_id__in=uncovered, user__role=FALLBACK_ROLES[role],
                                                     user__is_active=True).select_related("user").order_by("user_id"))
        for membership in members:
            people[membership.team_id].setdefault(membership.user_id, membership.user)
    return {team_id: list(users.values()) for team_id, users in people.items()}


def preferences_by_user(user_ids: Iterable[int]) -> dict[int, NotificationPreference | None]:
    """Each person's preferences (None: none saved, the defaults apply), in one query."""
    ids = set(user_ids)
    found = {pref.user_id: pref for pref in NotificationPreference.objects.filter(user_id__in=ids)} if ids else {}
    return {user_id: found.get(user_id) for user_id in ids}


def _preference(user: User, preferences: Mapping[int, NotificationPreference | None] | None):
    if preferences is None:
        return NotificationPreference.objects.filter(user=user).first()
    pref = preferences.get(user.pk, _UNSET)
    if pref is _UNSET:  # the caller did not read this person: read now rather than guess
        return NotificationPreference.objects.filter(user=user).first()
    return pref


def channels_for(user: User, urgency: int | None = None, *,
                 preferences: Mapping[int, NotificationPreference | None] | None = None) -> list[str]:
    """In-app always; email and SMS as the person prefers. For alerts (clinical-rules "Urgency levels"):
    routine stays in the app and the digest, same-day adds email, urgent and emergency add SMS."""
    pref = _preference(user, preferences)
    email = pref.email if pref else True
    sms = pref.sms if pref else True
    channels: list[str] = [ChannelKind.INAPP]
    if email and user.email and (urgency is None or urgency >= 2):
        channels.append(ChannelKind.EMAIL)
    if sms and user.phone and (urgency is None or urgency >= 3):
        channels.append(ChannelKind.SMS)
    return channels


def patient_channels(user: User, patient=None, *,
                     preferences: Mapping[int, NotificationPreference | None] | None = None) -> list[str]:
    """Patients and caregivers: their preferred outside channel (SMS if they have a phone, else email)."""
    pref = _preference(user, preferences)
    contact = contact_for(user, patient)
    channels: list[str] = [ChannelKind.INAPP]
    if contact["phone"] and (pref is None or pref.sms):
        channels.append(ChannelKind.SMS)
    elif contact["email"] and (pref is None or pref.email):
        channels.append(ChannelKind.EMAIL)
    return channels


def team_webhooks(team: CareTeam) -> list[PagingWebhook]:
    return webhooks_by_team([team.pk])[team.pk]


def webhooks_by_team(team_ids: Iterable[int]) -> dict[int, list[PagingWebhook]]:
    """`team_webhooks` for many teams in one query."""
    teams = set(team_ids)
    result: dict[int, list[PagingWebhook]] = {team_id: [] for team_id in teams}
    if teams:
        for hook in PagingWebhook.objects.filter(team_id__in=teams, enabled=True).order_by("pk"):
            result[hook.team_id].append(hook)
    return result
