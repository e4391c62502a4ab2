"""Monitoring profiles of the other immunotherapies: clinical-rules §9 (monoclonal antibodies, interleukin-2,
interferon, lenalidomide/pomalidomide/thalidomide, T-VEC, bladder BCG, sipuleucel-T) and the T-cell engager
and TCR/TIL parts of §8 that go beyond the CAR T rules (§1/§2, which run for them unchanged).

Each sub-rule is one function that returns its finding or None and quotes its clinical-rules line; which
run depends on the patient's therapies (``Profiles``, built by engine.therapies_of)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .irae import _I_RASH, _URGENCY_BY_GRADE, _rash_grade, infusion_reaction
from .messages import Message, message
from .types import (
    CTCAE,
    EPS,
    FEVER_C,
    POLICY_SYSTEM,
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

SRC_ANTIBODY_INFUSION = "clinical-rules §9 monoclonal antibodies: as the §4 infusion reaction"
SRC_SIPULEUCEL_INFUSION = "clinical-rules §9 sipuleucel-T: as the §4 infusion reaction"
SRC_CETUXIMAB_RASH = "clinical-rules §9 cetuximab: severe rash as the §4 rash (CTCAE v5)"
SRC_BEVACIZUMAB = "clinical-rules §9 bevacizumab (urgency is center policy)"
SRC_IL2 = "clinical-rules §9 interleukin-2 capillary leak"
SRC_IL2_WEIGHT = "clinical-rules §9 interleukin-2 weight gain (limit is center policy, lower end of 2-4.5 kg)"
SRC_INTERFERON = "clinical-rules §9 interferon alfa"
SRC_INTERFERON_CRISIS = "clinical-rules §9 interferon alfa (crisis line is center policy)"
SRC_IMID = "clinical-rules §9 lenalidomide, pomalidomide, thalidomide"
SRC_TVEC = "clinical-rules §9 talimogene laherparepvec (T-VEC)"
SRC_BCG = "clinical-rules §9 intravesical BCG"
SRC_ENGAGER = "clinical-rules §8 T-cell engagers: home triage (Crombie et al., Blood 2024)"
SRC_LIFILEUCEL = "clinical-rules §8 lifileucel: any fever urgent (prolonged low blood counts, as §3)"

# §9 interleukin-2: "SBP < 90 or SpO2 < 90 % → emergency".
IL2_SYSTOLIC_BELOW = 90
IL2_SPO2_BELOW = 90
# §9 intravesical BCG: "Fever >= 39.4 °C (103 °F), or flu-like symptoms lasting more than 72 h → urgent".
BCG_FEVER_C = 39.4
BCG_FLU_LIKE_HOURS = 72
# §8 T-cell engagers (Crombie 2024): fever "with ... SpO2 < 90 % → emergency".
ENGAGER_SPO2_BELOW = 90

_I_BEVACIZUMAB = (
    "Bleeding, chest pain or a sudden, severe headache can be a serious side effect of your treatment. Call "
    "your care team now, day or night. If the bleeding does not stop or the pain is crushing, call 911."
)
_I_IL2 = (
    "Weight gain, passing much less urine, shortness of breath, confusion or drowsiness can mean fluid is "
    "leaking from your blood vessels, a known effect of interleukin-2. Call your care team now, day or night."
)
_I_IL2_EMERGENCY = (
    "A low blood pressure or oxygen reading on interleukin-2 is an emergency. Call 911 or go to the emergency "
    "department now."
)
_I_DEPRESSION = (
    "Feeling low or losing interest in things can be a side effect of interferon, and it can be treated. "
    "Call your care team now, day or night. If you have thoughts of harming yourself, call or text the crisis "
    "line now: {crisis_line}."
)
_I_HARM_THOUGHTS = (
    "Thoughts of harming yourself or someone else can be a side effect of interferon. You are not alone: "
    "call or text the crisis line now, day or night: {crisis_line}. Then call your care team. If someone is "
    "in danger right now, call 911."
)
_I_CLOT_SAME_DAY = (
    "A swollen, painful leg or arm can be a blood clot. Your care team will call you today. If you become "
    "short of breath or get chest pain, call 911."
)
_I_CLOT_EMERGENCY = (
    "Sudden shortness of breath or chest pain can be a blood clot in the lungs. Call 911 or go to the "
    "emergency department now."
)
_I_NEUROPATHY = (
    "Thank you. Numbness or tingling in the hands or feet will be reviewed at your next visit. Tell your "
    "care team sooner if it gets worse or makes it hard to walk or hold things."
)
_I_TVEC = (
    "Painful blisters, eye pain, eyes that hurt in the light, confusion or extreme drowsiness can mean an "
    "infection with the treatment's virus. Call your care team now, day or night. Keep the injection sites "
    "covered."
)
_I_BCG = (
    "A high fever, or flu-like symptoms lasting more than 3 days, can mean the BCG has spread beyond the "
    "bladder. Call your care team now, day or night."
)
_I_ENGAGER_EMERGENCY = (
    "A fever with low blood pressure, dizziness on standing, confusion, weakness or a low oxygen reading after "
    "your treatment is an emergency. Call 911 or go to the emergency department now, then call your care team."
)
_I_LIFILEUCEL_FEVER = (
    "You have a fever (38.0 °C / 100.4 °F or higher). After your cell therapy your blood counts can stay low "
    "for a long time, so any fever needs a call to your care team right away, day or night."
)


@dataclass(frozen=True, slots=True)
class Profiles:
    """Which §8/§9 profiles apply to a check-in (engine.therapies_of). ``engager_days``: days since the most
    recent dose of a T-cell engager or TCR/TIL therapy (§8: windows keyed to each dose)."""

    antibody_infusion_window: bool = False
    cetuximab: bool = False
    bevacizumab: bool = False
    il2: bool = False
    interferon: bool = False
    immunomodulator: bool = False
    tvec: bool = False
    bcg: bool = False
    sipuleucel_infusion_window: bool = False
    engager_days: int | None = None
    t_cell_engager: bool = False
    lifileucel: bool = False


# --- Monoclonal antibodies and sipuleucel-T (§9, as §4 infusion reaction) -----------------------------------

def antibody_infusion_reaction(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Monoclonal antibody infusion reactions (rituximab, trastuzumab, cetuximab, ...): fever, chills,
    weakness, headache, nausea, vomiting, diarrhea, low blood pressure, rash, mostly during or within a day of
    the infusion → as §4 infusion reaction (urgent; trouble breathing emergency)"."""
    if not profiles.antibody_infusion_window:
        return None
    return infusion_reaction(checkin, rule_id="profile.antibody_infusion_reaction", source=SRC_ANTIBODY_INFUSION)


