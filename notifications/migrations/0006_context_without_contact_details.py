from django.db import migrations
from django.db.models import Q

# Phone numbers and email addresses were copied into Notification.context (reminders, window-end notices).
# The channels now read them from the recipient when sending; blank them from the rows already kept.
CONTACT_KEYS = ("phone", "email")
BATCH = 500


def forward(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    holding = Notification.objects.filter(Q(context__has_key="phone") | Q(context__has_key="email"))
    batch = []
    for row in holding.only("pk", "context").iterator(chunk_size=BATCH):
        row.context = {key: value for key, value in row.context.items() if key not in CONTACT_KEYS}
        batch.append(row)
        if len(batch) >= BATCH:
            Notification.objects.bulk_update(batch, ["context"])
            batch = []
    if batch:
        Notification.objects.bulk_update(batch, ["context"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_task_heartbeat")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
