"""Immune checkpoint inhibitor side effects (clinical-rules §4, CTCAE v5 grades and guideline actions).

Each sub-rule is one function that returns its finding or None; ``evaluate_irae`` runs them in order. Every
rationale ends with the guideline context of §4 ("the tracker never changes therapy")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .messages import NOTE, Message, message
from .types import (
    CTCAE,
    FEVER_C,
    CheckinInput,
    EvaluationContext,
    Finding,
    Outcome,
    RuleResult,
    Urgency,
    collect,
    flagged,
    has_fever,
)

SRC_DIARRHEA = "clinical-rules §4 CTCAE v5 diarrhea/colitis"
SRC_RASH = "clinical-rules §4 CTCAE v5 rash"
SRC_LUNG = "clinical-rules §4 pneumonitis"
SRC_LUNG_POLICY = "clinical-rules §4 pneumonitis (SpO2 limit is center policy)"
SRC_LIVER = "clinical-rules §4 liver"
SRC_HORMONE = "clinical-rules §4 hormones"
SRC_HEART = "clinical-rules §4 myocarditis/myositis"
SRC_HEART_POLICY = "clinical-rules §4 myocarditis/myositis (heart-rate limit is center policy, §1)"
SRC_FEVER = "clinical-rules §4 fever"
SRC_INFUSION = "clinical-rules §4 infusion reaction"

# §4 guideline actions by grade (NCCN/SITC/ASCO); context for staff only: the tracker never changes therapy.
GUIDELINE_ACTION = {
    1: "continue and watch",
    2: "hold, steroids",
    3: "hold, high-dose steroids",
    4: "stop",
}

# §4 CTCAE v5 diarrhea: stools per day above usual < 4 -> 1; 4-6 -> 2; >= 7 -> 3.
STOOLS_GRADE2 = 4
STOOLS_GRADE3 = 7
# §4 CTCAE v5 rash by body surface area: < 10 % -> 1; 10-30 % -> 2; > 30 % -> 3.
RASH_GRADE2 = 10
RASH_GRADE3_ABOVE = 30
# §4 infusion reaction: during or within a day of an infusion.
INFUSION_REACTION_DAYS = 1

_URGENCY_BY_GRADE = (Urgency.NONE, Urgency.ROUTINE, Urgency.SAME_DAY, Urgency.URGENT, Urgency.URGENT)

_I_DIARRHEA = {
    Urgency.ROUTINE: "Thank you. Drink plenty of fluids. We will ask about your bowel movements again in a few "
    "days; call your care team if you have more stools, blood in them, or belly pain.",
    Urgency.SAME_DAY: "Your care team needs to know about this diarrhea today; they will call you. Drink "
    "plenty of fluids. Do not take anti-diarrhea medicine unless your team tells you to.",
    Urgency.URGENT: "This much diarrhea or belly pain needs attention now. Call your care team now, day or "
    "night. Drink fluids while you wait.",
}
_I_RASH = {
    Urgency.ROUTINE: "Thank you. Keep your skin moisturised and out of the sun. Tell your care team if the "
    "rash spreads.",
    Urgency.SAME_DAY: "A rash this size needs a look today; your care team will call you. Call sooner if it "
    "spreads or blisters.",
    Urgency.URGENT: "A large rash, blisters, peeling skin, or sores in the mouth or eyes can be serious. Call "
    "your care team now, day or night.",
}
_I_LUNG_SAME_DAY = (
    "A new or worse cough or shortness of breath needs checking today; your care team will call you. If you "
    "become breathless at rest or get chest pain, call 911."
)
_I_LUNG_EMERGENCY = (
    "Breathlessness at rest, chest pain or a low oxygen reading can be serious. Call 911 or go to the "
    "emergency department now."
)
_I_LIVER = (
    "Yellow skin or eyes, dark urine, pain on the right side of the belly or easy bruising need checking "
    "today; your care team will call you."
)
_I_HORMONE_SAME_DAY = (
    "A bad headache, changes in your vision, extreme tiredness, dizziness or strong thirst can come from the "
    "treatment affecting your hormones. Your care team will call you today."
)
_I_HORMONE_URGENT = "Confusion or fainting needs attention now. Call your care team now, day or night. Do not drive."
_I_HEART = (
    "A racing heart, chest pain or new muscle weakness can be a rare but serious side effect of your "
    "treatment. Call your care team now, day or night."
)
_I_FEVER = "You have a fever (38.0 °C / 100.4 °F or higher). Call your care team now, day or night."
_I_INFUSION = (
    "These symptoms so soon after your infusion may be a reaction to it. Call your care team now, day or night."
)
_I_INFUSION_EMERGENCY = (
    "Trouble breathing after your infusion is an emergency. Call 911 or go to the emergency department now."
)


def diarrhea_grade(checkin: CheckinInput) -> tuple[int, Urgency]:
    """§4 diarrhea/colitis: (minimum CTCAE grade, urgency). (0, NONE) when nothing is reported."""
    grade = 0
    stools = checkin.extra_stools
    if stools is not None and stools > 0:
        grade = 1 if stools < STOOLS_GRADE2 else 2 if stools < STOOLS_GRADE3 else 3
    if checkin.diarrhea_limits_selfcare:
        grade = 3
    pain = checkin.abdominal_pain
    if (checkin.stool_blood_mucus or pain == "mild" or pain == "severe") and grade < 2:
        grade = 2  # §4 colitis signs -> at least grade 2
    urgency = _URGENCY_BY_GRADE[grade]
    if pain == "severe":
        urgency = Urgency.URGENT  # §4 severe pain -> urgent
    return grade, urgency


def _rash_grade(percent: int | None) -> int:
    if percent is None or percent <= 0:
        return 0
    if percent < RASH_GRADE2:
        return 1
    if percent <= RASH_GRADE3_ABOVE:
        return 2
    return 3


def _with_guideline(why: tuple[Message, ...], grade: int | None) -> tuple[Message, ...]:
    """§4 "Guideline actions by grade (NCCN/SITC/ASCO): 1 continue and watch; 2 hold, steroids; 3 hold,
    high-dose steroids; 4 stop. Staff see this as context next to the alert; the tracker never changes
    therapy." The action of the grade, or all of them when the grade is unknown."""
    if grade:
        guideline = message("Guideline context (§4 NCCN/SITC/ASCO) at grade {grade}: {action}. The tracker never "
                            "changes therapy.", grade=grade, action=(GUIDELINE_ACTION[grade],))
    else:
        guideline = message("Guideline context (§4 NCCN/SITC/ASCO): grade 1 continue and watch; 2 hold, steroids; "
                            "3 hold, high-dose steroids; 4 stop. The tracker never changes therapy.")
    return (*why, (NOTE, {}), guideline)