def sipuleucel_infusion_reaction(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles,
                                 ) -> Finding | None:
    """§9 "Sipuleucel-T: reactions within a day of each infusion (fever, chills, breathing trouble, fainting)
    → as §4 infusion reaction"."""
    if not profiles.sipuleucel_infusion_window:
        return None
    return infusion_reaction(checkin, rule_id="profile.sipuleucel_infusion_reaction", source=SRC_SIPULEUCEL_INFUSION)


def cetuximab_rash(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Cetuximab: severe rash as §4 rash" (§4: "< 10 % → 1; 10-30 % → 2; > 30 % → 3. Blisters, peeling,
    mouth or eye sores → urgent ... grade 1 routine; grade 2 same-day; grade 3 urgent")."""
    if not profiles.cetuximab:
        return None
    percent, blisters = checkin.rash_percent, bool(checkin.rash_blisters_or_sores)
    grade = _rash_grade(percent)
    if not grade and not blisters:
        return None
    evidence: dict[str, object] = {}
    why: tuple[Message, ...] = ()
    if grade:
        evidence["rash_percent"] = percent
        why += (message("Rash on cetuximab: {percent} of body surface (CTCAE grade {grade})", percent=f"{percent} %",
                        grade=grade),)
    if blisters:
        evidence["rash_blisters_or_sores"] = True
        why += (message("Rash on cetuximab: blisters, peeling, mouth or eye sores: possible severe skin reaction"),)
    urgency = Urgency.URGENT if blisters else _URGENCY_BY_GRADE[grade]
    outcome = Outcome(condition="rash", rule_id="profile.cetuximab_rash", urgency=urgency, instruction=_I_RASH[urgency],
                      source=SRC_CETUXIMAB_RASH, grading_system=CTCAE, min_grade=grade or None)
    return outcome.finding(why, evidence)


_BEVACIZUMAB_SIGNS = (
    ("unusual_bleeding", "unusual bleeding"),
    ("chest_pain", "chest pain"),
    ("severe_headache", "severe headache"),
)


def bevacizumab_warning(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Bevacizumab: bleeding, chest pain, sudden severe headache → urgent (policy)"."""
    if not profiles.bevacizumab:
        return None
    evidence, labels = flagged(checkin, _BEVACIZUMAB_SIGNS)
    if not evidence:
        return None
    outcome = Outcome(condition="bevacizumab_warning", rule_id="profile.bevacizumab", urgency=Urgency.URGENT,
                      instruction=_I_BEVACIZUMAB, source=SRC_BEVACIZUMAB, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("On bevacizumab: {signs}", signs=labels),), evidence)


# --- Interleukin-2 (§9, capillary leak) ---------------------------------------------------------------------

def il2_weight_gain(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Interleukin-2 (aldesleukin): capillary leak. Weight gain of 5-10 lb (2-4.5 kg) or more ... →
    urgent". The gain is over the first weight reported on or after the start of the course
    (``ctx.baseline_weight_kg``); the limit is the center's (policy, default the lower end, 2 kg)."""
    weight, baseline = checkin.weight_kg, ctx.baseline_weight_kg
    if not profiles.il2 or weight is None or baseline is None:
        return None
    gain = round(weight - baseline, 1)
    limit = ctx.policy.il2_weight_gain_kg
    if gain < limit - EPS:
        return None
    outcome = Outcome(condition="capillary_leak", rule_id="profile.il2_weight_gain", urgency=Urgency.URGENT,
                      instruction=_I_IL2, source=SRC_IL2_WEIGHT, grading_system=POLICY_SYSTEM)
    why = message("Weight {weight:.1f} kg, {gain:.1f} kg above the {baseline:.1f} kg at the start of interleukin-2 "
                  "(center limit {limit:.1f} kg)", weight=weight, gain=gain, baseline=baseline, limit=limit)
    return outcome.finding((why,), {"weight_kg": weight, "baseline_weight_kg": baseline})


_IL2_SIGNS = (
    ("less_urine", "passing much less urine"),
    ("short_of_breath", "short of breath"),
    ("breathless", "breathless"),
    ("confusion", "confusion"),
    ("very_drowsy", "very drowsy"),
)


def il2_signs(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 interleukin-2: "passing much less urine, shortness of breath, confusion or drowsiness → urgent"."""
    if not profiles.il2:
        return None
    evidence, labels = flagged(checkin, _IL2_SIGNS)
    if not evidence:
        return None
    outcome = Outcome(condition="capillary_leak", rule_id="profile.il2_signs", urgency=Urgency.URGENT,
                      instruction=_I_IL2, source=SRC_IL2, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("On interleukin-2: {signs}", signs=labels),), evidence)


def il2_low_pressure_or_oxygen(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 interleukin-2: "SBP < 90 or SpO2 < 90 % → emergency"."""
    if not profiles.il2:
        return None
    evidence: dict[str, object] = {}
    signs: list[Message] = []
    systolic, spo2 = checkin.systolic_bp, checkin.spo2
    if systolic is not None and systolic < IL2_SYSTOLIC_BELOW:
        evidence["systolic_bp"] = systolic
        signs.append(message("systolic BP {systolic} mmHg < {limit} mmHg", systolic=systolic, limit=IL2_SYSTOLIC_BELOW))
    if spo2 is not None and spo2 < IL2_SPO2_BELOW:
        evidence["spo2"] = spo2
        signs.append(message("SpO2 {spo2} % below {limit} %", spo2=spo2, limit=IL2_SPO2_BELOW))
    if not evidence:
        return None
    outcome = Outcome(condition="capillary_leak", rule_id="profile.il2_emergency", urgency=Urgency.EMERGENCY,
                      instruction=_I_IL2_EMERGENCY, source=SRC_IL2, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("On interleukin-2: {signs}", signs=tuple(signs)),), evidence)


# --- Interferon alfa (§9) -----------------------------------------------------------------------------------

def interferon_depression(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Interferon alfa: depression ... during treatment and up to 6 months after the last dose → urgent
    with the crisis line shown (policy: 988 in the US)"."""
    if not profiles.interferon or not checkin.low_mood:
        return None
    outcome = Outcome(condition="depression", rule_id="profile.interferon_depression", urgency=Urgency.URGENT,
                      instruction=_I_DEPRESSION, source=SRC_INTERFERON_CRISIS, grading_system=POLICY_SYSTEM)
    finding = outcome.finding((message("Low mood or loss of interest on interferon"),), {"low_mood": True})
    return replace(finding, instruction_params={"crisis_line": ctx.policy.crisis_line})


def interferon_harm_thoughts(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Interferon alfa: ... thoughts of self-harm or harming others, during treatment and up to 6 months
    after the last dose → urgent with the crisis line shown (policy: 988 in the US)"."""
    if not profiles.interferon or not checkin.harm_thoughts:
        return None
    outcome = Outcome(condition="self_harm_thoughts", rule_id="profile.interferon_harm_thoughts",
                      urgency=Urgency.URGENT, instruction=_I_HARM_THOUGHTS, source=SRC_INTERFERON_CRISIS,
                      grading_system=POLICY_SYSTEM)
    finding = outcome.finding((message("Thoughts of self-harm or of harming others on interferon; crisis line "
                                       "{crisis_line} shown", crisis_line=ctx.policy.crisis_line),),
                              {"harm_thoughts": True})
    return replace(finding, instruction_params={"crisis_line": ctx.policy.crisis_line})


# --- Lenalidomide, pomalidomide, thalidomide (§9) -----------------------------------------------------------

def imid_swollen_limb(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Lenalidomide, pomalidomide, thalidomide: blood clots. Swollen, painful leg or arm → same-day"."""
    if not profiles.immunomodulator or not checkin.swollen_painful_limb:
        return None
    outcome = Outcome(condition="blood_clot", rule_id="profile.imid_swollen_limb", urgency=Urgency.SAME_DAY,
                      instruction=_I_CLOT_SAME_DAY, source=SRC_IMID, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("Swollen, painful leg or arm on an immunomodulatory drug"),),
                           {"swollen_painful_limb": True})


# "Sudden": the new shortness of breath the profile asks, or breathless at rest (a checkpoint inhibitor's
# "short of breath" alone is not sudden and stays the §4 pneumonitis rule's).
_CLOT_EMERGENCY_SIGNS = (
    ("short_of_breath", "short of breath"),
    ("breathless_at_rest", "breathless at rest"),
    ("chest_pain", "chest pain"),
)


def imid_breath_or_chest(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 lenalidomide, pomalidomide, thalidomide: "sudden shortness of breath or chest pain → emergency"."""
    if not profiles.immunomodulator:
        return None
    evidence, labels = flagged(checkin, _CLOT_EMERGENCY_SIGNS)
    if not evidence:
        return None
    outcome = Outcome(condition="blood_clot", rule_id="profile.imid_breath_chest", urgency=Urgency.EMERGENCY,
                      instruction=_I_CLOT_EMERGENCY, source=SRC_IMID, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("On an immunomodulatory drug: {signs}", signs=labels),), evidence)


def imid_numbness(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 lenalidomide, pomalidomide, thalidomide: "Numbness or tingling of hands or feet → routine"."""
    if not profiles.immunomodulator or not checkin.hands_feet_numbness:
        return None
    outcome = Outcome(condition="neuropathy", rule_id="profile.imid_numbness", urgency=Urgency.ROUTINE,
                      instruction=_I_NEUROPATHY, source=SRC_IMID, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("Numbness or tingling of hands or feet on an immunomodulatory drug"),),
                           {"hands_feet_numbness": True})


# --- Talimogene laherparepvec (§9) --------------------------------------------------------------------------

_TVEC_SIGNS = (
    ("painful_blisters", "painful blisters"),
    ("confusion", "confusion"),
    ("very_drowsy", "very drowsy"),
    ("eye_pain_light", "eye pain or light sensitivity"),
)


def tvec_signs(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Talimogene laherparepvec (T-VEC): ... Painful blisters, confusion, extreme drowsiness, eye pain or
    light sensitivity → urgent"."""
    if not profiles.tvec:
        return None
    evidence, labels = flagged(checkin, _TVEC_SIGNS)
    if not evidence:
        return None
    outcome = Outcome(condition="tvec_herpes", rule_id="profile.tvec", urgency=Urgency.URGENT, instruction=_I_TVEC,
                      source=SRC_TVEC, grading_system=POLICY_SYSTEM)
    return outcome.finding((message("After T-VEC: {signs}", signs=labels),), evidence)


# --- Intravesical BCG (§9) ----------------------------------------------------------------------------------

def bcg_high_fever(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 "Intravesical BCG: expected bladder burning for 1-3 days. Fever >= 39.4 °C (103 °F) ... → urgent
    (possible systemic BCG infection)"."""
    temperature = checkin.temperature_c
    if not profiles.bcg or temperature is None or temperature < BCG_FEVER_C - EPS:
        return None
    outcome = Outcome(condition="bcg_infection", rule_id="profile.bcg_fever", urgency=Urgency.URGENT,
                      instruction=_I_BCG, source=SRC_BCG, grading_system=POLICY_SYSTEM)
    why = message("Temperature {temperature:.1f} °C ≥ {limit:.1f} °C after bladder BCG", temperature=temperature,
                  limit=BCG_FEVER_C)
    return outcome.finding((why,), {"temperature_c": temperature})


def bcg_flu_like(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§9 intravesical BCG: "flu-like symptoms lasting more than 72 h → urgent"."""
    hours = checkin.flu_like_hours
    if not profiles.bcg or not checkin.flu_like or hours is None or hours <= BCG_FLU_LIKE_HOURS:
        return None
    outcome = Outcome(condition="bcg_infection", rule_id="profile.bcg_flu_like", urgency=Urgency.URGENT,
                      instruction=_I_BCG, source=SRC_BCG, grading_system=POLICY_SYSTEM)
    why = message("Flu-like symptoms for {hours} h (more than {limit} h) after bladder BCG", hours=hours,
                  limit=BCG_FLU_LIKE_HOURS)
    return outcome.finding((why,), {"flu_like": True, "flu_like_hours": hours})


# --- T-cell engagers and TCR/TIL therapies (§8, beyond §1/§2) -----------------------------------------------

_ENGAGER_SIGNS = (
    ("dizzy_or_fainting", "dizzy or fainting"),
    ("confusion", "confusion"),
    ("focal_weakness", "weakness on one side or both legs"),
    ("muscle_weakness", "muscle weakness"),
)


def engager_fever_emergency(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§8 "fever >= 38.0 °C after a T-cell engager is CRS until proven otherwise → urgent; with low blood
    pressure, new dizziness on standing, confusion, weakness or SpO2 < 90 % → emergency, Crombie 2024". The
    fever alone is the CRS rule's (§1, urgent); low blood pressure is the center's §1 limit (policy)."""
    temperature = checkin.temperature_c
    if not profiles.t_cell_engager or temperature is None or not has_fever(temperature):
        return None
    evidence: dict[str, object] = {"temperature_c": temperature}
    signs: list[str | Message] = []
    systolic, limit = checkin.systolic_bp, ctx.policy.systolic_bp_min
    if systolic is not None and systolic < limit:
        evidence["systolic_bp"] = systolic
        signs.append(message("systolic BP {systolic} mmHg < {limit} mmHg (center limit)", systolic=systolic,
                             limit=limit))
    spo2 = checkin.spo2
    if spo2 is not None and spo2 < ENGAGER_SPO2_BELOW:
        evidence["spo2"] = spo2
        signs.append(message("SpO2 {spo2} % below {limit} %", spo2=spo2, limit=ENGAGER_SPO2_BELOW))
    more, labels = flagged(checkin, _ENGAGER_SIGNS)
    evidence.update(more)
    signs.extend(labels)
    if not signs:
        return None
    outcome = Outcome(condition="crs", rule_id="profile.engager_fever_emergency", urgency=Urgency.EMERGENCY,
                      instruction=_I_ENGAGER_EMERGENCY, source=SRC_ENGAGER, grading_system=POLICY_SYSTEM)
    why = message("Temperature {temperature:.1f} °C ≥ {fever:.1f} °C after a T-cell engager with {signs}",
                  temperature=temperature, fever=FEVER_C, signs=tuple(signs))
    return outcome.finding((why,), evidence)


def lifileucel_fever(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> Finding | None:
    """§8 "Lifileucel (Amtagvi) ... after discharge: fever, bleeding and infection signs as after CAR T
    (prolonged low blood counts), any fever urgent"."""
    temperature = checkin.temperature_c
    if not profiles.lifileucel or temperature is None or not has_fever(temperature):
        return None
    outcome = Outcome(condition="crs", rule_id="profile.lifileucel_fever", urgency=Urgency.URGENT,
                      instruction=_I_LIFILEUCEL_FEVER, source=SRC_LIFILEUCEL, grading_system=POLICY_SYSTEM)
    why = message("Temperature {temperature:.1f} °C ≥ {fever:.1f} °C after lifileucel (prolonged low blood counts)",
                  temperature=temperature, fever=FEVER_C)
    return outcome.finding((why,), {"temperature_c": temperature})


PROFILE_RULES: tuple[Callable[[CheckinInput, EvaluationContext, Profiles], RuleResult], ...] = (
    antibody_infusion_reaction,
    sipuleucel_infusion_reaction,
    cetuximab_rash,
    bevacizumab_warning,
    il2_weight_gain,
    il2_signs,
    il2_low_pressure_or_oxygen,
    interferon_depression,
    interferon_harm_thoughts,
    imid_swollen_limb,
    imid_breath_or_chest,
    imid_numbness,
    tvec_signs,
    bcg_high_fever,
    bcg_flu_like,
    engager_fever_emergency,
    lifileucel_fever,
)


def evaluate_profiles(checkin: CheckinInput, ctx: EvaluationContext, profiles: Profiles) -> list[Finding]:
    """The §8/§9 profile findings, in the order of ``PROFILE_RULES`` (each rule checks its own profile)."""
    return collect(rule(checkin, ctx, profiles) for rule in PROFILE_RULES)
