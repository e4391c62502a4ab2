"""Grade a stored check-in inside its transaction: findings → alerts, windows, follow-ups, and what the
patient is told. Connected to tracker.signals.checkin_recorded."""

import datetime as dt

from django.utils import timezone, translation
from django.utils.translation import gettext

from monitoring.models import CheckinAssessment, FollowUp
from monitoring.rules import (
    CheckinInput,
    EvaluationContext,
    TherapyContext,
    evaluate,
    followups,
    highest_urgency,
    instruction_messages,
)
from monitoring.rules import patient_instruction as compose_instruction
from monitoring.rules.driving import is_neurologic
from monitoring.selectors import driving_windows, policy_for_center
from monitoring.services.alerts import alert_record_finding
from monitoring.services.windows import windows_extend_for_neuro
from tracker.models import CheckIn, Patient
from tracker.models.therapies import TherapyClass
from tracker.questions import WHOLE_NUMBER_FIELDS, YES_NO_FIELDS
from tracker.selectors import active_courses, patient_for_checkin

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


INPUT_FIELDS = ("recorded_at", "temperature_c", "consciousness", "abdominal_pain", *YES_NO_FIELDS, *NUMERIC_FIELDS)


def _input_from(values: dict) -> CheckinInput:
    return CheckinInput(
        **{name: values[name] for name in ("recorded_at", *YES_NO_FIELDS, *NUMERIC_FIELDS)},
        temperature_c=None if values["temperature_c"] is None else float(values["temperature_c"]),
        consciousness=values["consciousness"] or None,
        abdominal_pain=values["abdominal_pain"] or None,
    )


def checkin_input(checkin: CheckIn) -> CheckinInput:
    return _input_from({name: getattr(checkin, name) for name in INPUT_FIELDS})


def _recent(checkin: CheckIn, hours: int) -> tuple[CheckinInput, ...]:
    rows = (
        CheckIn.objects.current().filter(patient_id=checkin.patient_id, recorded_at__lte=checkin.recorded_at,
                               recorded_at__gte=checkin.recorded_at - dt.timedelta(hours=hours))
        .exclude(pk=checkin.pk)
        .exclude(pk=checkin.amends_id or 0)
        .order_by("-recorded_at")
        .values(*INPUT_FIELDS)[:RECENT_LIMIT]
    )
    return tuple(_input_from(row) for row in rows)


def evaluation_context(checkin: CheckIn, patient: Patient, policy) -> EvaluationContext:
    day = checkin.local_date
    courses = [c for c in active_courses(patient) if c.start_date <= day]
    therapies = tuple(
        TherapyContext(
            product=c.therapy.code,
            therapy_class=c.therapy.therapy_class,
            days_since_start=(day - c.start_date).days,
            days_since_last_dose=(day - (c.last_dose_date or c.start_date)).days,
        )
        for c in courses
    )
    started = {c.pk for c in courses}
    window_active = any(w.course_id in started and w.is_active_on(day) for w in driving_windows(patient))
    hours = max(policy.trend_window_hours, policy.hr_persist_window_hours, 24 * (policy.trend_symptom_days + 1))
    return EvaluationContext(
        therapies=therapies,
        baseline_ice=patient.baseline_ice_score,
        patient_age_years=patient.age_on(day),
        received_tocilizumab_or_steroids=any(
            c.therapy.therapy_class == TherapyClass.CAR_T and c.tocilizumab_or_steroids_on
            and c.tocilizumab_or_steroids_on <= day for c in courses
        ),
        recent=_recent(checkin, hours),
        policy=policy,
        driving_window_active=window_active,
    )


def _schedule_followups(checkin: CheckIn, patient: Patient, data: CheckinInput, ctx: EvaluationContext) -> None:
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


def checkin_assess(*, checkin: CheckIn) -> dict:
    """Evaluate the rules, record alerts and their evidence, extend windows, schedule follow-ups, and
    return what the patient is told. Runs in the check-in's transaction."""
    # One assessment per patient at a time: concurrent check-ins cannot open duplicate alerts. The records
    # layer sends the check-in with its patient locked; anything else locks it here.
    patient = checkin.patient
    if not getattr(patient, "locked_for_checkin", False):
        patient = patient_for_checkin(checkin.patient_id)
    policy = policy_for_center(patient.center)
    data = checkin_input(checkin)
    ctx = evaluation_context(checkin, patient, policy)
    findings = evaluate(data, ctx)
    now = timezone.now()
    alerts = [alert_record_finding(patient=patient, finding=f, checkin=checkin, policy=policy, now=now)
              for f in findings]
    if any(is_neurologic(f) for f in findings):
        windows_extend_for_neuro(patient=patient, checkin=checkin, policy=policy)
    _schedule_followups(checkin, patient, data, ctx)
    urgency = highest_urgency(findings)
    # What the patient is told: kept as message keys with the center's number, so every page shows it in the
    # reader's language (monitoring/rules_messages.py lists the messages); the text in the patient's
    # language is the API's answer and the record of what was said.
    messages = [list(m) for m in instruction_messages(findings, patient.center.phone_24_7)]
    with translation.override(patient.preferred_language):
        instruction = compose_instruction(findings, patient.center.phone_24_7, translate=gettext)
    assessment = CheckinAssessment.objects.create(
        checkin=checkin, urgency=int(urgency), findings=[f.to_dict() for f in findings], instruction=instruction,
        instruction_messages=messages, evaluated_at=now,
    )
    if alerts:
        assessment.alerts.add(*alerts)  # a new assessment: nothing to replace
    return {
        "urgency": urgency.label,
        "instruction": instruction,
        "findings": assessment.findings,
        "alerts": [{"id": str(a.uuid), "condition": a.condition, "urgency": a.urgency_label, "status": a.status}
                   for a in alerts],
    }
