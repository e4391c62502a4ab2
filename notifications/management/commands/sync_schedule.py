from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from notifications.beat_schedule import sync_schedule
from notifications.models import TaskHeartbeat


class Command(BaseCommand):
    help = "Write the periodic tasks of notifications/beat_schedule.py to the beat schedule."

    def handle(self, *args, **options):
        count = sync_schedule(IntervalSchedule, PeriodicTask, TaskHeartbeat)
        self.stdout.write(self.style.SUCCESS(f"{count} periodic tasks scheduled."))