@dataclass(frozen=True, slots=True)
class CheckpointSituation:
    """What the checkpoint rules need beyond the check-in: whether CAR T rules already own the fever, and
    whether the check-in falls within a day of an infusion (§4 infusion reaction)."""

    car_t: bool
    infusion_window: bool


# --- Sub-rules ----------------------------------------------------------------------------------------------

_PAIN_LABELS = {"mild": "mild abdominal pain", "severe": "severe abdominal pain"}
_DIARRHEA_SIGNS = (
    ("diarrhea_limits_selfcare", "incontinence or limits self-care"),
    ("stool_blood_mucus", "blood or mucus in stool"),
)


def irae_diarrhea_colitis(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation,
                          ) -> Finding | None:
    """§4 "Diarrhea (stools per day above the patient's usual): < 4 → grade 1; 4-6 → 2; >= 7, incontinence,
    or limits self-care → 3. Colitis signs: abdominal pain, blood or mucus in stool → at least grade 2.
    Rules: grade 1 → routine ...; grade 2 or blood/mucus/abdominal pain → same-day ...; grade 3 or severe
    pain → urgent"."""
    grade, urgency = diarrhea_grade(checkin)
    if not grade:
        return None
    evidence: dict[str, object] = {}
    signs: list[str | Message] = []
    if checkin.extra_stools:
        evidence["extra_stools"] = checkin.extra_stools
        signs.append(message("{stools} stools/day above usual", stools=checkin.extra_stools))
    flagged_evidence, labels = flagged(checkin, _DIARRHEA_SIGNS)
    evidence.update(flagged_evidence)
    signs.extend(labels)
    pain = checkin.abdominal_pain
    if pain in _PAIN_LABELS:
        evidence["abdominal_pain"] = pain
        signs.append(_PAIN_LABELS[str(pain)])
    why = message("Diarrhea/colitis: {signs} (CTCAE grade ≥ {grade})", signs=tuple(signs), grade=grade)
    outcome = Outcome(condition="diarrhea_colitis", rule_id="irae.diarrhea_colitis", urgency=urgency,
                      instruction=_I_DIARRHEA[urgency], source=SRC_DIARRHEA, grading_system=CTCAE, min_grade=grade)
    return outcome.finding(_with_guideline((why,), grade), evidence)


