"""Neurotoxicity after CAR T: ICANS (clinical-rules §2) and Carvykti late neurotoxicity (§2)."""

from __future__ import annotations

from .types import (
    ASTCT_ICANS,
    CTCAE,
    CheckinInput,
    EvaluationContext,
    Finding,
    Urgency,
    graded_title,
)

SRC_ICANS = "clinical-rules §2 ASTCT ICANS"
SRC_CAPD = "clinical-rules §2 ASTCT ICANS (CAPD, children 12 and under)"
SRC_TREMOR = "clinical-rules §2 (tremor: CTCAE, not ICANS)"
SRC_CARVYKTI = "clinical-rules §2 Carvykti late neurotoxicity"

ICE_MAX = 10  # §2: ICE 0-10, baseline 10
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


def ice_grade(ice: int) -> int:
    """§2 adult grade from ICE: 10 -> 0; 7-9 -> 1; 3-6 -> 2; 0-2 -> 3 (4 needs 'unrousable')."""
    if ice >= ICE_MAX:
        return 0
    if ice >= 7:
        return 1
    if ice >= 3:
        return 2
    return 3


def effective_ice(c: CheckinInput) -> int | None:
    """ICE score of a check-in: the caller's sum, or the components' sum.

    With only some components answered, the missing ones count at their maximum (the best case), so a low
    result is a certain drop. When both are present the lower (worse) is used.
    """
    o, n, cm, w, ct = c.ice_orientation, c.ice_naming, c.ice_command, c.ice_writing, c.ice_counting
    s = c.ice_score
    if o is None and n is None and cm is None and w is None and ct is None:
        return s
    total = (
        (4 if o is None else max(0, min(o, 4)))
        + (3 if n is None else max(0, min(n, 3)))
        + (1 if cm is None else max(0, min(cm, 1)))
        + (1 if w is None else max(0, min(w, 1)))
        + (1 if ct is None else max(0, min(ct, 1)))
    )
    return total if s is None or total < s else s


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


def _f(
    rule: str,
    urgency: Urgency,
    grade: int | None,
    instr: str,
    why: str,
    ev: dict,
    src: str = SRC_ICANS,
    system: str = ASTCT_ICANS,
    title: str | None = None,
) -> Finding:
    return Finding(
        condition="icans",
        title=title or graded_title("icans", grade),
        min_grade=grade,
        grading_system=system,
        urgency=urgency,
        patient_instruction=instr,
        staff_rationale=why,
        rule_id=rule,
        source=src,
        evidence=ev,
    )


def _previous_ice(ctx: EvaluationContext) -> int | None:
    for r in ctx.recent:
        v = effective_ice(r)
        if v is not None:
            return v
    return None


