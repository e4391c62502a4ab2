"""Enrolling a patient without the admin: who may, into which teams, and the one transaction that creates
the accounts, the patient, the treatment course (its monitoring windows follow from the course's post_save,
as for a course saved anywhere), the caregiver links and the invitations with their outbox messages."""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tracker import selectors
from tracker.errors import InputError
from tracker.invitations import invitation_issue
from tracker.models import (
    CaregiverLink,
    CareTeam,
    Invitation,
    Patient,
    Role,
    Therapy,
    TreatmentCourse,
    User,
)

RECENT_ENROLMENTS = 50


def may_enrol(user) -> bool:
    """Coordinators and administrators enrol patients."""
    return bool(user.is_authenticated and user.is_active
                and (user.role == Role.COORDINATOR or user.sees_everything))


def enrolment_teams_for(user: User) -> QuerySet[CareTeam]:
    """The teams a user may enrol into: a coordinator's own teams (and so their centers); every team for an
    administrator."""
    teams = CareTeam.objects.select_related("center").order_by("center__name", "name")
    if not may_enrol(user):
        return teams.none()
    if user.sees_everything:
        return teams
    return teams.filter(memberships__user=user)


@dataclass
class Person:
    first_name: str
    last_name: str
    phone: str = ""
    email: str = ""
    relationship: str = ""


@dataclass
class Enrolment:
    team: CareTeam
    therapy: Therapy
    start_date: dt.date
    mrn: str
    date_of_birth: dt.date
    time_zone: str
    language: str
    patient: Person
    caregivers: list[Person] = field(default_factory=list)


def _username_base(first: str, last: str) -> str:
    def ascii_part(text: str) -> str:
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
        return re.sub(r"[^a-z0-9]+", "", plain)

    base = ".".join(part for part in (ascii_part(first), ascii_part(last)) if part) or "user"
    return base[:30]


def _free_username(first: str, last: str) -> str:
    """first.last, or first.last2, first.last3 ... if taken (shown to the person when they set a password)."""
    base = _username_base(first, last)
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken = {name.lower() for name in taken}
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _new_account(person: Person, *, role: str, language: str) -> User:
    user = User(username=_free_username(person.first_name, person.last_name), role=role,
                first_name=person.first_name, last_name=person.last_name, email=person.email, phone=person.phone,
                preferred_language=language)
    user.set_unusable_password()  # the person sets one from the invitation
    user.save()
    return user


def mrn_taken(*, center, mrn: str) -> bool:
    return Patient.objects.filter(center=center, mrn__iexact=mrn.strip()).exists()


def mrn_error(*, center, mrn: str) -> str:
    return _("A patient with MRN %(mrn)s is already enrolled at %(center)s. Check the number, or find the "
             "patient under Patients.") % {"mrn": mrn, "center": center.name}


def patient_enrol(*, enrolment: Enrolment, enrolled_by: User) -> Patient:
    """All or nothing: the patient's account and record, the treatment course, each caregiver's account and
    link, and an invitation for each person (the outbox message written in the same transaction). An MRN
    already used at the center raises InputError naming `mrn`."""
    center = enrolment.team.center
    if mrn_taken(center=center, mrn=enrolment.mrn):
        raise InputError(mrn_error(center=center, mrn=enrolment.mrn), fields={"mrn": [mrn_error(center=center, mrn=enrolment.mrn)]})
    try:
        with transaction.atomic():
            person = enrolment.patient
            user = _new_account(person, role=Role.PATIENT, language=enrolment.language)
            patient = Patient.objects.create(
                center=center, care_team=enrolment.team, user=user, mrn=enrolment.mrn.strip(),
                first_name=person.first_name, last_name=person.last_name, date_of_birth=enrolment.date_of_birth,
                time_zone=enrolment.time_zone, preferred_language=enrolment.language, phone=person.phone,
                email=person.email,
            )
            # post_save: monitoring makes the course's windows (CAR T), notifications schedules the reminders.
            TreatmentCourse.objects.create(patient=patient, therapy=enrolment.therapy, care_team=enrolment.team,
                                           start_date=enrolment.start_date)
            invitation_issue(user=user, patient=patient, issued_by=enrolled_by)
            for carer in enrolment.caregivers:
                carer_user = _new_account(carer, role=Role.CAREGIVER, language=enrolment.language)
                CaregiverLink.objects.create(patient=patient, user=carer_user, relationship=carer.relationship)
                invitation_issue(user=carer_user, patient=patient, issued_by=enrolled_by)
    except IntegrityError:
        if mrn_taken(center=center, mrn=enrolment.mrn):  # enrolled by someone else a moment ago
            raise InputError(mrn_error(center=center, mrn=enrolment.mrn),
                             fields={"mrn": [mrn_error(center=center, mrn=enrolment.mrn)]}) from None
        raise
    return patient


def enrolment_people(patient: Patient) -> list[User]:
    people = [patient.user] if patient.user is not None else []
    return people + [link.user for link in patient.caregiver_links.all()]


def enrolments_recent(user: User, *, limit: int = RECENT_ENROLMENTS) -> list[Patient]:
    """The most recently enrolled patients the user sees, with their people and invitations loaded."""
    if not may_enrol(user):
        return []
    return list(
        selectors.patients_visible_to(user)
        .select_related("center", "care_team__center", "user")
        .prefetch_related(
            Prefetch("caregiver_links", queryset=CaregiverLink.objects.select_related("user").order_by("pk")),
            Prefetch("invitations", queryset=Invitation.objects.order_by("-created_at")),
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def latest_invitation(patient: Patient, user: User) -> Invitation | None:
    return next((inv for inv in patient.invitations.all() if inv.user_id == user.pk), None)


def invitation_resend(*, patient: Patient, user: User, issued_by: User) -> Invitation:
    """A new invitation (the older one stops working) for the patient or one of their caregivers."""
    if user.pk not in {person.pk for person in enrolment_people(patient)}:
        raise InputError(_("That person is not enrolled with this patient."), fields={"person": []})
    return invitation_issue(user=user, patient=patient, issued_by=issued_by)


def recently_invited(user: User, *, seconds: int = 60) -> bool:
    return Invitation.objects.filter(user=user, created_at__gt=timezone.now() - dt.timedelta(seconds=seconds)
                                     ).exists()
