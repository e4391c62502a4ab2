"""Cytokine release syndrome after CAR T (clinical-rules §1, fever part of §3).

Home monitoring can only flag "possible CRS, signs of at least grade N": ASTCT grades by the treatment
the patient needs, which a home check-in cannot know.
"""

from __future__ import annotations

from .types import ASTCT_CRS, EPS, FEVER_C, CheckinInput, EvaluationContext, Finding, Urgency, graded_title

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


def _hours_between(a, b) -> float | None:
    if a is None or b is None:
        return None
    try:
        return abs((a - b).total_seconds()) / 3600.0
    except TypeError:  # naive/aware mix: treat as unknown
        return None


def hr_persisting_count(checkin: CheckinInput, ctx: EvaluationContext) -> int:
    """Number of consecutive readings above the policy limit (this one first), 0 if this one is not above.

    Earlier check-ins without a heart rate are skipped; one outside the policy window ends the run. A
    check-in without a timestamp counts (conservative).
    """
    hr = checkin.heart_rate
    p = ctx.policy
    limit = p.heart_rate_max  # clinical-rules §1 heart rate > 100/min (policy)
    if hr is None or hr <= limit:
        return 0
    count = 1
    need = p.hr_persist_readings
    if count >= need:
        return count
    window = p.hr_persist_window_hours
    for r in ctx.recent:
        rhr = r.heart_rate
        if rhr is None:
            continue
        h = _hours_between(checkin.recorded_at, r.recorded_at)
        if h is not None and h > window:
            break
        if rhr <= limit:
            break
        count += 1
        if count >= need:
            break
    return count


def grade2_signs(checkin: CheckinInput, ctx: EvaluationContext) -> list[tuple[str, str, dict]]:
    """Home signs of possible grade >= 2 CRS (§1): (rule suffix, rationale text, evidence)."""
    c = checkin
    p = ctx.policy
    signs: list[tuple[str, str, dict]] = []
    if c.dizzy_or_fainting:
        signs.append(("dizziness", "dizziness or fainting", {"dizzy_or_fainting": True}))
    if c.short_of_breath or c.breathless or c.breathless_at_rest:
        ev = {k: True for k in ("short_of_breath", "breathless", "breathless_at_rest") if getattr(c, k)}
        signs.append(("shortness_of_breath", "new shortness of breath", ev))
    sbp = c.systolic_bp
    if sbp is not None and sbp < p.systolic_bp_min:  # §1 systolic < 90 mmHg (policy)
        signs.append(
            (
                "low_blood_pressure",
                f"systolic BP {sbp} mmHg < {p.systolic_bp_min} mmHg (center limit)",
                {"systolic_bp": sbp},
            )
        )
    spo2 = c.spo2
    if spo2 is not None and spo2 < p.spo2_min:  # §1 SpO2 < 92 % (policy)
        signs.append(("low_oxygen", f"SpO2 {spo2} % < {p.spo2_min} % (center limit)", {"spo2": spo2}))
    if c.on_oxygen:
        signs.append(("on_oxygen", "using oxygen (ASTCT grade 2 needs low-flow oxygen)", {"on_oxygen": True}))
    n = hr_persisting_count(c, ctx)
    if n and n >= p.hr_persist_readings:  # §1 heart rate > 100/min persisting (policy)
        signs.append(
            (
                "persistent_fast_pulse",
                f"heart rate {c.heart_rate}/min > {p.heart_rate_max}/min on {n} consecutive readings (center limit)",
                {"heart_rate": c.heart_rate},
            )
        )
    return signs