def irae_rash(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation) -> Finding | None:
    """§4 "Rash by body surface area ...: < 10 % → 1; 10-30 % → 2; > 30 % → 3. Blisters, peeling, mouth or
    eye sores → urgent (possible severe skin reaction). Rules: grade 1 routine; grade 2 same-day; grade 3
    urgent"."""
    percent, blisters = checkin.rash_percent, bool(checkin.rash_blisters_or_sores)
    grade = _rash_grade(percent)
    if not grade and not blisters:
        return None
    evidence: dict[str, object] = {}
    if grade:
        evidence["rash_percent"] = percent
    if blisters:
        evidence["rash_blisters_or_sores"] = True
    urgency = Urgency.URGENT if blisters else _URGENCY_BY_GRADE[grade]
    if grade and blisters:
        why = message("Rash: rash on {percent} of body surface (CTCAE grade {grade}); blisters, peeling, mouth or "
                      "eye sores: possible severe skin reaction", percent=f"{percent} %", grade=grade)
    elif grade:
        why = message("Rash: rash on {percent} of body surface (CTCAE grade {grade})", percent=f"{percent} %",
                      grade=grade)
    else:
        why = message("Rash: blisters, peeling, mouth or eye sores: possible severe skin reaction")
    outcome = Outcome(condition="rash", rule_id="irae.rash_blisters" if blisters else "irae.rash", urgency=urgency,
                      instruction=_I_RASH[urgency], source=SRC_RASH, grading_system=CTCAE, min_grade=grade or None)
    return outcome.finding(_with_guideline((why,), grade), evidence)


_LUNG_EMERGENCY_SIGNS = (("breathless_at_rest", "breathless at rest"), ("chest_pain", "chest pain"))
_LUNG_SIGNS = (("cough", "cough"), ("breathless", "breathless"), ("short_of_breath", "short of breath"))


def irae_pneumonitis(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation,
                     ) -> Finding | None:
    """§4 "Lungs (pneumonitis): new or worse cough, or shortness of breath → same-day; breathless at rest,
    chest pain, SpO2 < 92 % (policy) → emergency"."""
    spo2, limit = checkin.spo2, ctx.policy.spo2_min
    evidence, labels = flagged(checkin, _LUNG_EMERGENCY_SIGNS)
    signs: tuple[str | Message, ...] = labels
    if spo2 is not None and spo2 < limit:
        evidence["spo2"] = spo2
        signs += (message("SpO2 {spo2} % < {limit} % (center limit)", spo2=spo2, limit=limit),)
    if evidence:
        outcome = Outcome(condition="pneumonitis", rule_id="irae.pneumonitis_emergency", urgency=Urgency.EMERGENCY,
                          instruction=_I_LUNG_EMERGENCY, source=SRC_LUNG_POLICY if "spo2" in evidence else SRC_LUNG,
                          grading_system=CTCAE)
    else:
        evidence, signs = flagged(checkin, _LUNG_SIGNS)
        if not evidence:
            return None
        outcome = Outcome(condition="pneumonitis", rule_id="irae.pneumonitis", urgency=Urgency.SAME_DAY,
                          instruction=_I_LUNG_SAME_DAY, source=SRC_LUNG, grading_system=CTCAE)
    return outcome.finding(_with_guideline((message("Lungs: {signs}", signs=signs),), None), evidence)


