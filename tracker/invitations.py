"""Invitations: how a patient or caregiver enrolled by a coordinator sets a first password.

An Invitation row is written in the enrolment's transaction (or a resend's), and `invitation_issued` is
sent inside it: notifications writes the outbox row (SMS or email, the person's language) in the same
transaction, so either everything is stored or nothing is. The invitation's `delivery_status` is pending from
then on; notifications records the message's outcome on it (`invitation_delivery_record`: sent, or failed for
good), and the enrolment list reads it from the row.

The secret link is never stored. The outbox row names the invitation only; when a worker sends the message
it asks for a link (`invitation_link_mint`), which makes a fresh random token, stores its SHA-256 hash
(InvitationLink) and returns the path to render into the message. A retry makes another link; every link of
the invitation stops working when one is used, when the invitation expires (INVITATION_HOURS after it was
issued) or when a newer invitation for the same person replaces it. Whoever reads the database, the outbox
or a backup holds nothing that opens an account, and neither does the SECRET_KEY alone.

Opening a link puts the token in the session and redirects to a URL without it (as Django's password reset
does), so the token does not stay in the address bar or go out in a Referer header."""

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tracker.models import DeliveryStatus, Invitation, InvitationLink, Patient, User
from tracker.models.users import hash_key
from tracker.signals import invitation_issued

SESSION_TOKEN = "invitation_token"  # the token of the link that opened this session's set-password page
SET_PASSWORD_SLUG = "set-password"  # the URL the page moves to, without the token


def invitation_issue(*, user: User, patient: Patient, issued_by: User | None = None) -> Invitation:
    """A new invitation for `user` (the patient or one of their caregivers), replacing any still open, and
    its message written to the outbox. Call inside the transaction that should hold it."""
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(user=user, accepted_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
        invitation = Invitation.objects.create(
            user=user, patient=patient, issued_by=issued_by, created_at=now,
            expires_at=now + dt.timedelta(hours=settings.INVITATION_HOURS))
        responses: list[object] = [answer for _receiver, answer in
                                   invitation_issued.send(sender=Invitation, invitation=invitation)]
        answers = [answer for answer in responses if isinstance(answer, dict)]
        channel = next((a.get("channel", "") for a in answers if a.get("channel")), "")
        if channel:
            invitation.channel, invitation.delivery_status = channel, DeliveryStatus.PENDING
            invitation.delivery_changed_at = now
            invitation.save(update_fields=["channel", "delivery_status", "delivery_changed_at"])
    return invitation


def invitation_link_mint(*, invitation_uuid) -> str | None:
    """At send time: a new single-use link (its path) for an invitation still open, or None when it was
    accepted, replaced or has expired. Only the hash of the token is stored."""
    invitation = Invitation.objects.filter(uuid=invitation_uuid).select_related("user").first()
    if invitation is None or not invitation.is_open() or not invitation.user.is_active:
        return None
    raw = secrets.token_urlsafe(32)
    InvitationLink.objects.create(invitation=invitation, token_hash=hash_key(raw))
    return reverse("invitation-accept", kwargs={"token": raw})


def invitation_for_token(raw: str) -> Invitation | None:
    """The open invitation a link's token belongs to, or None (unknown, used, expired or replaced)."""
    if not raw or raw == SET_PASSWORD_SLUG or len(raw) > 100:
        return None
    link = (InvitationLink.objects.select_related("invitation__user", "invitation__patient")
            .filter(token_hash=hash_key(raw)).first())
    if link is None:
        return None
    invitation = link.invitation
    if not invitation.is_open() or not invitation.user.is_active:
        return None
    return invitation


def invitation_accept(*, invitation: Invitation, form) -> User | None:
    """Set the password from a valid SetPasswordForm and use the invitation up (every link of it), once:
    of two submissions at the same moment, one wins and the other gets None."""
    now = timezone.now()
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or not locked.is_open(now):
            return None
        user = form.save()
        Invitation.objects.filter(pk=locked.pk).update(accepted_at=now)
        # Any other invitation still open for the person has nothing left to do.
        Invitation.objects.filter(user=user, accepted_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
    return user


def invitation_delivery_record(*, invitation_uuids: Iterable, status: str,
                               at: dt.datetime | None = None) -> int:
    """Record what became of the messages of these invitations ("sent" or "failed"), in one UPDATE whatever
    their number: notifications calls it when an invitation's message is sent or fails for good. Values that
    are not UUIDs are ignored; an invitation already in that status keeps the time it got there. Returns the
    number of invitations changed."""
    if status not in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
        raise ValueError(f"Not a delivery outcome: {status!r}")
    uuids = set()
    for value in invitation_uuids:
        try:
            uuids.add(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not uuids:
        return 0
    return (Invitation.objects.filter(uuid__in=uuids).exclude(delivery_status=status)
            .update(delivery_status=status, delivery_changed_at=at or timezone.now()))
