import json
import socket

from django.core.management.base import BaseCommand

from notifications.services.health import CHECKS, queue_health


class Command(BaseCommand):
    help = ("Check that the tracker tells people what it should, when it should: the database and broker, beat, "
            "the worker heartbeat, each scan's last success, overdue escalations, stuck and failed notifications, "
            "alerts nobody was told about.")

    def add_arguments(self, parser):
        parser.add_argument("--fail-on-problem", action="store_true",
                            help="Exit 1, naming each problem on stderr, when any check fails.")
        parser.add_argument("--check", nargs="+", choices=CHECKS, metavar="CHECK",
                            help=f"Run only these checks (of: {', '.join(CHECKS)}).")
        parser.add_argument("--ping-worker", nargs="?", const=f"celery@{socket.gethostname()}", metavar="NODE",
                            help="Also ping this Celery worker (default: this host's, celery@<hostname>); "
                                 "for the worker container's health check.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the report as JSON.")

    def handle(self, *args, fail_on_problem=False, check=None, ping_worker=None, as_json=False, **options):
        report = queue_health(only=check, ping_worker=ping_worker)
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for name, result in report["checks"].items():
                state = {True: "ok", False: "PROBLEM", None: "unknown"}[result["ok"]]
                self.stdout.write(f"{name:28} {state:8} {result['message']}")
            self.stdout.write(f"status: {report['status']}")
        if fail_on_problem and report["problems"]:
            for name in report["problems"]:
                self.stderr.write(f"Problem: {name}: {report['checks'][name]['message']}")
            raise SystemExit(1)
