import datetime as dt

import factory
from django.utils import timezone

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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
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
    user = factory.SubFactory(UserFactory, role=Role.PATIENT)
    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
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
