"""Each device assignment keeps its newest temperature reading (value and time), set by the ingest from now on;
the existing assignments get it here from their readings."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

TEMPERATURE = 1  # tracker.models.ReadingType.TEMPERATURE


def backfill(apps, schema_editor):
    DeviceAssignment = apps.get_model("tracker", "DeviceAssignment")
    Reading = apps.get_model("tracker", "Reading")
    newest = (Reading.objects.filter(patient_id=OuterRef("patient_id"), type=TEMPERATURE,
                                     device_id=OuterRef("device_id"), measured_at__gte=OuterRef("started_at"))
              .order_by("-measured_at"))
    heard = DeviceAssignment.objects.filter(last_measured_at__isnull=False)
    for assignments, readings in ((heard.filter(ended_at__isnull=True), newest),
                                  (heard.filter(ended_at__isnull=False), newest.filter(measured_at__lt=OuterRef("ended_at")))):
        assignments.update(last_temperature=Subquery(readings.values("value")[:1]),
                           last_temperature_at=Subquery(readings.values("measured_at")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('tracker', '0017_course_baseline_weight'),
    ]

    operations = [
        migrations.AddField(
            model_name='deviceassignment',
            name='last_temperature',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='deviceassignment',
            name='last_temperature_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
