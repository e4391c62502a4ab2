"""Recording and correcting the doses of a treatment course (clinical-rules §8), and reading them back with their
schedule step, the planned doses and the restart proposal.

Writes lock the course row, so two staff recording at once cannot both store the same step, or two overlapping
continuous infusions. A correction is a new row (`corrects` the one before); nothing is updated or deleted.

Decisions:
- A product with a schedule template takes only its step codes; a product without one (CAR T, checkpoint
  inhibitors) takes a free dose name of up to 60 characters ("cycle 3 day 1").
- `cycle` counts the times a step is given in the course. Left out, it is the next number for that step (the
  next weekly dose, a step-up dose given again after a restart). Two current doses may not share a step and a
  cycle: the second is refused (400 naming step_code); correct the first instead.
- Continuous infusions (blinatumomab) of one course may not overlap; one still running (no end) overlaps every
  later start.
"""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext

from tracker import signals
from tracker.dose_plans import (
    DoseSchedule,
    DoseStep,
    GivenDose,
    PlannedDose,
    RestartProposal,
    monitoring_ends,
    planned_doses,
    restart_proposal,
)
from tracker.errors import ConflictError, InputError
from tracker.models import DoseAdministration, TreatmentCourse, User

DOSE_FIELDS = ("step_code", "cycle", "planned_start", "started_at", "ended_at", "setting", "kept_for_monitoring",
               "route")


def _input_error(errors: dict[str, list[str]]) -> InputError:
    names = ", ".join(sorted(errors))
    return InputError(gettext("Some fields are not valid: %(names)s.") % {"names": names},
                      fields={name: [str(m) for m in messages] for name, messages in errors.items()})


def _overlaps(a_start, a_end, b_start, b_end) -> bool:
    return a_start < (b_end or dt.datetime.max.replace(tzinfo=dt.UTC)) and b_start < (
        a_end or dt.datetime.max.replace(tzinfo=dt.UTC))


def _check_against_course(dose: DoseAdministration, others: list[DoseAdministration],
                          schedule: DoseSchedule | None, *, cycle_given: bool) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    same_step = [d for d in others if d.step_code == dose.step_code]
    if not cycle_given:
        dose.cycle = max((d.cycle for d in same_step), default=0) + 1
    elif any(d.cycle == dose.cycle for d in same_step):
        errors["step_code"] = [gettext("This step of cycle %(cycle)s is recorded already: correct that record, or "
                                       "give another cycle.") % {"cycle": dose.cycle}]
    if schedule is not None and schedule.continuous_infusion:
        for other in others:
            if _overlaps(dose.started_at, dose.ended_at, other.started_at, other.ended_at):
                field = "started_at" if other.started_at <= dose.started_at else "ended_at"
                errors.setdefault(field, []).append(
                    gettext("This overlaps the continuous infusion recorded from %(start)s: one infusion at a "
                            "time.") % {"start": timezone.localtime(other.started_at, dose.course.patient.tz)
                                        .strftime("%Y-%m-%d %H:%M")})
                break
    return errors


def _store(*, course: TreatmentCourse, values: dict, user: User, corrects: DoseAdministration | None,
           reason: str = "") -> DoseAdministration:
    dose = DoseAdministration(course=course, recorded_by=user, corrects=corrects, correction_reason=reason,
                              **{name: values[name] for name in DOSE_FIELDS if name in values and name != "cycle"})
    if values.get("cycle") is not None:
        dose.cycle = values["cycle"]
    try:
        dose.clean()
    except ValidationError as exc:
        raise _input_error(exc.message_dict) from None
    others = list(course.doses.current().exclude(pk=corrects.pk if corrects else None))
    errors = _check_against_course(dose, others, DoseSchedule.from_json(course.therapy.dose_schedule),
                                   cycle_given=values.get("cycle") is not None)
    if errors:
        raise _input_error(errors)
    try:
        with transaction.atomic():
            dose.save(force_insert=True)
    except IntegrityError:
        raise ConflictError(gettext("This dose record was corrected already: correct the current version."),
                            fields={"corrects": [gettext("Corrected already.")]}) from None
    return dose


def _locked_course(course: TreatmentCourse) -> TreatmentCourse:
    return (TreatmentCourse.objects.select_for_update(of=("self",)).select_related("therapy", "patient")
            .get(pk=course.pk))


def dose_record(*, course: TreatmentCourse, values: dict, recorded_by: User) -> DoseAdministration:
    """Store a dose given in `course`. Raises InputError naming each bad field; nothing is stored then."""
    with transaction.atomic():
        locked = _locked_course(course)
        dose = _store(course=locked, values=values, user=recorded_by, corrects=None)
        # Inside the transaction: the dose and the windows it opens (monitoring) are stored together or not at all.
        signals.dose_recorded.send(sender=DoseAdministration, course_id=dose.course_id, dose_id=dose.pk)
        return dose


