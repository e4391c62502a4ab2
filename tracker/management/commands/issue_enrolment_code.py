from django.core.management.base import BaseCommand, CommandError

from tracker.accounts import enrolment_code_issue
from tracker.models import User
from tracker.models.users import EnrolmentChannel


class Command(BaseCommand):
    help = ("Print a single-use two-factor enrolment code for a staff account (the first administrator's; "
            "later ones come from the admin's 'Issue a two-factor enrolment code' action). Hand it over in person "
            "or by a call to a number on file.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None or not user.is_staff_member:
            raise CommandError("No active staff account with that username.")
        raw = enrolment_code_issue(user=user, channel=EnrolmentChannel.ADMIN)
        self.stdout.write(raw)
