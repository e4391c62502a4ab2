"""Demo data for the quick start: one center, two care teams, the people of shared/journeys.md. Monitoring's
command, since the past check-ins are stored and graded as real ones are (monitoring.services.intake)."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from monitoring.services import intake
from tracker.catalogue import sync_catalogue
from tracker.dose_services import dose_record
from tracker.models import (
    CaregiverLink,
    CareTeam,
    CareTeamMembership,
    Center,
    Patient,
    Role,
    Therapy,
    TreatmentCourse,
    User,
)
from tracker.models.checkins import Channel
from tracker.models.doses import DoseSetting
from tracker.questions import CAR_T, CHECKPOINT, YES_NO_FIELDS, required_fields
from tracker.selectors import patient_question_groups

DEMO_PASSWORD = "tracker-demo-2026"  # noqa: S105 - demo accounts only; refused when DEBUG is off

STAFF = [
    ("nurse.cell", "Nora", "Quinn", Role.NURSE, "Cellular Therapy"),
    ("nurse.thor", "Tomas", "Reyes", Role.NURSE, "Thoracic Oncology"),
    ("charge.cell", "Carla", "Mendes", Role.CHARGE_NURSE, "Cellular Therapy"),
    ("dr.cell", "Peter", "Okafor", Role.PHYSICIAN, "Cellular Therapy"),
    ("coord.cell", "Cora", "Ndiaye", Role.COORDINATOR, "Cellular Therapy"),
]


class Command(BaseCommand):
    help = "Load demo users, patients and check-ins (idempotent). Refuses to run with DEBUG off unless --force."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off (never in production).")

    @transaction.atomic
    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development only (DEBUG is off). Use --force to insist.")
        sync_catalogue(Therapy)
        center, _ = Center.objects.get_or_create(
            name="Riverside Cancer Center", defaults={"phone_24_7": "(555) 010-0199", "time_zone": "America/New_York"}
        )
        teams = {
            name: CareTeam.objects.get_or_create(center=center, name=name)[0]
            for name in ("Cellular Therapy", "Thoracic Oncology")
        }
        for n, (username, first, last, role, team) in enumerate(STAFF):
            user = self._user(username, first, last, role, phone=f"(555) 010-02{n:02d}")
            CareTeamMembership.objects.get_or_create(user=user, team=teams[team])
        admin = self._user("admin", "Ada", "Admin", Role.ADMIN)
        if not admin.is_superuser:
            admin.is_superuser = admin.is_staff = True
            admin.save(update_fields=["is_superuser", "is_staff"])

        today = timezone.localdate()
        maria = self._patient(
            "maria", "Maria", "Lopez", "RCC-100234", dt.date(1968, 3, 14), "America/New_York", teams["Cellular Therapy"]
        )
        self._course(maria, "yescarta", today - dt.timedelta(days=2), teams["Cellular Therapy"])
        robert = self._patient(
            "robert", "Robert", "Chen", "RCC-100871", dt.date(1962, 9, 2), "America/Chicago", teams["Thoracic Oncology"]
        )
        self._course(robert, "pembrolizumab", today - dt.timedelta(weeks=11), teams["Thoracic Oncology"],
                     last_dose=today - dt.timedelta(days=6))
        david = self._user("david", "David", "Lopez", Role.CAREGIVER, phone="(555) 010-0143")  # tap-to-call on staff pages
        CaregiverLink.objects.get_or_create(patient=maria, user=david, defaults={"relationship": "husband"})

        # A teclistamab patient between step-up doses (clinical-rules §8): SU1 three days ago, SU2 today, the first
        # treatment dose planned; the dose windows follow on commit (tracker.signals dose_recorded).
        grace = self._patient(
            "grace", "Grace", "Park", "RCC-101502", dt.date(1957, 11, 23), "America/New_York", teams["Cellular Therapy"]
        )
        self._course(grace, "teclistamab", today - dt.timedelta(days=3), teams["Cellular Therapy"])
        self._step_up_doses(grace, User.objects.get(username="nurse.cell"))
        luis = self._patient(
            "luis", "Luis", "Ortega", "RCC-101733", dt.date(1951, 6, 8), "America/New_York", teams["Cellular Therapy"]
        )
        self._course(luis, "lenalidomide", today - dt.timedelta(weeks=5), teams["Cellular Therapy"])

        if not maria.checkins.exists():
            self._history(maria, david, days=2, temperature=Decimal("37.1"))
        if not robert.checkins.exists():
            self._history(robert, robert.user, days=5, temperature=Decimal("36.8"))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo login uses the password {DEMO_PASSWORD}"))

    def _user(self, username, first, last, role, phone=""):
        user, created = User.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "role": role, "phone": phone,
                                         "email": f"{username}@example.org", "is_staff": role == Role.ADMIN},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user

    def _patient(self, username, first, last, mrn, dob, tz, team):
        user = self._user(username, first, last, Role.PATIENT)
        patient, _ = Patient.objects.get_or_create(
            center=team.center, mrn=mrn,
            defaults={"first_name": first, "last_name": last, "date_of_birth": dob, "time_zone": tz,
                      "care_team": team, "user": user, "email": f"{username}@example.org", "phone": "(555) 010-0142"},
        )
        return patient

    def _course(self, patient, code, start, team, last_dose=None):
        TreatmentCourse.objects.get_or_create(
            patient=patient, therapy=Therapy.objects.get(code=code),
            defaults={"start_date": start, "care_team": team, "last_dose_date": last_dose},
        )

    def _step_up_doses(self, patient, nurse):
        course = patient.courses.get(therapy__code="teclistamab")
        if course.doses.exists():
            return
        now = timezone.now()
        local_now = timezone.localtime(now, patient.tz)
        su1 = dt.datetime.combine(local_now.date() - dt.timedelta(days=3), dt.time(9), tzinfo=patient.tz)
        su2 = max(now - dt.timedelta(hours=1), dt.datetime.combine(local_now.date(), dt.time(0, 5), tzinfo=patient.tz))
        for step, start in (("su1", su1), ("su2", su2)):
            dose_record(course=course, recorded_by=nurse, values={
                "step_code": step, "started_at": start, "ended_at": min(start + dt.timedelta(minutes=5), now),
                "setting": DoseSetting.INPATIENT, "kept_for_monitoring": True})

    def _history(self, patient, entered_by, *, days, temperature):
        """Quiet past check-ins, entered through the same service as a real one."""
        question_groups = patient_question_groups(patient)
        answers = {name: False for name in required_fields(question_groups) if name in YES_NO_FIELDS}
        extra = {"consciousness": "alert"} if CAR_T in question_groups else {}
        if CHECKPOINT in question_groups:
            extra.update({"extra_stools": 0, "abdominal_pain": "none", "rash_percent": 0})
        for n in range(days, 0, -1):
            intake.checkin_submit(
                patient=patient, entered_by=entered_by, channel=Channel.WEB,
                values={"temperature_c": temperature, "temperature_entered": temperature, "temperature_unit": "C",
                        "heart_rate": 78, **answers, **extra},
                recorded_at=timezone.now() - dt.timedelta(days=n),
            )
