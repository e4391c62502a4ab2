"""Grade a stored check-in inside its transaction: findings → alerts, windows, follow-ups, and what the
patient is told. Called by monitoring.services.intake with the check-in's context (the locked patient, its
active courses, driving windows and center policy, read once)."""

import datetime as dt
import functools
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.translation import gettext

from monitoring.models import CheckinAssessment, FollowUp
from monitoring.rules import (
    CheckinInput,
    EvaluationContext,
    TherapyContext,
    Urgency,
    evaluate,
    followups,
    highest_urgency,
    instruction_messages,
)
from monitoring.rules import patient_instruction as compose_instruction
from monitoring.rules.driving import is_neurologic
from monitoring.rules.engine import INTERFERON_PRODUCTS
from monitoring.services.alerts import alert_record_finding
from monitoring.services.context import CheckinContext
from monitoring.services.dose_windows import dose_windows_after_findings
from monitoring.services.windows import windows_extend_for_neuro
from tracker.compiled import CompiledQuery, insert_row
from tracker.models import CheckIn, Patient
from tracker.models.therapies import TherapyClass
from tracker.questions import WHOLE_NUMBER_FIELDS, YES_NO_FIELDS

NUMERIC_FIELDS = WHOLE_NUMBER_FIELDS
RECENT_LIMIT = 20

# What each follow-up question needs answered to count as answered.
FOLLOWUP_ANSWERS = {
    "irae_diarrhea_reask": ("extra_stools",),
    "carvykti_late_neuro_questions": ("handwriting_change", "slowed_movement", "personality_change",
                                      "coordination_loss", "facial_numbness_droop", "leg_numbness_weakness"),
}


def followup_fields_pending(patient: Patient) -> list[str]:
    """The answers the patient's pending follow-ups (not answered yet, due or not) are waiting on."""
    kinds = FollowUp.objects.filter(patient=patient, answered_by__isnull=True).values_list("kind", flat=True)
    return list(dict.fromkeys(name for kind in kinds for name in FOLLOWUP_ANSWERS.get(kind, ())))


INPUT_FIELDS = ("recorded_at", "temperature_c", "weight_kg", "consciousness", "abdominal_pain", *YES_NO_FIELDS,
                *NUMERIC_FIELDS)


def _input_from(values: dict) -> CheckinInput:
    return CheckinInput(
        **{name: values[name] for name in ("recorded_at", *YES_NO_FIELDS, *NUMERIC_FIELDS)},
        temperature_c=None if values["temperature_c"] is None else float(values["temperature_c"]),
        weight_kg=None if values["weight_kg"] is None else float(values["weight_kg"]),
        consciousness=values["consciousness"] or None,
        abdominal_pain=values["abdominal_pain"] or None,
    )


def checkin_input(checkin: CheckIn) -> CheckinInput:
    return _input_from({name: getattr(checkin, name) for name in INPUT_FIELDS})


_SENTINEL_ID = -7_770_101
_SENTINEL_FROM = dt.datetime(1901, 1, 1, 1, 1, 1, tzinfo=dt.UTC)
_SENTINEL_TO = dt.datetime(1901, 1, 1, 1, 1, 2, tzinfo=dt.UTC)
# A check-in's earlier check-ins (not this one, nor the one it corrects), newest first: compiled once
# (tracker.compiled), as every check-in reads them.
_RECENT = CompiledQuery(
    lambda patient_id, start, end, checkin_id, amends_id: (
        CheckIn.objects.current().filter(patient_id=patient_id, recorded_at__lte=end, recorded_at__gte=start)
        .exclude(pk=checkin_id).exclude(pk=amends_id).order_by("-recorded_at")
        .values(*INPUT_FIELDS, "local_date", "is_complete")[:RECENT_LIMIT]
    ),
    patient_id=_SENTINEL_ID, start=_SENTINEL_FROM, end=_SENTINEL_TO, checkin_id=_SENTINEL_ID - 1,
    amends_id=_SENTINEL_ID - 2,
)


