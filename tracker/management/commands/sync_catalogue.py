from django.core.management.base import BaseCommand

from tracker.catalogue import sync_catalogue
from tracker.models import Therapy


class Command(BaseCommand):
    help = "Create or update the therapy catalogue (CAR T, checkpoint inhibitors, T-cell engagers, TCR/TIL)."

    def handle(self, *args, **options):
        count = sync_catalogue(Therapy)
        self.stdout.write(self.style.SUCCESS(f"{count} therapies in the catalogue."))
