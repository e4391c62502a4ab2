"""The invitations issued before their delivery status was stored take it from their messages: an invitation
whose message was sent is `sent` (since the message was sent), one whose message failed for good is `failed`.
The others stay as tracker's migration 0009 left them (`pending` with a channel, empty without)."""

import uuid

from django.db import migrations

CHUNK = 1000


def _outcomes(apps, status: str):
    """(invitation uuid, when) for the invitation messages in `status`, oldest first."""
    notification = apps.get_model("notifications", "Notification")
    rows = (notification.objects.filter(kind="invitation", status=status)
            .values_list("context__invitation", "sent_at", "next_attempt_at", "created_at").order_by("pk"))
    for invitation, sent_at, next_attempt_at, created_at in rows.iterator(chunk_size=CHUNK):
        try:
            key = uuid.UUID(str(invitation))
        except ValueError:
            continue
        yield key, (sent_at if status == "sent" else None) or next_attempt_at or created_at


def fill_from_messages(apps, schema_editor):
    invitation = apps.get_model("tracker", "Invitation")
    for status in ("failed", "sent"):  # a message sent wins over another that failed
        outcomes = dict(_outcomes(apps, status))
        uuids = list(outcomes)
        for start in range(0, len(uuids), CHUNK):
            chunk = list(invitation.objects.filter(uuid__in=uuids[start:start + CHUNK]))
            for row in chunk:
                row.delivery_status, row.delivery_changed_at = status, outcomes[row.uuid]
            invitation.objects.bulk_update(chunk, ["delivery_status", "delivery_changed_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("notifications", "0009_task_names"),
        ("tracker", "0011_invitation_delivery_status"),
    ]

    operations = [
        migrations.RunPython(fill_from_messages, migrations.RunPython.noop),
    ]
