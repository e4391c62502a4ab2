"""Neurotoxicity after CAR T: ICANS (clinical-rules §2) and Carvykti late neurotoxicity (§2).

Each sub-rule is one function that returns its finding or None; ``evaluate_icans`` runs them in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from .messages import message
from .types import (
    ASTCT_ICANS,
    CTCAE,
    CheckinInput,
    EvaluationContext,
    Finding,
    Outcome,
    RuleResult,
    Urgency,
    collect,
    flagged,
)

SRC_ICANS = "clinical-rules §2 ASTCT ICANS"
SRC_CAPD = "clinical-rules §2 ASTCT ICANS (CAPD, children 12 and under)"
SRC_TREMOR = "clinical-rules §2 (tremor: CTCAE, not ICANS)"
SRC_CARVYKTI = "clinical-rules §2 Carvykti late neurotoxicity"

ICE_MAX = 10  # §2: ICE 0-10, baseline 10
ICE_EMERGENCY_MAX = 6  # §2: ICE <= 6 -> emergency
CHILD_MAX_AGE = 12  # §2: children 12 and under use CAPD instead of ICE
CAPD_GRADE3 = 9  # §2: CAPD >= 9 -> grade 3; 1-8 -> grade 1-2
# §2 level of consciousness -> ICANS grade
CONSCIOUSNESS_GRADE = {
    "alert": 0,
    "drowsy_wakes_on_own": 1,
    "wakes_to_voice": 2,
    "wakes_to_touch": 3,
    "unrousable": 4,
}
_CONSCIOUSNESS_TEXT = {
    "drowsy_wakes_on_own": "drowsy, wakes on own",
    "wakes_to_voice": "wakes only to voice",
    "wakes_to_touch": "wakes only to touch",
    "unrousable": "unrousable",
}
_SYMPTOMS = (
    ("confusion", "confusion"),
    ("agitation", "agitation"),
    ("speech_trouble", "trouble speaking or understanding"),
    ("balance_loss", "loss of balance"),
)
_CARVYKTI_SIGNS = (
    ("handwriting_change", "handwriting change (smaller writing)"),
    ("slowed_movement", "slowed movement"),
    ("tremor", "tremor"),
    ("personality_change", "personality change"),
    ("coordination_loss", "loss of coordination"),
    ("facial_numbness_droop", "facial numbness or droop"),
    ("leg_numbness_weakness", "numbness or weakness in the legs"),
)

_I_EMERGENCY = (
    "These are signs of a serious reaction affecting the brain and nerves. Call 911 or go to the emergency "
    "department now. Do not drive. Tell them about the CAR T-cell therapy and show the wallet card."
)
_I_SEIZURE = (
    "A seizure, being very hard to wake, or weakness on one side of the body is an emergency. Call 911 now. "
    "Stay with the patient, lay them on their side, and put nothing in their mouth."
)
_I_URGENT = (
    "These changes in thinking, speech, alertness or balance can be an early sign of a reaction to the cell "
    "therapy. Call the care team now, day or night. Stay with the patient and do not let them drive."
)
_I_TREMOR = "A new shaking of the hands or body needs checking. Call the care team now, day or night, and do not drive."
_I_CARVYKTI = (
    "Changes in handwriting, slower movements, shaking, a change in personality, clumsiness, numbness or "
    "drooping of the face, or numbness or weakness in the legs can be late side effects of Carvykti. Call the "
    "care team now, day or night, and do not drive."
)


def ice_grade(ice: int) -> int:
    """§2 adult grade from ICE: 10 -> 0; 7-9 -> 1; 3-6 -> 2; 0-2 -> 3 (4 needs 'unrousable')."""
    if ice >= ICE_MAX:
        return 0
    if ice >= 7:
        return 1
    if ice >= 3:
        return 2
    return 3


def _part(points: int | None, maximum: int) -> int:
    """One ICE component within 0..maximum; an unanswered one counts at its maximum (the best case)."""
    return maximum if points is None else max(0, min(points, maximum))


def effective_ice(checkin: CheckinInput) -> int | None:
    """ICE score of a check-in: the caller's sum, or the components' sum.

    With only some components answered, the missing ones count at their maximum (the best case), so a low
    result is a certain drop. When both are present the lower (worse) is used.
    """
    parts = (
        (checkin.ice_orientation, 4),
        (checkin.ice_naming, 3),
        (checkin.ice_command, 1),
        (checkin.ice_writing, 1),
        (checkin.ice_counting, 1),
    )
    if all(points is None for points, _ in parts):
        return checkin.ice_score
    total = sum(_part(points, maximum) for points, maximum in parts)
    return total if checkin.ice_score is None or total < checkin.ice_score else checkin.ice_score


def _previous_ice(ctx: EvaluationContext) -> int | None:
    for earlier in ctx.recent:
        ice = effective_ice(earlier)
        if ice is not None:
            return ice
    return None


def _is_child(ctx: EvaluationContext) -> bool:
    return ctx.patient_age_years is not None and ctx.patient_age_years <= CHILD_MAX_AGE


def _icans(rule_id: str, urgency: Urgency, grade: int | None, instruction: str) -> Outcome:
    return Outcome(condition="icans", rule_id=rule_id, urgency=urgency, instruction=instruction, source=SRC_ICANS,
                   grading_system=ASTCT_ICANS, min_grade=grade)


# --- Sub-rules ----------------------------------------------------------------------------------------------


def icans_ice_screen(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "ICE <= 6 ... → emergency"; "any ICE drop from the patient's baseline ... → urgent"; a fall since
    the previous check-in counts as a drop. Adults (and unknown age); "Adult grade: ICE 7-9 → 1; 3-6 → 2;
    0-2 → 3"."""
    ice = None if _is_child(ctx) else effective_ice(checkin)
    if ice is None:
        return None
    baseline = ctx.baseline_ice if ctx.baseline_ice is not None else ICE_MAX
    previous = _previous_ice(ctx) if ctx.recent else None
    grade = ice_grade(ice)
    evidence: dict[str, object] = {"ice_score": ice, "baseline_ice": baseline}
    values: dict[str, int] = {"ice": ice, "baseline": baseline, "grade": grade}
    if previous is not None:
        evidence["previous_ice"] = previous
        values["previous"] = previous
    if ice <= ICE_EMERGENCY_MAX:
        outcome = _icans("icans.ice_6_or_less", Urgency.EMERGENCY, grade, _I_EMERGENCY)
        why = message("ICE screen {ice}/10 (baseline {baseline}) ≤ 6: ICANS grade {grade} range", **values) \
            if previous is None else \
            message("ICE screen {ice}/10 (baseline {baseline}, previous {previous}) ≤ 6: ICANS grade {grade} range",
                    **values)
    elif ice < baseline:
        outcome = _icans("icans.ice_drop", Urgency.URGENT, grade or None, _I_URGENT)
        why = message("ICE screen {ice}/10 (baseline {baseline}): drop from baseline", **values) \
            if previous is None else \
            message("ICE screen {ice}/10 (baseline {baseline}, previous {previous}): drop from baseline", **values)
    elif previous is not None and ice < previous:
        outcome = _icans("icans.ice_falling", Urgency.URGENT, grade or None, _I_URGENT)
        why = message("ICE screen {ice}/10 (baseline {baseline}, previous {previous}): falling since the previous "
                      "check-in", **values)
    else:
        return None
    return outcome.finding((why,), evidence)