def evaluate_icans(checkin: CheckinInput, ctx: EvaluationContext, out: list) -> None:
    """Append ICANS findings (§2) for a patient who received CAR T."""
    c = checkin
    age = ctx.patient_age_years
    child = age is not None and age <= CHILD_MAX_AGE

    # ICE screen (adults; also when age unknown).
    if not child:
        ice = effective_ice(c)
        if ice is not None:
            baseline = ctx.baseline_ice if ctx.baseline_ice is not None else ICE_MAX
            prev = _previous_ice(ctx) if ctx.recent else None
            g = ice_grade(ice)
            detail = f"ICE screen {ice}/10 (baseline {baseline}"
            detail += f", previous {prev})" if prev is not None else ")"
            ev = {"ice_score": ice, "baseline_ice": baseline}
            if prev is not None:
                ev["previous_ice"] = prev
            if ice <= 6:  # §2: ICE <= 6 -> emergency
                out.append(
                    _f(
                        "icans.ice_6_or_less",
                        Urgency.EMERGENCY,
                        g,
                        _I_EMERGENCY,
                        detail + f" ≤ 6: ICANS grade {g} range",
                        ev,
                    )
                )
            elif ice < baseline:  # §2: any ICE drop from baseline -> urgent
                out.append(
                    _f("icans.ice_drop", Urgency.URGENT, g or None, _I_URGENT, detail + ": drop from baseline", ev)
                )
            elif prev is not None and ice < prev:  # §2: ICE falling across check-ins
                out.append(
                    _f(
                        "icans.ice_falling",
                        Urgency.URGENT,
                        g or None,
                        _I_URGENT,
                        detail + ": falling since the previous check-in",
                        ev,
                    )
                )

    # CAPD for children 12 and under (§2); also applied when the age is unknown and a CAPD was entered.
    capd = c.capd_score
    if capd is not None and capd > 0 and (child or age is None):
        if capd >= CAPD_GRADE3:
            out.append(
                _f(
                    "icans.capd_9_or_more",
                    Urgency.EMERGENCY,
                    3,
                    _I_EMERGENCY,
                    f"CAPD {capd} ≥ {CAPD_GRADE3}: ICANS grade 3 range",
                    {"capd_score": capd},
                    SRC_CAPD,
                )
            )
        else:
            out.append(
                _f(
                    "icans.capd_1_to_8",
                    Urgency.URGENT,
                    1,
                    _I_URGENT,
                    f"CAPD {capd} (1-8): ICANS grade 1-2 range",
                    {"capd_score": capd},
                    SRC_CAPD,
                )
            )

    # Level of consciousness (§2).
    lc = c.consciousness
    if lc is not None:
        g = CONSCIOUSNESS_GRADE.get(lc, 0)
        if g >= 2:  # §2: wakes only to voice or worse -> emergency; unrousable -> call 911
            out.append(
                _f(
                    "icans.consciousness",
                    Urgency.EMERGENCY,
                    g,
                    _I_SEIZURE if g == 4 else _I_EMERGENCY,
                    f"Consciousness: {_CONSCIOUSNESS_TEXT[lc]} (ICANS grade {g})",
                    {"consciousness": lc},
                )
            )
        elif g == 1:  # §2: drowsiness -> urgent
            out.append(
                _f(
                    "icans.drowsiness",
                    Urgency.URGENT,
                    1,
                    _I_URGENT,
                    "Consciousness: drowsy, wakes on own (ICANS grade 1)",
                    {"consciousness": lc},
                )
            )

    # Seizure (§2): resolves quickly -> 3; over 5 minutes or repeated -> 4. Emergency.
    if c.seizure_prolonged:
        out.append(
            _f(
                "icans.seizure_prolonged",
                Urgency.EMERGENCY,
                4,
                _I_SEIZURE,
                "Seizure over 5 minutes or repeated without recovery (ICANS grade 4)",
                {"seizure_prolonged": True},
            )
        )
    elif c.seizure:
        out.append(
            _f("icans.seizure", Urgency.EMERGENCY, 3, _I_SEIZURE, "Seizure (ICANS grade ≥ 3)", {"seizure": True})
        )

    # Deep focal weakness (§2) -> grade 4, emergency.
    if c.focal_weakness:
        out.append(
            _f(
                "icans.focal_weakness",
                Urgency.EMERGENCY,
                4,
                _I_SEIZURE,
                "Weakness of one side of the body or both legs (ICANS grade 4)",
                {"focal_weakness": True},
            )
        )

    # New confusion, agitation, trouble speaking or understanding, loss of balance (§2) -> urgent.
    if c.confusion or c.agitation or c.speech_trouble or c.balance_loss:
        ev = {}
        names = []
        for key, label in _SYMPTOMS:
            if getattr(c, key):
                ev[key] = True
                names.append(label)
        prev = ctx.recent[0] if ctx.recent else None
        why = "New neurological symptoms: " + ", ".join(names)
        if prev is not None and any(getattr(prev, k) for k in ev):
            why += " (some also reported in the previous check-in)"
        out.append(
            _f(
                "icans.neuro_symptom",
                Urgency.URGENT,
                None,
                _I_URGENT,
                why,
                ev,
                title="Possible ICANS: new neurological symptoms",
            )
        )

    # New tremor (§2) -> urgent; graded by CTCAE, not ICANS.
    if c.tremor:
        out.append(
            _f(
                "icans.tremor",
                Urgency.URGENT,
                None,
                _I_TREMOR,
                "New tremor (graded by CTCAE, not ICANS)",
                {"tremor": True},
                SRC_TREMOR,
                CTCAE,
                title="New tremor after CAR T",
            )
        )


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


def evaluate_carvykti_late(checkin: CheckinInput, ctx: EvaluationContext, out: list, days: int) -> None:
    """§2 Carvykti late neurotoxicity: through day 100 (policy), any of the late signs -> urgent."""
    c = checkin
    if not (
        c.handwriting_change
        or c.slowed_movement
        or c.tremor
        or c.personality_change
        or c.coordination_loss
        or c.facial_numbness_droop
        or c.leg_numbness_weakness
    ):
        return
    limit = ctx.policy.carvykti_late_neuro_days
    if days > limit:
        return
    ev: dict[str, object] = {}
    names = []
    for key, label in _CARVYKTI_SIGNS:
        if getattr(c, key):
            ev[key] = True
            names.append(label)
    ev["days_since_infusion"] = days
    out.append(
        Finding(
            condition="carvykti_late_neuro",
            title=graded_title("carvykti_late_neuro", None),
            min_grade=None,
            grading_system=CTCAE,
            urgency=Urgency.URGENT,
            patient_instruction=_I_CARVYKTI,
            staff_rationale=(
                f"Carvykti day {days} (≤ day {limit}): "
                + ", ".join(names)
                + " (boxed warning: parkinsonism, Guillain-Barré syndrome, cranial nerve palsy)"
            ),
            rule_id="carvykti.late_neuro_sign",
            source=SRC_CARVYKTI,
            evidence=ev,
        )
    )
