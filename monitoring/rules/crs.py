"""Cytokine release syndrome after CAR T (clinical-rules §1, fever part of §3).

Home monitoring can only flag "possible CRS, signs of at least grade N": ASTCT grades by the treatment
the patient needs, which a home check-in cannot know. Each sub-rule is one function that returns its
finding or None; ``evaluate_crs`` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .messages import Message, message, render_rationale
from .types import (
    ASTCT_CRS,
    FEVER_C,
    CheckinInput,
    EvaluationContext,
    Finding,
    RuleResult,
    Urgency,
    collect,
    flagged,
    graded_title,
    has_fever,
)

SRC_CRS = "clinical-rules §1 ASTCT CRS"
SRC_CRS_POLICY = "clinical-rules §1 ASTCT CRS (home limit is center policy)"
SRC_CRS_LATE = "clinical-rules §1 ASTCT CRS; §3 fever stays urgent (prolonged low blood counts)"
SRC_WALLET = "clinical-rules §1 wallet-card call-now list"

_I_EMERGENCY = (
    "You have a fever together with signs that your body may be reacting strongly to your cell therapy. "
    "Call 911 or go to the emergency department now. Show your wallet card and say you had CAR T-cell "
    "therapy."
)
_I_EMERGENCY_NO_FEVER = (
    "You have signs that your body may be reacting strongly to your cell therapy (after the medicines you "
    "were given for it, a fever may not show). Call 911 or go to the emergency department now. Show your "
    "wallet card and say you had CAR T-cell therapy."
)
_I_FEVER = (
    "You have a fever (38.0 °C / 100.4 °F or higher). After CAR T-cell therapy any fever needs a call to "
    "your care team right away, day or night. Do not take fever medicine before you have called."
)
_I_SIGN = (
    "Your answers show a sign that needs checking today, such as dizziness, shortness of breath, low blood "
    "pressure, low oxygen or a fast pulse. Call your care team now, day or night."
)
_I_WALLET = (
    "You reported a symptom on your wallet card's call-now list. Call your care team now, day or night, "
    "and keep your wallet card with you."
)

_POLICY_SIGNS = frozenset({"low_blood_pressure", "low_oxygen", "persistent_fast_pulse"})
_WALLET = (
    ("chills", "chills or shaking"),
    ("severe_nausea_vomiting_diarrhea", "severe nausea, vomiting or diarrhea"),
    ("fast_heartbeat", "fast or irregular heartbeat"),
    ("severe_fatigue", "severe fatigue"),
    ("severe_muscle_joint_pain", "severe muscle or joint pain"),
)


def _hours_between(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    try:
        return abs((later - earlier).total_seconds()) / 3600.0
    except TypeError:  # naive/aware mix: treat as unknown
        return None


def hr_persisting_count(checkin: CheckinInput, ctx: EvaluationContext) -> int:
    """Number of consecutive readings above the policy limit (this one first), 0 if this one is not above.

    Earlier check-ins without a heart rate are skipped; one outside the policy window ends the run. A
    check-in without a timestamp counts (conservative).
    """
    policy = ctx.policy
    limit = policy.heart_rate_max  # clinical-rules §1 heart rate > 100/min (policy)
    if checkin.heart_rate is None or checkin.heart_rate <= limit:
        return 0
    count = 1
    for earlier in ctx.recent:
        if count >= policy.hr_persist_readings:
            break
        if earlier.heart_rate is None:
            continue
        hours = _hours_between(checkin.recorded_at, earlier.recorded_at)
        if (hours is not None and hours > policy.hr_persist_window_hours) or earlier.heart_rate <= limit:
            break
        count += 1
    return count


# --- Home signs of possible grade >= 2 CRS (§1) -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sign:
    """One home sign of possible grade >= 2 CRS: rule-id suffix, what was seen (a message), evidence."""

    suffix: str
    text: Message
    evidence: dict[str, object]


def _dizziness(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "Home signs of possible grade >= 2: fever plus lightheadedness, dizziness or fainting"."""
    if not checkin.dizzy_or_fainting:
        return None
    return Sign("dizziness", message("dizziness or fainting"), {"dizzy_or_fainting": True})


