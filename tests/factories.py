import datetime as dt

import factory
from django.utils import timezone

from monitoring.models import Alert
from tracker.models import (
    CaregiverLink,
    CareTeam,
    CareTeamMembership,
    Center,
    CheckIn,
    Device,
    DeviceAssignment,
    Patient,
    Reading,
    ReadingType,
    Role,
    Therapy,
    TreatmentCourse,
    User,
)


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ["name"]

    name = "Riverside Cancer Center"
    phone_24_7 = "(555) 010-0199"


class CareTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareTeam

    center = factory.SubFactory(CenterFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


STAFF_FIRST_NAMES = ("Amara", "Jonas", "Priya", "Tomasz", "Keiko", "Samuel", "Ingrid", "Wei", "Fatima", "Dmitri")
STAFF_LAST_NAMES = ("Okafor", "Lindqvist", "Raman", "Nowak", "Tanaka", "Mensah", "Halvorsen", "Zhou", "Haddad",
                    "Volkov", "Brennan")
PATIENT_FIRST_NAMES = ("Elena", "Marcus", "Aisha", "Henrik", "Lucia", "Kwame", "Nadia", "Oscar", "Yuki")
PATIENT_LAST_NAMES = ("Alvarez", "Bergstrom", "Costa", "Dubois", "Eriksen", "Fischer", "Greco", "Hoffman",
                      "Ito", "Jovanovic", "Kowalski", "Moreau")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # Names from a fixed list, not random: a test that checks one patient's name never leaks must not
    # meet a randomly named stranger who happens to share it.
    first_name = factory.Sequence(lambda n: STAFF_FIRST_NAMES[n % len(STAFF_FIRST_NAMES)])
    last_name = factory.Sequence(lambda n: STAFF_LAST_NAMES[n % len(STAFF_LAST_NAMES)])
    role = Role.NURSE
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        for team in extracted or []:
            CareTeamMembership.objects.create(user=self, team=team)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    care_team = factory.SubFactory(CareTeamFactory)
    center = factory.LazyAttribute(lambda o: o.care_team.center)
    # The patient's own account carries the patient's name.
    user = factory.SubFactory(UserFactory, role=Role.PATIENT, first_name=factory.SelfAttribute("..first_name"),
                              last_name=factory.SelfAttribute("..last_name"))
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Sequence(lambda n: PATIENT_FIRST_NAMES[n % len(PATIENT_FIRST_NAMES)])
    last_name = factory.Sequence(lambda n: PATIENT_LAST_NAMES[n % len(PATIENT_LAST_NAMES)])
    date_of_birth = dt.date(1965, 5, 1)
    time_zone = "America/New_York"


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    therapy = factory.LazyFunction(lambda: Therapy.objects.get(code="yescarta"))
    care_team = factory.LazyAttribute(lambda o: o.patient.care_team)
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=2))


class CaregiverLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaregiverLink

    patient = factory.SubFactory(PatientFactory)
    user = factory.SubFactory(UserFactory, role=Role.CAREGIVER)


class CheckInFactory(factory.django.DjangoModelFactory):
    """A stored check-in row as the patient sent it through the API, without grading: for tests that need rows
    (a correction, an alert's evidence) but not what the rules make of them. Answers are passed as fields."""

    class Meta:
        model = CheckIn

    patient = factory.SubFactory(PatientFactory)
    entered_by = factory.LazyAttribute(lambda o: o.patient.user)
    entered_role = "patient"
    channel = "api"
    recorded_at = factory.LazyFunction(timezone.now)
    local_date = factory.LazyAttribute(lambda o: timezone.localtime(o.recorded_at, o.patient.tz).date())


