from django.core.management.base import BaseCommand

from notifications.services.health import queue_health


class Command(BaseCommand):
    help = "Report the notification queue: pending, stuck, failed, and alerts nobody was told about."

    def add_arguments(self, parser):
        parser.add_argument("--fail-on-problem", action="store_true", help="Exit 1 when anything is stuck or failed.")

    def handle(self, *args, fail_on_problem=False, **options):
        report = queue_health()
        for key, value in report.items():
            self.stdout.write(f"{key:32} {value}")
        if fail_on_problem and (report["stuck"] or report["failed_last_24h"] or report["alerts_without_notification"]):
            raise SystemExit(1)