_LIVER_SIGNS = (
    ("yellow_skin_or_dark_urine", "yellow skin or dark urine"),
    ("right_belly_pain", "right belly pain"),
    ("easy_bruising", "easy bruising"),
)


def irae_liver(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation) -> Finding | None:
    """§4 "Liver: yellow skin or eyes, dark urine, right-sided belly pain, easy bruising → same-day"."""
    evidence, labels = flagged(checkin, _LIVER_SIGNS)
    if not evidence:
        return None
    outcome = Outcome(condition="hepatitis", rule_id="irae.liver", urgency=Urgency.SAME_DAY, instruction=_I_LIVER,
                      source=SRC_LIVER, grading_system=CTCAE)
    return outcome.finding(_with_guideline((message("Liver signs: {signs}", signs=labels),), None), evidence)


_HORMONE_SIGNS = (
    ("severe_headache", "severe headache"),
    ("vision_change", "vision change"),
    ("severe_fatigue", "severe fatigue"),
    ("dizzy_or_fainting", "dizzy or fainting"),
    ("extreme_thirst_urination", "extreme thirst urination"),
    ("confusion", "confusion"),
)


def irae_endocrine(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation) -> Finding | None:
    """§4 "Hormones ...: severe or unusual headache, vision changes, extreme fatigue, dizziness or fainting,
    extreme thirst or urination → same-day; with confusion or fainting → urgent". The check-in's
    dizzy_or_fainting cannot tell dizziness from fainting, so it counts as fainting (conservative)."""
    evidence, labels = flagged(checkin, _HORMONE_SIGNS)
    if not evidence:
        return None
    why: tuple[Message, ...] = (message("Hormone signs: {signs}", signs=labels),)
    if checkin.confusion or checkin.dizzy_or_fainting:
        why += (message("confusion or fainting present"),)
        outcome = Outcome(condition="endocrine", rule_id="irae.endocrine_urgent", urgency=Urgency.URGENT,
                          instruction=_I_HORMONE_URGENT, source=SRC_HORMONE, grading_system=CTCAE)
    else:
        outcome = Outcome(condition="endocrine", rule_id="irae.endocrine", urgency=Urgency.SAME_DAY,
                          instruction=_I_HORMONE_SAME_DAY, source=SRC_HORMONE, grading_system=CTCAE)
    return outcome.finding(_with_guideline(why, None), evidence)


_HEART_SIGNS = (("fast_heartbeat", "fast heartbeat"), ("chest_pain", "chest pain"), ("muscle_weakness", "muscle weakness"))


def irae_heart_muscle(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation,
                      ) -> Finding | None:
    """§4 "heart racing, chest pain, muscle weakness (myocarditis, myositis) → urgent". A measured pulse above
    the center limit (§1 policy) counts as heart racing."""
    evidence, labels = flagged(checkin, _HEART_SIGNS)
    signs: tuple[str | Message, ...] = labels
    heart_rate, limit = checkin.heart_rate, ctx.policy.heart_rate_max
    fast = heart_rate is not None and heart_rate > limit
    if fast:
        evidence["heart_rate"] = heart_rate
        signs += (message("heart rate {heart_rate}/min > {limit}/min (center limit)", heart_rate=heart_rate or 0,
                          limit=limit),)
    if not evidence:
        return None
    outcome = Outcome(condition="myocarditis_myositis", rule_id="irae.heart_muscle", urgency=Urgency.URGENT,
                      instruction=_I_HEART, source=SRC_HEART_POLICY if fast else SRC_HEART, grading_system=CTCAE)
    return outcome.finding(_with_guideline((message("Heart/muscle: {signs}", signs=signs),), None), evidence)