def _shortness_of_breath(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "Home signs of possible grade >= 2: ... fever plus new shortness of breath"."""
    evidence, _ = flagged(checkin, ((name, name) for name in ("short_of_breath", "breathless", "breathless_at_rest")))
    if not evidence:
        return None
    return Sign("shortness_of_breath", message("new shortness of breath"), evidence)


def _low_blood_pressure(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "a home reading below the center's limits: systolic BP < 90 mmHg (policy)"."""
    systolic, limit = checkin.systolic_bp, ctx.policy.systolic_bp_min
    if systolic is None or systolic >= limit:
        return None
    text = message("systolic BP {systolic} mmHg < {limit} mmHg (center limit)", systolic=systolic, limit=limit)
    return Sign("low_blood_pressure", text, {"systolic_bp": systolic})


def _low_oxygen(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "a home reading below the center's limits: ... SpO2 < 92 % (policy)"."""
    spo2, limit = checkin.spo2, ctx.policy.spo2_min
    if spo2 is None or spo2 >= limit:
        return None
    return Sign("low_oxygen", message("SpO2 {spo2} % < {limit} % (center limit)", spo2=spo2, limit=limit),
                {"spo2": spo2})


def _on_oxygen(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "Grade 2: fever with ... hypoxia needing low-flow oxygen"."""
    if not checkin.on_oxygen:
        return None
    return Sign("on_oxygen", message("using oxygen (ASTCT grade 2 needs low-flow oxygen)"), {"on_oxygen": True})


def _persistent_fast_pulse(checkin: CheckinInput, ctx: EvaluationContext) -> Sign | None:
    """§1 "a home reading below the center's limits: ... heart rate > 100/min persisting (policy)"."""
    readings = hr_persisting_count(checkin, ctx)
    if not readings or readings < ctx.policy.hr_persist_readings:
        return None
    text = message("heart rate {heart_rate}/min > {limit}/min on {readings} consecutive readings (center limit)",
                   heart_rate=checkin.heart_rate or 0, limit=ctx.policy.heart_rate_max, readings=readings)
    return Sign("persistent_fast_pulse", text, {"heart_rate": checkin.heart_rate})


_SIGNS: tuple[Callable[[CheckinInput, EvaluationContext], Sign | None], ...] = (
    _dizziness,
    _shortness_of_breath,
    _low_blood_pressure,
    _low_oxygen,
    _on_oxygen,
    _persistent_fast_pulse,
)


def grade2_signs(checkin: CheckinInput, ctx: EvaluationContext) -> tuple[Sign, ...]:
    """Home signs of possible grade >= 2 CRS (§1), in a fixed order."""
    return tuple(sign for find in _SIGNS if (sign := find(checkin, ctx)) is not None)


# --- Sub-rules ----------------------------------------------------------------------------------------------


def crs_fever(checkin: CheckinInput, ctx: EvaluationContext, days_since_infusion: int) -> Finding | None:
    """§1 "Rules: any fever after CAR T → urgent" (fever is "at least 38.0 °C"); §3 "Long-lasting low
    blood counts after CAR T: any fever at any time stays urgent"."""
    temperature = checkin.temperature_c
    if temperature is None or not has_fever(temperature):
        return None
    peak_days = ctx.policy.crs_peak_window_days
    late = days_since_infusion > peak_days
    rationale: tuple[Message, ...] = (
        message("Temperature {temperature:.1f} °C ≥ {fever:.1f} °C on day {day} after infusion",
                temperature=temperature, fever=FEVER_C, day=days_since_infusion),
    )
    if late:
        rationale += (message("beyond the day 0-{peak_days} peak CRS window: consider infection (prolonged low "
                              "blood counts, §3)", peak_days=peak_days),)
    return Finding(
        condition="crs",
        title=graded_title("crs", 1),
        min_grade=1,
        grading_system=ASTCT_CRS,
        urgency=Urgency.URGENT,
        patient_instruction=_I_FEVER,
        staff_rationale=render_rationale(rationale),
        rule_id="crs.fever",
        source=SRC_CRS_LATE if late else SRC_CRS,
        evidence={"temperature_c": temperature, "days_since_infusion": days_since_infusion},
        rationale_messages=rationale,
    )


def _sign_finding(sign: Sign, checkin: CheckinInput, ctx: EvaluationContext) -> Finding:
    temperature = checkin.temperature_c
    evidence = sign.evidence
    if temperature is not None and has_fever(temperature):
        rule, urgency, grade, instruction = "crs.fever_with_", Urgency.EMERGENCY, 2, _I_EMERGENCY
        why = message("Temperature {temperature:.1f} °C ≥ {fever:.1f} °C with {sign}",
                      temperature=temperature, fever=FEVER_C, sign=sign.text)
        evidence = {"temperature_c": temperature, **evidence}
    elif ctx.received_tocilizumab_or_steroids:
        rule, urgency, grade, instruction = "crs.after_tocilizumab_", Urgency.EMERGENCY, 2, _I_EMERGENCY_NO_FEVER
        why = message("{sign!c} after tocilizumab or steroids (fever no longer required, §1)", sign=sign.text)
    else:
        rule, urgency, grade, instruction = "crs.sign_without_fever_", Urgency.URGENT, 0, _I_SIGN
        why = message("{sign!c} without fever: infection or evolving CRS", sign=sign.text)
    return Finding(
        condition="crs",
        title=graded_title("crs", grade) if grade else "Possible evolving CRS or infection",
        min_grade=grade or None,
        grading_system=ASTCT_CRS,
        urgency=urgency,
        patient_instruction=instruction,
        staff_rationale=render_rationale((why,)),
        rule_id=rule + sign.suffix,
        source=SRC_CRS_POLICY if sign.suffix in _POLICY_SIGNS else SRC_CRS,
        evidence=evidence,
        rationale_messages=(why,),
    )


def crs_grade2_signs(checkin: CheckinInput, ctx: EvaluationContext, days_since_infusion: int) -> RuleResult:
    """§1 "Fever plus any possible-grade-2 sign → emergency. Possible-grade-2 sign without fever → urgent
    (infection, evolving CRS)"; "After tocilizumab or steroids, fever is no longer required for CRS".
    One finding per sign."""
    return tuple(_sign_finding(sign, checkin, ctx) for sign in grade2_signs(checkin, ctx))


def crs_call_now_symptom(checkin: CheckinInput, ctx: EvaluationContext, days_since_infusion: int) -> Finding | None:
    """§1 "Chills/rigors, severe nausea/vomiting/diarrhea, fast or irregular heartbeat, severe fatigue, severe
    muscle or joint pain after CAR T → urgent (wallet-card call-now list)". A measured pulse above the center
    limit counts as a fast heartbeat."""
    evidence, labels = flagged(checkin, _WALLET)
    symptoms: tuple[str | Message, ...] = labels
    heart_rate, limit = checkin.heart_rate, ctx.policy.heart_rate_max
    if heart_rate is not None and heart_rate > limit:
        evidence["heart_rate"] = heart_rate
        symptoms += (message("heart rate {heart_rate}/min > {limit}/min", heart_rate=heart_rate, limit=limit),)
    if not symptoms:
        return None
    rationale = (message("Wallet-card call-now symptom after CAR T: {symptoms}", symptoms=symptoms),)
    return Finding(
        condition="crs",
        title="Call-now symptom after CAR T",
        min_grade=None,
        grading_system=ASTCT_CRS,
        urgency=Urgency.URGENT,
        patient_instruction=_I_WALLET,
        staff_rationale=render_rationale(rationale),
        rule_id="crs.call_now_symptom",
        source=SRC_WALLET,
        evidence=evidence,
        rationale_messages=rationale,
    )


CRS_RULES: tuple[Callable[[CheckinInput, EvaluationContext, int], RuleResult], ...] = (
    crs_fever,
    crs_grade2_signs,
    crs_call_now_symptom,
)


def evaluate_crs(checkin: CheckinInput, ctx: EvaluationContext, days_since_infusion: int) -> list[Finding]:
    """CRS findings (§1) for a patient who received CAR T, in the order of ``CRS_RULES``."""
    return collect(rule(checkin, ctx, days_since_infusion) for rule in CRS_RULES)