def dose_correct(*, original: DoseAdministration, changes: dict, reason: str, recorded_by: User) -> DoseAdministration:
    """Store a correction of `original` (its values with `changes` applied) and keep the original unchanged.
    Only the current version is corrected (409 otherwise)."""
    if not reason.strip():
        raise _input_error({"reason": [gettext("Say why the dose record is corrected.")]})
    with transaction.atomic():
        locked = _locked_course(original.course)
        if original.corrections.exists():
            raise ConflictError(gettext("This dose record was corrected already: correct the current version."),
                                fields={"corrects": [gettext("Corrected already.")]})
        values = {name: getattr(original, name) for name in DOSE_FIELDS}
        values.update(changes)
        dose = _store(course=locked, values=values, user=recorded_by, corrects=original, reason=reason.strip())
        signals.dose_corrected.send(sender=DoseAdministration, course_id=dose.course_id, dose_id=dose.pk,
                                    corrects_id=original.pk)  # in the transaction, as for dose_recorded
        return dose


# --- Reads --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DoseView:
    """A recorded dose with its schedule step (None for a free-named dose) and when §8 monitoring after it ends."""

    dose: DoseAdministration
    step: DoseStep | None
    monitoring_ends_at: dt.datetime | None
    history: list[DoseAdministration]  # the versions it replaced, newest first


def dose_rows(course_ids) -> dict[int, list[DoseAdministration]]:
    """Every dose row (current and corrected) of these courses, in one query, by course id."""
    rows: dict[int, list[DoseAdministration]] = {}
    for dose in (DoseAdministration.objects.filter(course_id__in=list(course_ids)).select_related("recorded_by")
                 .order_by("started_at", "pk")):
        rows.setdefault(dose.course_id, []).append(dose)
    return rows


def with_dose_flag(courses):
    """Courses annotated with `has_doses`, so a page asks for doses only when there are some."""
    return courses.annotate(has_doses=Exists(DoseAdministration.objects.filter(course=OuterRef("pk"))))


def course_doses(course: TreatmentCourse, rows: list[DoseAdministration] | None = None) -> list[DoseView]:
    """The course's current doses in time order, each with its schedule step metadata and the versions it
    replaced: a selector for what keys to dose times. One query whatever the number of doses (none when `rows`,
    the course's rows from `dose_rows`, are given); the course's therapy and patient must be loaded."""
    schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
    if rows is None:
        rows = dose_rows([course.pk]).get(course.pk, [])
    by_pk = {d.pk: d for d in rows}
    corrected = {d.corrects_id for d in rows if d.corrects_id}
    for dose in rows:  # the versions they correct are loaded already
        if dose.corrects_id in by_pk:
            dose.corrects = by_pk[dose.corrects_id]
    views = []
    for dose in rows:
        if dose.pk in corrected:
            continue
        dose.course = course
        history = []
        previous = by_pk.get(dose.corrects_id) if dose.corrects_id else None
        while previous is not None:
            history.append(previous)
            previous = by_pk.get(previous.corrects_id) if previous.corrects_id else None
        step = schedule.step(dose.step_code) if schedule else None
        views.append(DoseView(dose=dose, step=step, history=history,
                              monitoring_ends_at=monitoring_ends(step, dose.started_at, dose.ended_at) if step else None))
    return views


@dataclass(frozen=True)
class DosePlan:
    planned: list[PlannedDose]  # from the first recorded dose; empty before it or without a template
    restart: RestartProposal | None  # if the next dose, given today, restarts the step-up schedule


def course_dose_plan(course: TreatmentCourse, doses: list[DoseView], *, today: dt.date | None = None) -> DosePlan:
    schedule = DoseSchedule.from_json(course.therapy.dose_schedule)
    if schedule is None or not doses:
        return DosePlan(planned=[], restart=None)
    zone = course.patient.tz
    in_template = [v for v in doses if v.step is not None]
    if not in_template:
        return DosePlan(planned=[], restart=None)
    first = in_template[0]
    planned = planned_doses(schedule, first.dose.started_at, zone, from_step=first.step.code if first.step else None,
                            repeats=2)
    today = today or timezone.localtime(timezone.now(), zone).date()
    given = [GivenDose(v.dose.step_code, v.dose.started_at) for v in in_template]
    return DosePlan(planned=planned, restart=restart_proposal(schedule, given, today, zone))