def icans_capd(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "Children 12 and under: CAPD delirium score instead of ICE (1-8 → grade 1-2, >= 9 → 3)"; also
    when the age is unknown and a CAPD was entered."""
    capd = checkin.capd_score
    if capd is None or capd <= 0 or not (_is_child(ctx) or ctx.patient_age_years is None):
        return None
    if capd >= CAPD_GRADE3:
        outcome = _icans("icans.capd_9_or_more", Urgency.EMERGENCY, 3, _I_EMERGENCY)
        why = message("CAPD {capd} ≥ {limit}: ICANS grade 3 range", capd=capd, limit=CAPD_GRADE3)
    else:
        outcome = _icans("icans.capd_1_to_8", Urgency.URGENT, 1, _I_URGENT)
        why = message("CAPD {capd} (1-8): ICANS grade 1-2 range", capd=capd)
    return replace(outcome, source=SRC_CAPD).finding((why,), {"capd_score": capd})


def icans_consciousness(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "Level of consciousness: wakes spontaneously 1; wakes to voice 2; wakes only to touch 3; unrousable
    ... 4"; "drowsiness → urgent"; "wakes only to voice or worse → emergency"; "unrousable → emergency (call
    911)"."""
    level = checkin.consciousness
    grade = CONSCIOUSNESS_GRADE.get(level, 0) if level is not None else 0
    if grade >= 2:
        outcome = _icans("icans.consciousness", Urgency.EMERGENCY, grade, _I_SEIZURE if grade == 4 else _I_EMERGENCY)
        why = message("Consciousness: {level} (ICANS grade {grade})", level=(_CONSCIOUSNESS_TEXT[str(level)],),
                      grade=grade)
    elif grade == 1:
        outcome = _icans("icans.drowsiness", Urgency.URGENT, 1, _I_URGENT)
        why = message("Consciousness: drowsy, wakes on own (ICANS grade 1)")
    else:
        return None
    return outcome.finding((why,), {"consciousness": level})


def icans_seizure(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "Seizure: any seizure that resolves quickly → 3; over 5 minutes or repeated without recovery → 4";
    "Any seizure ... → emergency (call 911)"."""
    if checkin.seizure_prolonged:
        return _icans("icans.seizure_prolonged", Urgency.EMERGENCY, 4, _I_SEIZURE).finding(
            (message("Seizure over 5 minutes or repeated without recovery (ICANS grade 4)"),),
            {"seizure_prolonged": True})
    if checkin.seizure:
        return _icans("icans.seizure", Urgency.EMERGENCY, 3, _I_SEIZURE).finding(
            (message("Seizure (ICANS grade ≥ 3)"),), {"seizure": True})
    return None


def icans_focal_weakness(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "Deep focal weakness (one side or both legs) → 4"; "one-sided weakness → emergency (call 911)"."""
    if not checkin.focal_weakness:
        return None
    return _icans("icans.focal_weakness", Urgency.EMERGENCY, 4, _I_SEIZURE).finding(
        (message("Weakness of one side of the body or both legs (ICANS grade 4)"),), {"focal_weakness": True})


def icans_neuro_symptoms(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "new confusion, agitation, trouble speaking or understanding, loss of balance ... → urgent"."""
    evidence, labels = flagged(checkin, _SYMPTOMS)
    if not evidence:
        return None
    previous = ctx.recent[0] if ctx.recent else None
    if previous is not None and any(getattr(previous, name) for name in evidence):
        why = message("New neurological symptoms: {symptoms} (some also reported in the previous check-in)",
                      symptoms=labels)
    else:
        why = message("New neurological symptoms: {symptoms}", symptoms=labels)
    outcome = replace(_icans("icans.neuro_symptom", Urgency.URGENT, None, _I_URGENT),
                      title="Possible ICANS: new neurological symptoms")
    return outcome.finding((why,), evidence)


def icans_tremor(checkin: CheckinInput, ctx: EvaluationContext) -> Finding | None:
    """§2 "new tremor ... → urgent"; "Tremor and myoclonus are graded by CTCAE, not ICANS"."""
    if not checkin.tremor:
        return None
    outcome = Outcome(condition="icans", rule_id="icans.tremor", urgency=Urgency.URGENT, instruction=_I_TREMOR,
                      source=SRC_TREMOR, grading_system=CTCAE, title="New tremor after CAR T")
    return outcome.finding((message("New tremor (graded by CTCAE, not ICANS)"),), {"tremor": True})


ICANS_RULES: tuple[Callable[[CheckinInput, EvaluationContext], RuleResult], ...] = (
    icans_ice_screen,
    icans_capd,
    icans_consciousness,
    icans_seizure,
    icans_focal_weakness,
    icans_neuro_symptoms,
    icans_tremor,
)


def evaluate_icans(checkin: CheckinInput, ctx: EvaluationContext) -> list[Finding]:
    """ICANS findings (§2) for a patient who received CAR T, in the order of ``ICANS_RULES``."""
    return collect(rule(checkin, ctx) for rule in ICANS_RULES)


def evaluate_carvykti_late(checkin: CheckinInput, ctx: EvaluationContext, days_since_infusion: int) -> Finding | None:
    """§2 Carvykti late neurotoxicity: "through day 100, ask weekly about handwriting change (smaller
    writing), slowed movement, tremor, personality change, loss of coordination, facial numbness or droop,
    numbness or weakness in legs → any new finding urgent" (day 100 is a center setting)."""
    evidence, labels = flagged(checkin, _CARVYKTI_SIGNS)
    limit = ctx.policy.carvykti_late_neuro_days
    if not evidence or days_since_infusion > limit:
        return None
    evidence["days_since_infusion"] = days_since_infusion
    why = message("Carvykti day {day} (≤ day {limit}): {signs} (boxed warning: parkinsonism, Guillain-Barré "
                  "syndrome, cranial nerve palsy)", day=days_since_infusion, limit=limit, signs=labels)
    outcome = Outcome(condition="carvykti_late_neuro", rule_id="carvykti.late_neuro_sign", urgency=Urgency.URGENT,
                      instruction=_I_CARVYKTI, source=SRC_CARVYKTI, grading_system=CTCAE)
    return outcome.finding((why,), evidence)