def evaluate_crs(checkin: CheckinInput, ctx: EvaluationContext, out: list, days_since_infusion: int) -> None:
    """Append CRS findings (§1) for a patient who received CAR T."""
    c = checkin
    t = c.temperature_c
    fever = t is not None and t >= FEVER_C - EPS  # §1 fever >= 38.0 °C
    signs = grade2_signs(c, ctx)
    late = days_since_infusion > ctx.policy.crs_peak_window_days

    if fever:
        why = f"Temperature {t:.1f} °C ≥ {FEVER_C:.1f} °C on day {days_since_infusion} after infusion"
        if late:
            why += (
                f"; beyond the day 0-{ctx.policy.crs_peak_window_days} peak CRS window: consider infection "
                "(prolonged low blood counts, §3)"
            )
        out.append(
            Finding(
                condition="crs",
                title=graded_title("crs", 1),
                min_grade=1,
                grading_system=ASTCT_CRS,
                urgency=Urgency.URGENT,
                patient_instruction=_I_FEVER,
                staff_rationale=why,
                rule_id="crs.fever",
                source=SRC_CRS_LATE if late else SRC_CRS,
                evidence={"temperature_c": t, "days_since_infusion": days_since_infusion},
            )
        )

    if signs:
        toci = ctx.received_tocilizumab_or_steroids
        for suffix, text, ev in signs:
            if fever:
                rule, urg, grade = "crs.fever_with_" + suffix, Urgency.EMERGENCY, 2
                why = f"Temperature {t:.1f} °C ≥ {FEVER_C:.1f} °C with {text}"
                instr = _I_EMERGENCY
                ev = {"temperature_c": t, **ev}
            elif toci:
                rule, urg, grade = "crs.after_tocilizumab_" + suffix, Urgency.EMERGENCY, 2
                why = f"{text[0].upper()}{text[1:]} after tocilizumab or steroids (fever no longer required, §1)"
                instr = _I_EMERGENCY_NO_FEVER
            else:
                rule, urg, grade = "crs.sign_without_fever_" + suffix, Urgency.URGENT, None
                why = f"{text[0].upper()}{text[1:]} without fever: infection or evolving CRS"
                instr = _I_SIGN
            out.append(
                Finding(
                    condition="crs",
                    title=graded_title("crs", grade) if grade else "Possible evolving CRS or infection",
                    min_grade=grade,
                    grading_system=ASTCT_CRS,
                    urgency=urg,
                    patient_instruction=instr,
                    staff_rationale=why,
                    rule_id=rule,
                    source=SRC_CRS_POLICY if suffix in _POLICY_SIGNS else SRC_CRS,
                    evidence=ev,
                )
            )

    # Wallet-card call-now list (§1). A measured pulse above the center limit counts as a fast heartbeat.
    if (
        c.chills
        or c.severe_nausea_vomiting_diarrhea
        or c.fast_heartbeat
        or c.severe_fatigue
        or c.severe_muscle_joint_pain
        or (c.heart_rate is not None and c.heart_rate > ctx.policy.heart_rate_max)
    ):
        ev: dict[str, object] = {}
        names = []
        for key, label in _WALLET:
            if getattr(c, key):
                ev[key] = True
                names.append(label)
        hr = c.heart_rate
        if hr is not None and hr > ctx.policy.heart_rate_max:
            ev["heart_rate"] = hr
            names.append(f"heart rate {hr}/min > {ctx.policy.heart_rate_max}/min")
        out.append(
            Finding(
                condition="crs",
                title="Call-now symptom after CAR T",
                min_grade=None,
                grading_system=ASTCT_CRS,
                urgency=Urgency.URGENT,
                patient_instruction=_I_WALLET,
                staff_rationale="Wallet-card call-now symptom after CAR T: " + ", ".join(names),
                rule_id="crs.call_now_symptom",
                source=SRC_WALLET,
                evidence=ev,
            )
        )


_POLICY_SIGNS = frozenset({"low_blood_pressure", "low_oxygen", "persistent_fast_pulse"})
_WALLET = (
    ("chills", "chills or shaking"),
    ("severe_nausea_vomiting_diarrhea", "severe nausea, vomiting or diarrhea"),
    ("fast_heartbeat", "fast or irregular heartbeat"),
    ("severe_fatigue", "severe fatigue"),
    ("severe_muscle_joint_pain", "severe muscle or joint pain"),
)
