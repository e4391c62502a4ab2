"""Who is told: the on-call roster of the patient's care team, and each person's channels."""

import datetime as dt

from notifications.models import ChainRole, ChannelKind, NotificationPreference, PagingWebhook
from tracker.models import CareTeam, Role, User

# Without a roster entry, the team's members of the matching role are told (nobody is left out).
FALLBACK_ROLES = {
    ChainRole.PRIMARY_NURSE: Role.NURSE,
    ChainRole.CHARGE_NURSE: Role.CHARGE_NURSE,
    ChainRole.PHYSICIAN: Role.PHYSICIAN,
}
ESCALATION_CHAIN = [ChainRole.PRIMARY_NURSE, ChainRole.CHARGE_NURSE, ChainRole.PHYSICIAN]


def chain_role_for_step(step: int) -> str:
    return ESCALATION_CHAIN[min(step, len(ESCALATION_CHAIN) - 1)]


def on_call(team: CareTeam, role: str, at: dt.datetime) -> list[User]:
    users = list(
        User.objects.filter(shifts__team=team, shifts__role=role, shifts__starts_at__lte=at, shifts__ends_at__gt=at,
                            is_active=True).distinct()
    )
    if users:
        return users
    return list(User.objects.filter(team_memberships__team=team, role=FALLBACK_ROLES[role], is_active=True).distinct())


def channels_for(user: User, urgency: int | None = None) -> list[str]:
    """In-app always; email and SMS as the person prefers. For alerts (clinical-rules "Urgency levels"):
    routine stays in the app and the digest, same-day adds email, urgent and emergency add SMS."""
    pref = NotificationPreference.objects.filter(user=user).first()
    email = pref.email if pref else True
    sms = pref.sms if pref else True
    channels = [ChannelKind.INAPP]
    if email and user.email and (urgency is None or urgency >= 2):
        channels.append(ChannelKind.EMAIL)
    if sms and user.phone and (urgency is None or urgency >= 3):
        channels.append(ChannelKind.SMS)
    return channels


def contact_for(user: User, patient=None) -> dict:
    """Where to reach a patient or caregiver: the patient's own record holds the patient's phone and
    email (the enrolment data); a caregiver's come from their account."""
    if patient is not None and patient.user_id == user.pk:
        return {"phone": patient.phone or user.phone, "email": patient.email or user.email}
    return {"phone": user.phone, "email": user.email}


def patient_channels(user: User, patient=None) -> list[str]:
    """Patients and caregivers: their preferred outside channel (SMS if they have a phone, else email)."""
    pref = NotificationPreference.objects.filter(user=user).first()
    contact = contact_for(user, patient)
    channels = [ChannelKind.INAPP]
    if contact["phone"] and (pref is None or pref.sms):
        channels.append(ChannelKind.SMS)
    elif contact["email"] and (pref is None or pref.email):
        channels.append(ChannelKind.EMAIL)
    return channels


def team_webhooks(team: CareTeam) -> list[PagingWebhook]:
    return list(PagingWebhook.objects.filter(team=team, enabled=True))
