"""Immune checkpoint inhibitor side effects (clinical-rules §4, CTCAE v5 grades and guideline actions)."""

from __future__ import annotations

from .types import CTCAE, EPS, FEVER_C, CheckinInput, EvaluationContext, Finding, Urgency, graded_title

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
_ALL_ACTIONS = (
    " | Guideline context (§4 NCCN/SITC/ASCO): grade 1 continue and watch; 2 hold, steroids; "
    "3 hold, high-dose steroids; 4 stop. The tracker never changes therapy."
)
_ACTION_TEXT = {
    g: f" | Guideline context (§4 NCCN/SITC/ASCO) at grade {g}: {a}. The tracker never changes therapy."
    for g, a in GUIDELINE_ACTION.items()
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


def diarrhea_grade(c: CheckinInput) -> tuple[int, Urgency]:
    """§4 diarrhea/colitis: (minimum CTCAE grade, urgency). (0, NONE) when nothing is reported."""
    g = 0
    s = c.extra_stools
    if s is not None and s > 0:
        g = 1 if s < STOOLS_GRADE2 else 2 if s < STOOLS_GRADE3 else 3
    if c.diarrhea_limits_selfcare:
        g = 3
    pain = c.abdominal_pain
    if (c.stool_blood_mucus or pain == "mild" or pain == "severe") and g < 2:
        g = 2  # §4 colitis signs -> at least grade 2
    urgency = _URGENCY_BY_GRADE[g]
    if pain == "severe":
        urgency = Urgency.URGENT  # §4 severe pain -> urgent
    return g, urgency


def _rash_grade(pct) -> int:
    if pct is None or pct <= 0:
        return 0
    if pct < RASH_GRADE2:
        return 1
    if pct <= RASH_GRADE3_ABOVE:
        return 2
    return 3


def _f(condition, rule, urgency, grade, instr, why, ev, src, title=None) -> Finding:
    return Finding(
        condition=condition,
        title=title or graded_title(condition, grade),
        min_grade=grade,
        grading_system=CTCAE,
        urgency=urgency,
        patient_instruction=instr,
        staff_rationale=why + (_ACTION_TEXT[grade] if grade else _ALL_ACTIONS),
        rule_id=rule,
        source=src,
        evidence=ev,
    )


def evaluate_irae(
    checkin: CheckinInput, ctx: EvaluationContext, out: list, *, car_t: bool, infusion_window: bool
) -> None:
    """Append checkpoint-inhibitor findings (§4). ``car_t``: CRS rules already cover fever."""
    c = checkin
    p = ctx.policy

    # Diarrhea / colitis.
    if (
        c.extra_stools
        or c.diarrhea_limits_selfcare
        or c.stool_blood_mucus
        or c.abdominal_pain == "mild"
        or c.abdominal_pain == "severe"
    ):
        g, urg = diarrhea_grade(c)
        if g:
            parts = []
            ev: dict[str, object] = {}
            if c.extra_stools:
                parts.append(f"{c.extra_stools} stools/day above usual")
                ev["extra_stools"] = c.extra_stools
            for key, label in (
                ("diarrhea_limits_selfcare", "incontinence or limits self-care"),
                ("stool_blood_mucus", "blood or mucus in stool"),
            ):
                if getattr(c, key):
                    parts.append(label)
                    ev[key] = True
            if c.abdominal_pain in ("mild", "severe"):
                parts.append(f"{c.abdominal_pain} abdominal pain")
                ev["abdominal_pain"] = c.abdominal_pain
            out.append(
                _f(
                    "diarrhea_colitis",
                    "irae.diarrhea_colitis",
                    urg,
                    g,
                    _I_DIARRHEA[urg],
                    f"Diarrhea/colitis: {', '.join(parts)} (CTCAE grade ≥ {g})",
                    ev,
                    SRC_DIARRHEA,
                )
            )

    # Rash.
    pct = c.rash_percent
    blisters = c.rash_blisters_or_sores
    if (pct is not None and pct > 0) or blisters:
        g = _rash_grade(pct)
        urg = _URGENCY_BY_GRADE[g]
        parts = []
        ev = {}
        if g:
            parts.append(f"rash on {pct} % of body surface (CTCAE grade {g})")
            ev["rash_percent"] = pct
        if blisters:
            urg = Urgency.URGENT  # §4 blisters, peeling, mouth or eye sores -> urgent
            parts.append("blisters, peeling, mouth or eye sores: possible severe skin reaction")
            ev["rash_blisters_or_sores"] = True
        out.append(
            _f(
                "rash",
                "irae.rash_blisters" if blisters else "irae.rash",
                urg,
                g or None,
                _I_RASH[urg],
                "Rash: " + "; ".join(parts),
                ev,
                SRC_RASH,
            )
        )

    # Lungs (pneumonitis).
    spo2 = c.spo2
    low_spo2 = spo2 is not None and spo2 < p.spo2_min  # §4 SpO2 < 92 % (policy)
    if c.breathless_at_rest or c.chest_pain or low_spo2:  # §4 -> emergency
        parts = []
        ev = {}
        if c.breathless_at_rest:
            parts.append("breathless at rest")
            ev["breathless_at_rest"] = True
        if c.chest_pain:
            parts.append("chest pain")
            ev["chest_pain"] = True
        if low_spo2:
            parts.append(f"SpO2 {spo2} % < {p.spo2_min} % (center limit)")
            ev["spo2"] = spo2
        out.append(
            _f(
                "pneumonitis",
                "irae.pneumonitis_emergency",
                Urgency.EMERGENCY,
                None,
                _I_LUNG_EMERGENCY,
                "Lungs: " + ", ".join(parts),
                ev,
                SRC_LUNG_POLICY if low_spo2 else SRC_LUNG,
            )
        )
    elif c.cough or c.breathless or c.short_of_breath:  # §4 -> same-day
        ev = {k: True for k in ("cough", "breathless", "short_of_breath") if getattr(c, k)}
        out.append(
            _f(
                "pneumonitis",
                "irae.pneumonitis",
                Urgency.SAME_DAY,
                None,
                _I_LUNG_SAME_DAY,
                "Lungs: " + ", ".join(k.replace("_", " ") for k in ev),
                ev,
                SRC_LUNG,
            )
        )

    # Liver (§4) -> same-day.
    if c.yellow_skin_or_dark_urine or c.right_belly_pain or c.easy_bruising:
        ev = {k: True for k in ("yellow_skin_or_dark_urine", "right_belly_pain", "easy_bruising") if getattr(c, k)}
        out.append(
            _f(
                "hepatitis",
                "irae.liver",
                Urgency.SAME_DAY,
                None,
                _I_LIVER,
                "Liver signs: " + ", ".join(k.replace("_", " ") for k in ev),
                ev,
                SRC_LIVER,
            )
        )

    # Hormones (§4): signs -> same-day; with confusion or fainting -> urgent. The check-in's
    # dizzy_or_fainting cannot tell dizziness from fainting, so it counts as fainting (conservative).
    if (
        c.severe_headache
        or c.vision_change
        or c.severe_fatigue
        or c.dizzy_or_fainting
        or c.extreme_thirst_urination
        or c.confusion
    ):
        ev = {k: True for k in _HORMONE_KEYS if getattr(c, k)}
        urgent = bool(c.confusion or c.dizzy_or_fainting)
        out.append(
            _f(
                "endocrine",
                "irae.endocrine_urgent" if urgent else "irae.endocrine",
                Urgency.URGENT if urgent else Urgency.SAME_DAY,
                None,
                _I_HORMONE_URGENT if urgent else _I_HORMONE_SAME_DAY,
                "Hormone signs: "
                + ", ".join(k.replace("_", " ") for k in ev)
                + ("; confusion or fainting present" if urgent else ""),
                ev,
                SRC_HORMONE,
            )
        )

    # Heart and muscles (§4): heart racing, chest pain, muscle weakness -> urgent. A measured pulse above
    # the center limit (§1 policy) counts as heart racing.
    hr = c.heart_rate
    fast_hr = hr is not None and hr > p.heart_rate_max
    if c.fast_heartbeat or c.chest_pain or c.muscle_weakness or fast_hr:
        ev = {k: True for k in ("fast_heartbeat", "chest_pain", "muscle_weakness") if getattr(c, k)}
        parts = [k.replace("_", " ") for k in ev]
        if fast_hr:
            ev["heart_rate"] = hr
            parts.append(f"heart rate {hr}/min > {p.heart_rate_max}/min (center limit)")
        out.append(
            _f(
                "myocarditis_myositis",
                "irae.heart_muscle",
                Urgency.URGENT,
                None,
                _I_HEART,
                "Heart/muscle: " + ", ".join(parts),
                ev,
                SRC_HEART_POLICY if fast_hr else SRC_HEART,
            )
        )

    # Fever >= 38.0 °C once (§4) -> urgent. After CAR T the CRS rules own the fever.
    t = c.temperature_c
    fever = t is not None and t >= FEVER_C - EPS
    if fever and not car_t:
        out.append(
            _f(
                "fever",
                "irae.fever",
                Urgency.URGENT,
                None,
                _I_FEVER,
                f"Temperature {t:.1f} °C ≥ {FEVER_C:.1f} °C on a checkpoint inhibitor",
                {"temperature_c": t},
                SRC_FEVER,
                title=graded_title("fever", None),
            )
        )

    # Infusion reaction (§4): during or within a day of an infusion.
    if infusion_window:
        ev = {}
        if fever:
            ev["temperature_c"] = t
        for key in _INFUSION_KEYS:
            if getattr(c, key):
                ev[key] = True
        if pct is not None and pct > 0:
            ev["rash_percent"] = pct
        if ev:
            emergency = bool(c.breathless_at_rest)  # trouble breathing -> emergency
            out.append(
                _f(
                    "infusion_reaction",
                    "irae.infusion_reaction_breathing" if emergency else "irae.infusion_reaction",
                    Urgency.EMERGENCY if emergency else Urgency.URGENT,
                    None,
                    _I_INFUSION_EMERGENCY if emergency else _I_INFUSION,
                    "Within a day of an infusion: "
                    + ", ".join(
                        k.replace("_", " ") if v is True else f"{k.replace('_', ' ')} {v}" for k, v in ev.items()
                    ),
                    ev,
                    SRC_INFUSION,
                )
            )


_HORMONE_KEYS = (
    "severe_headache",
    "vision_change",
    "severe_fatigue",
    "dizzy_or_fainting",
    "extreme_thirst_urination",
    "confusion",
)
_INFUSION_KEYS = (
    "chills",
    "flushing_itching",
    "rash_blisters_or_sores",
    "dizzy_or_fainting",
    "wheezing",
    "breathless",
    "short_of_breath",
    "breathless_at_rest",
)