class AlertFactory(factory.django.DjangoModelFactory):
    """An open alert set up directly (urgency, grade, age chosen by the test), on a check-in of its own."""

    class Meta:
        model = Alert

    patient = factory.SubFactory(PatientFactory)
    condition = factory.Sequence(lambda n: f"test-{n}")
    urgency = 3
    grading_system = "ASTCT"
    title = factory.Sequence(lambda n: f"Alert {n}")
    rationale = "Why it fired"
    patient_instruction = "Call your care team"
    rule_ids = factory.LazyFunction(lambda: ["test.rule"])
    sources = factory.LazyFunction(lambda: ["clinical-rules §1"])
    opened_at = factory.LazyFunction(timezone.now)
    updated_at = factory.SelfAttribute("opened_at")
    first_checkin = factory.SubFactory(CheckInFactory, patient=factory.SelfAttribute("..patient"),
                                       recorded_at=factory.SelfAttribute("..opened_at"))
    last_checkin = factory.SelfAttribute("first_checkin")


class DeviceFactory(factory.django.DjangoModelFactory):
    """A temperature patch by default (every 2 minutes, clinical-rules §10)."""

    class Meta:
        model = Device

    center = factory.SubFactory(CenterFactory)
    kind = "temperature_patch"
    maker = "Acme"
    model_name = "Patch 2"
    serial = factory.Sequence(lambda n: f"SN{n:06d}")
    body_site = "axillary"
    expected_interval_seconds = 120


class DeviceAssignmentFactory(factory.django.DjangoModelFactory):
    """A device worn by the patient since `started_at` (a day ago), open."""

    class Meta:
        model = DeviceAssignment

    patient = factory.SubFactory(PatientFactory)
    device = factory.SubFactory(DeviceFactory, center=factory.SelfAttribute("..patient.center"))
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    assigned_by = factory.SubFactory(UserFactory, role=Role.NURSE)


READING_UNITS = {1: 1, 2: 3, 3: 4, 4: 5, 5: 5}  # ReadingType -> the canonical ReadingUnit (Cel, /min, %, mm[Hg])


def add_readings(assignment: DeviceAssignment, reading_type: int, values, *, end: dt.datetime | None = None,
                 every: dt.timedelta = dt.timedelta(minutes=2), touch: bool = True) -> list[Reading]:
    """Readings of `assignment`'s device, one per value, the last at `end` (now), spaced by `every`, stored as the
    ingest stores them (canonical unit, the patient's offset); `touch` moves the assignment's last_measured_at and
    last_received_at (and for temperatures its latest temperature) to the newest one, as the ingest does."""
    end = end or timezone.now()
    values = list(values)
    times = [end - every * (len(values) - 1 - i) for i in range(len(values))]
    rows = [Reading(patient_id=assignment.patient_id, type=reading_type, measured_at=at, device_id=assignment.device_id,
                    value=float(value), unit=READING_UNITS[reading_type],
                    utc_offset_minutes=int(timezone.localtime(at, assignment.patient.tz).utcoffset().total_seconds()
                                           // 60), received_at=at)
            for value, at in zip(values, times, strict=True)]
    Reading.objects.bulk_create(rows)
    if touch and rows and (assignment.last_measured_at is None or end > assignment.last_measured_at):
        DeviceAssignment.objects.filter(pk=assignment.pk).update(last_measured_at=end, last_received_at=end)
        assignment.last_measured_at = assignment.last_received_at = end
    if touch and rows and reading_type == ReadingType.TEMPERATURE and (
            assignment.last_temperature_at is None or end > assignment.last_temperature_at):
        DeviceAssignment.objects.filter(pk=assignment.pk).update(last_temperature=rows[-1].value,
                                                                 last_temperature_at=end)
        assignment.last_temperature, assignment.last_temperature_at = rows[-1].value, end
    return rows


def open_silence_alert(patient: Patient, *, opened_at: dt.datetime | None = None, urgency: int = 2) -> Alert:
    """The open alert the silence scan raises when a streaming device goes quiet (clinical-rules §10)."""
    return AlertFactory(patient=patient, condition="device_silence", urgency=urgency, grading_system="",
                        title="Device silent", opened_at=opened_at or timezone.now(),
                        rule_ids=["device.silence"], sources=["clinical-rules §10"])