def irae_fever(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation) -> Finding | None:
    """§4 "Fever >= 38.0 °C once ... → urgent". After CAR T the CRS rules own the fever (§1)."""
    temperature = checkin.temperature_c
    if situation.car_t or temperature is None or not has_fever(temperature):
        return None
    why = message("Temperature {temperature:.1f} °C ≥ {fever:.1f} °C on a checkpoint inhibitor",
                  temperature=temperature, fever=FEVER_C)
    outcome = Outcome(condition="fever", rule_id="irae.fever", urgency=Urgency.URGENT, instruction=_I_FEVER,
                      source=SRC_FEVER, grading_system=CTCAE)
    return outcome.finding(_with_guideline((why,), None), {"temperature_c": temperature})


_INFUSION_SIGNS = (
    ("chills", "chills"),
    ("flushing_itching", "flushing itching"),
    ("rash_blisters_or_sores", "rash blisters or sores"),
    ("dizzy_or_fainting", "dizzy or fainting"),
    ("wheezing", "wheezing"),
    ("breathless", "breathless"),
    ("short_of_breath", "short of breath"),
    ("breathless_at_rest", "breathless at rest"),
)


def infusion_reaction(checkin: CheckinInput, *, rule_id: str, source: str, with_guideline: bool = False,
                      ) -> Finding | None:
    """§4 "Infusion reaction during or within a day of an infusion (fever, chills, flushing, rash, itching,
    dizziness, wheezing, trouble breathing) → urgent; trouble breathing → emergency". The caller has checked
    that an infusion was within a day; the §9 antibodies and sipuleucel-T use it as well (profiles.py)."""
    evidence: dict[str, object] = {}
    signs: list[str | Message] = []
    temperature = checkin.temperature_c
    if temperature is not None and has_fever(temperature):
        evidence["temperature_c"] = temperature
        signs.append(message("temperature c {value}", value=temperature))
    flagged_evidence, labels = flagged(checkin, _INFUSION_SIGNS)
    evidence.update(flagged_evidence)
    signs.extend(labels)
    percent = checkin.rash_percent
    if percent is not None and percent > 0:
        evidence["rash_percent"] = percent
        signs.append(message("rash percent {value}", value=percent))
    if not evidence:
        return None
    if checkin.breathless_at_rest:  # trouble breathing -> emergency
        outcome = Outcome(condition="infusion_reaction", rule_id=rule_id + "_breathing", urgency=Urgency.EMERGENCY,
                          instruction=_I_INFUSION_EMERGENCY, source=source, grading_system=CTCAE)
    else:
        outcome = Outcome(condition="infusion_reaction", rule_id=rule_id, urgency=Urgency.URGENT,
                          instruction=_I_INFUSION, source=source, grading_system=CTCAE)
    why = (message("Within a day of an infusion: {signs}", signs=tuple(signs)),)
    return outcome.finding(_with_guideline(why, None) if with_guideline else why, evidence)


def irae_infusion_reaction(checkin: CheckinInput, ctx: EvaluationContext, situation: CheckpointSituation,
                           ) -> Finding | None:
    """§4 infusion reaction, for a checkpoint inhibitor given within a day (`infusion_reaction`)."""
    if not situation.infusion_window:
        return None
    return infusion_reaction(checkin, rule_id="irae.infusion_reaction", source=SRC_INFUSION, with_guideline=True)


IRAE_RULES: tuple[Callable[[CheckinInput, EvaluationContext, CheckpointSituation], RuleResult], ...] = (
    irae_diarrhea_colitis,
    irae_rash,
    irae_pneumonitis,
    irae_liver,
    irae_endocrine,
    irae_heart_muscle,
    irae_fever,
    irae_infusion_reaction,
)


def evaluate_irae(checkin: CheckinInput, ctx: EvaluationContext, *, car_t: bool, infusion_window: bool,
                  ) -> list[Finding]:
    """Checkpoint-inhibitor findings (§4), in the order of ``IRAE_RULES``. ``car_t``: CRS rules already cover
    fever; ``infusion_window``: within a day of an infusion."""
    situation = CheckpointSituation(car_t=car_t, infusion_window=infusion_window)
    return collect(rule(checkin, ctx, situation) for rule in IRAE_RULES)
