"""Messages about accounts: a patient's or caregiver's invitation to set a password, and a password reset.

Both carry a secret link, and no outbox row holds one: the row names the invitation (or, for a reset, only
its recipient), and the link is made by the worker that sends the message (`with_send_time_link`, called by
delivery just before the channel renders): tracker.invitations.invitation_link_mint stores only the hash of a
fresh token; a reset link is Django's token, an HMAC of the account's state that is stored nowhere. The link
is set on the in-memory row only (delivery never saves `context`), so it exists in the message and nowhere
else. A retry makes a new link; an invitation accepted, replaced or expired before its message went out
fails permanently with that reason instead of sending a dead link.

What became of an invitation's message is recorded on the invitation (`invitation_outcome_record`, from
delivery when it is sent or fails for good, `invitation_outcomes_record` from the sweep's give-up), where
the enrolment list reads it."""

import datetime as dt
import uuid
from collections.abc import Iterable

from django.conf import settings

from notifications.errors import DeliveryError
from notifications.models import ChannelKind, Notification, NotificationKind
from notifications.services.outbox import notification_create
from notifications.services.routing import patient_channels
from tracker.invitations import invitation_delivery_record, invitation_link_mint
from tracker.passwords import password_reset_link

ACCOUNT_KINDS = (NotificationKind.INVITATION, NotificationKind.PASSWORD_RESET)
OUTSIDE_CHANNELS = (ChannelKind.SMS, ChannelKind.EMAIL)


def invitation_notify(*, invitation) -> str:
    """Write the invitation's message: by SMS if the person has a mobile number, else by email (their
    preferences, as for reminders; never in-app, they cannot sign in yet). Returns the channel, or ""."""
    user, patient = invitation.user, invitation.patient
    channel = next((c for c in patient_channels(user, patient) if c in OUTSIDE_CHANNELS), "")
    if channel:
        notification_create(
            dedup_key=f"invitation:{invitation.uuid}:{channel}", kind=NotificationKind.INVITATION, channel=channel,
            recipient=user, patient=patient, language=user.preferred_language or "en",
            context={"invitation": str(invitation.uuid), "hours": settings.INVITATION_HOURS},
        )
    return channel


def invitation_outcomes_record(rows: Iterable[tuple[str, object]], *, status: str, at: dt.datetime) -> int:
    """Tell tracker what became of the invitations among these notifications ((kind, context's "invitation")
    pairs) that were just sent or failed for good: one UPDATE for all of them, none when there is no
    invitation among them."""
    uuids = [invitation for kind, invitation in rows if kind == NotificationKind.INVITATION and invitation]
    if not uuids:
        return 0
    return invitation_delivery_record(invitation_uuids=uuids, status=status, at=at)


def invitation_outcome_record(notification: Notification, *, status: str, at: dt.datetime) -> None:
    """`invitation_outcomes_record` for one notification (nothing unless it is an invitation)."""
    invitation_outcomes_record([(notification.kind, (notification.context or {}).get("invitation"))],
                               status=status, at=at)


def password_reset_notify(*, user) -> None:
    """An email with a reset link (made when it is sent), in the person's language."""
    notification_create(
        dedup_key=f"password_reset:{uuid.uuid4()}", kind=NotificationKind.PASSWORD_RESET, channel=ChannelKind.EMAIL,
        recipient=user, language=user.preferred_language or "en",
        context={"minutes": settings.PASSWORD_RESET_TIMEOUT // 60},
    )


def with_send_time_link(notification: Notification) -> None:
    """For an account message, make its link now and put it on the row in memory (never saved)."""
    if notification.kind not in ACCOUNT_KINDS:
        return
    if notification.channel not in OUTSIDE_CHANNELS:
        raise DeliveryError("Account messages go by SMS or email only.", permanent=True)
    if notification.kind == NotificationKind.INVITATION:
        link = invitation_link_mint(invitation_uuid=notification.context.get("invitation"))
        if link is None:
            raise DeliveryError("The invitation was accepted, replaced by a newer one or has expired: "
                                "nothing to send.", permanent=True)
    else:
        link = password_reset_link(notification.recipient) if notification.recipient else None
        if link is None:
            raise DeliveryError("The account can no longer reset its password (inactive, or no password).",
                                permanent=True)
    notification.context = {**notification.context, "link": link}