@dataclass(frozen=True)
class Recent:
    """A check-in's earlier check-ins (newest first, the rules' input) and whether one of them was a complete
    check-in on the same local date (then this one moves no reminder on)."""

    inputs: tuple[CheckinInput, ...]
    day_already_logged: bool


def _recent(checkin: CheckIn, hours: int) -> Recent:
    rows = _RECENT.fetch(patient_id=checkin.patient_id, start=checkin.recorded_at - dt.timedelta(hours=hours),
                         end=checkin.recorded_at, checkin_id=checkin.pk, amends_id=checkin.amends_id or 0)
    return Recent(inputs=tuple(_input_from(row) for row in rows),
                  day_already_logged=any(r["is_complete"] and r["local_date"] == checkin.local_date for r in rows))


def evaluation_context(checkin: CheckIn, context: CheckinContext, recent: Recent) -> EvaluationContext:
    courses = [c for c in context.courses if c.start_date <= checkin.local_date]
    return evaluation_context_on(checkin.local_date, context, recent=recent.inputs,
                                 baseline_weight_kg=_baseline_weight(checkin, courses))


def evaluation_context_on(day: dt.date, context: CheckinContext, *, recent: tuple[CheckinInput, ...] = (),
                          baseline_weight_kg: float | None = None) -> EvaluationContext:
    """What the rules know of the patient on a local date: therapies and days since them, the center's policy,
    the no-driving window (a check-in's, and device readings' measured on that date: clinical-rules §10)."""
    patient, policy = context.patient, context.policy
    courses = [c for c in context.courses if c.start_date <= day]
    therapies = tuple(
        TherapyContext(
            product=c.therapy.code,
            therapy_class=c.therapy.therapy_class,
            days_since_start=(day - c.start_date).days,
            days_since_last_dose=(day - (c.last_dose_date or c.start_date)).days,
        )
        for c in courses
    )
    days_after = context.interferon_watch_days_left(day)
    if days_after is not None and context.ended_interferon:  # §9: up to 6 months after the last dose
        therapies += (TherapyContext(product=context.ended_interferon[0], therapy_class=TherapyClass.CYTOKINE,
                                     days_since_start=days_after, days_since_last_dose=days_after),)
    started = {c.pk for c in courses}
    window_active = any(w.course_id in started and w.is_active_on(day) for w in context.driving_windows)
    cell_classes = (TherapyClass.CAR_T, TherapyClass.T_CELL_ENGAGER, TherapyClass.TCR_TIL)  # §8: as after CAR T
    return EvaluationContext(
        therapies=therapies,
        baseline_ice=patient.baseline_ice_score,
        patient_age_years=patient.age_on(day),
        received_tocilizumab_or_steroids=any(
            c.therapy.therapy_class in cell_classes and c.tocilizumab_or_steroids_on
            and c.tocilizumab_or_steroids_on <= day for c in courses
        ),
        recent=recent,
        policy=policy,
        driving_window_active=window_active,
        baseline_weight_kg=baseline_weight_kg,
    )


def _baseline_weight(checkin: CheckIn, courses: list) -> float | None:
    """clinical-rules §9 interleukin-2: the first weight reported on or after the start of the patient's
    interleukin-2 course (this check-in's own if it is the first), in kg. No query without such a course."""
    starts = [c.start_date for c in courses if c.therapy.therapy_class == TherapyClass.CYTOKINE
              and c.therapy.code not in INTERFERON_PRODUCTS]
    if not starts:
        return None
    first = (CheckIn.objects.current().filter(patient_id=checkin.patient_id, local_date__gte=min(starts),
                                              weight_kg__isnull=False)
             .order_by("recorded_at").values_list("weight_kg", flat=True).first())
    return None if first is None else float(first)


def _schedule_followups(checkin: CheckIn, context: CheckinContext, data: CheckinInput,
                        ctx: EvaluationContext) -> None:
    patient = context.patient
    if context.has_open_followups:  # known from the locking query: no query when none is open
        for pending in FollowUp.objects.filter(patient=patient, answered_by__isnull=True):
            needed = FOLLOWUP_ANSWERS.get(pending.kind, ())
            if any(getattr(checkin, name) is not None for name in needed):
                pending.answered_by = checkin
                pending.save(update_fields=["answered_by"])
    for item in followups(data, ctx):
        FollowUp.objects.get_or_create(
            patient=patient, kind=item.kind, answered_by__isnull=True,
            defaults={"due_at": checkin.recorded_at + dt.timedelta(days=item.due_in_days), "reason": item.reason,
                      "source": item.source, "created_from": checkin},
        )


@dataclass(frozen=True)
class AlertSummary:
    """An alert a check-in opened or added to, as the patient's answer names it."""

    id: str
    condition: str
    urgency: str
    status: str


@dataclass(frozen=True)
class Grade:
    """What grading a check-in found and what the patient is told (in the patient's language)."""

    urgency: Urgency
    instruction: str
    findings: list[dict[str, object]]
    alerts: tuple[AlertSummary, ...]
    day_already_logged: bool = False  # a complete check-in on the same local date came before this one


def checkin_assess(*, checkin: CheckIn, context: CheckinContext) -> Grade:
    """Evaluate the rules, record alerts and their evidence, extend windows, schedule follow-ups, store the
    assessment and return what the patient is told. Runs in the check-in's transaction, with the patient's
    row locked (`context`): one check-in graded at a time per patient, so two cannot open the same alert."""
    patient, policy = context.patient, context.policy
    data = checkin_input(checkin)
    recent = _recent(checkin, max(policy.trend_window_hours, policy.hr_persist_window_hours,
                                  24 * (policy.trend_symptom_days + 1)))
    ctx = evaluation_context(checkin, context, recent)
    findings = evaluate(data, ctx)
    now = timezone.now()
    alerts = [alert_record_finding(patient=patient, finding=f, checkin=checkin, policy=policy, now=now)
              for f in findings]
    if any(is_neurologic(f) for f in findings):
        windows_extend_for_neuro(patient=patient, checkin=checkin, policy=policy)
    dosed_courses = [c for c in context.courses if c.therapy.dose_schedule]  # T-cell engagers (§8)
    if findings and dosed_courses:
        dose_windows_after_findings(courses=dosed_courses, checkin=checkin, findings=findings)
    _schedule_followups(checkin, context, data, ctx)
    urgency = highest_urgency(findings)
    # What the patient is told: kept as message keys with the center's number, so every page shows it in the
    # reader's language (monitoring/rules_messages.py lists the messages); the text in the patient's
    # language is the API's answer and the record of what was said.
    messages = [list(m) for m in instruction_messages(findings, patient.center.phone_24_7)]
    if findings:
        with translation.override(patient.preferred_language):
            instruction = compose_instruction(findings, patient.center.phone_24_7, translate=gettext)
    else:
        instruction = _quiet_instruction(patient.preferred_language, patient.center.phone_24_7)
    finding_dicts = [f.to_dict() for f in findings]
    assessment = CheckinAssessment(
        checkin=checkin, urgency=int(urgency), findings=finding_dicts, instruction=instruction,
        instruction_messages=messages, evaluated_at=now,
    )
    insert_row(assessment)
    if alerts:
        assessment.alerts.add(*alerts)  # a new assessment: nothing to replace
    return Grade(
        urgency=urgency, instruction=instruction, findings=finding_dicts,
        alerts=tuple(AlertSummary(id=str(a.uuid), condition=a.condition, urgency=a.urgency_label, status=a.status)
                     for a in alerts),
        day_already_logged=recent.day_already_logged,
    )


@functools.lru_cache(maxsize=64)
def _quiet_instruction(language: str, phone: str) -> str:
    """The instruction for a check-in with no findings, composed once per language and center number (it
    depends on nothing else)."""
    with translation.override(language):
        return compose_instruction([], phone, translate=gettext)
