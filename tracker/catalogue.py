"""The therapy catalogue with the label facts of clinical-rules §3 (CAR T), §4 (checkpoint inhibitors) and §8
(T-cell engagers and TCR/TIL cell therapies, with their dose schedule templates: the block at the end).

Loaded by data migrations and by `manage.py sync_catalogue`; both call `sync_catalogue`, which writes only the
fields the (historical) model has: migration 0002 loads the products with the fields of its time, and a later
data migration (0010) the §8 fields.
"""

from django.utils.translation import gettext_noop

from tracker.dose_plans import (
    FROM_END,
    LABEL,
    POLICY,
    RESTART_NONE,
    RESTART_TECVAYLI,
    UNVERIFIED,
    DoseSchedule,
    DoseStep,
)

CAR_T_SOURCE = "clinical-rules §1-§3 (US labels, June 2025 REMS removal)"
ICI_SOURCE = "clinical-rules §4 (CTCAE v5; NCCN/SITC/ASCO)"

# The patients' "what to watch for" texts are marked for translation (shown through gettext on the patient's page);
# each is one whole msgid, so the Carvykti text repeats the CAR T one rather than adding to it.
CAR_T_WATCH = gettext_noop(
    "Call your care team at once for a temperature of 38.0 °C (100.4 °F) or higher, chills, dizziness or "
    "fainting, trouble breathing, a racing heart, confusion, trouble speaking, shaking, unusual sleepiness, "
    "or a seizure. Do not drive until your care team says you may."
)
CARVYKTI_WATCH = gettext_noop(
    "Call your care team at once for a temperature of 38.0 °C (100.4 °F) or higher, chills, dizziness or "
    "fainting, trouble breathing, a racing heart, confusion, trouble speaking, shaking, unusual sleepiness, "
    "or a seizure. Do not drive until your care team says you may."
    " For about three months, also tell your team about smaller handwriting, slower movement, a change in "
    "personality, clumsiness, or numbness or drooping of the face."
)
ICI_WATCH = gettext_noop(
    "Side effects can start weeks or months after treatment. Tell your care team about diarrhea or more "
    "stools than usual, blood in the stool, belly pain, a rash, a new cough or shortness of breath, yellow "
    "skin or eyes, dark urine, a bad headache, changes in eyesight, strong thirst, or muscle weakness. "
    "A temperature of 38.0 °C (100.4 °F) or higher means call at once."
)


def _car_t(code, brand, generic, target, *, crs=None, neuro=None, driving=14, proximity=14, unverified=False,
           extra="", watch=CAR_T_WATCH):
    facts = (
        f"No driving or heavy machinery for {driving} days after infusion; stay near the treating center for "
        f"{proximity} days; daily monitoring for at least the first 7 days (clinical-rules §3)."
    )
    if unverified:
        facts += " Periods from launch materials, unverified whether changed since (clinical-rules §3)."
    if crs:
        facts += f" Median CRS onset day {crs} (clinical-rules §1)."
    if neuro:
        facts += f" Median neurotoxicity onset day {neuro} (clinical-rules §2)."
    facts += extra
    return {
        "code": code, "brand_name": brand, "generic_name": generic, "therapy_class": "car_t", "target": target,
        "driving_restriction_days": driving, "proximity_days": proximity, "label_facts_unverified": unverified,
        "median_crs_onset_day": crs, "median_neuro_onset_day": neuro, "label_facts": facts,
        "patient_summary": watch, "source": CAR_T_SOURCE,
    }


def _ici(code, brand, generic, target):
    return {
        "code": code, "brand_name": brand, "generic_name": generic, "therapy_class": "checkpoint", "target": target,
        "driving_restriction_days": None, "proximity_days": None, "label_facts_unverified": False,
        "median_crs_onset_day": None, "median_neuro_onset_day": None,
        "label_facts": (
            f"{target} inhibitor. Immune-related side effects may start any time, median onset 2-15 weeks, and "
            "months after stopping; grade 3 or worse events come later than mild ones (clinical-rules §4)."
        ),
        "patient_summary": ICI_WATCH, "source": ICI_SOURCE,
    }


THERAPIES = [
    _car_t("kymriah", "Kymriah", "tisagenlecleucel", "CD19", crs=3, neuro=6),
    _car_t("yescarta", "Yescarta", "axicabtagene ciloleucel", "CD19", crs=2, neuro=4),
    _car_t("tecartus", "Tecartus", "brexucabtagene autoleucel", "CD19", crs=3, neuro=6),
    _car_t("breyanzi", "Breyanzi", "lisocabtagene maraleucel", "CD19", crs=4),
    _car_t("abecma", "Abecma", "idecabtagene vicleucel", "BCMA"),
    _car_t(
        "carvykti", "Carvykti", "ciltacabtagene autoleucel", "BCMA", crs=7, watch=CARVYKTI_WATCH,
        extra=(" Boxed warning for late neurotoxicity (parkinsonism, Guillain-Barré syndrome, facial palsy), "
               "onsets from day 20 to day 91: weekly late-neurotoxicity questions through day 100 "
               "(clinical-rules §2)."),
    ),
    _car_t("aucatzyl", "Aucatzyl", "obecabtagene autoleucel", "CD19", driving=56, proximity=28, unverified=True),
    _ici("pembrolizumab", "Keytruda", "pembrolizumab", "PD-1"),
    _ici("nivolumab", "Opdivo", "nivolumab", "PD-1"),
    _ici("cemiplimab", "Libtayo", "cemiplimab", "PD-1"),
    _ici("atezolizumab", "Tecentriq", "atezolizumab", "PD-L1"),
    _ici("avelumab", "Bavencio", "avelumab", "PD-L1"),
    _ici("durvalumab", "Imfinzi", "durvalumab", "PD-L1"),
    _ici("ipilimumab", "Yervoy", "ipilimumab", "CTLA-4"),
    _ici("tremelimumab", "Imjudo", "tremelimumab", "CTLA-4"),
    _ici("nivolumab_relatlimab", "Opdualag", "nivolumab and relatlimab", "LAG-3 + PD-1"),
]


def all_therapies() -> list[dict]:
    """Every catalogue entry: the list above and the §8 products."""
    return [*THERAPIES, *t_cell_therapies()]


def sync_catalogue(therapy_model) -> int:
    """Create or update every catalogue entry; returns how many rows were written. Only the fields the model
    has are written (a historical model in an old migration has fewer)."""
    known = {f.name for f in therapy_model._meta.get_fields()}
    entries = all_therapies()
    for entry in entries:
        values = {name: value for name, value in entry.items() if name in known}
        therapy_model.objects.update_or_create(code=values.pop("code"), defaults=values)
    return len(entries)


# --- clinical-rules §8: T-cell engagers and TCR/TIL cell therapies, with dose schedule templates --------------
# Each product: label facts citing §8, the source and the date of the label copy, the facts marked unverified or
# policy, and the schedule template. Monitoring hours are the §8 table's; where it says policy or gives none, a
# conservative default marked policy. The step names are translated where shown.

T_CELL_SOURCE = "clinical-rules §8 (US prescribing information; Crombie et al., Blood 2024)"
T_CELL_LABEL_DATE = "late 2025 copy of the label"
T_CELL_ENGAGER_WATCH = gettext_noop(
    "The first doses are the riskiest: the hours and days after each step-up dose and the first full dose. Call "
    "your care team at once for a temperature of 38.0 °C (100.4 °F) or higher, chills, dizziness or fainting, "
    "trouble breathing, a racing heart, confusion, trouble speaking, shaking, or unusual sleepiness. Do not drive "
    "during the step-up doses and for 48 hours after the last one, nor while you have any new nerve symptom."
)
TCR_TIL_WATCH = gettext_noop(
    "Call your care team at once for a temperature of 38.0 °C (100.4 °F) or higher, chills, dizziness or "
    "fainting, trouble breathing, a racing heart, confusion, trouble speaking, shaking, unusual sleepiness, "
    "or a seizure. Do not drive until your care team says you may."
    " Low blood counts can last for weeks: any fever, bleeding or bruising, or signs of infection mean call at once."
)
DRIVING_UNVERIFIED = {
    "topic": "driving", "status": UNVERIFIED,
    "note": "No driving during the step-up schedule and for 48 h after its last dose, and while a new neurologic "
            "symptom lasts: unverified for this product's current label (clinical-rules §8).",
}
RESTART_IS_POLICY = {
    "topic": "restart", "status": POLICY,
    "note": "No restart rule in clinical-rules §8 for this product: center policy, a dose more than 7 days after "
            "its planned date restarts at step-up dose 1 (conservative default).",
}

# Step names (translated where shown).
SU1, SU2, SU3 = gettext_noop("Step-up dose 1"), gettext_noop("Step-up dose 2"), gettext_noop("Step-up dose 3")
FIRST_TREATMENT = gettext_noop("First treatment dose")
FIRST_FULL = gettext_noop("First full dose")
WEEKLY = gettext_noop("Weekly treatment dose")
EVERY_2_WEEKS = gettext_noop("Treatment dose every 2 weeks")
LATER = gettext_noop("Later treatment dose")


def _step(code, name, day, monitor=0, *, step_up=True, status=LABEL, **extra) -> DoseStep:
    """A step on label day `day` (day 1 = the first dose; None: not in §8, dated by the care team)."""
    return DoseStep(code=code, name=name, day_offset=None if day is None else day - 1, step_up=step_up,
                    monitor_hours=monitor, monitor_status=status, **extra)


def _repeat(code, name, first_day, every) -> DoseStep:
    return DoseStep(code=code, name=name, day_offset=None if first_day is None else first_day - 1, step_up=False,
                    monitor_hours=0, repeats=True, repeats_every_days=every)


def _engager(code, brand, generic, target, schedule: DoseSchedule, facts: str, *, markers=(),
             therapy_class="t_cell_engager", watch=T_CELL_ENGAGER_WATCH) -> dict:
    return {
        "code": code, "brand_name": brand, "generic_name": generic, "therapy_class": therapy_class,
        "target": target, "driving_restriction_days": None, "proximity_days": None,
        # The §8 driving rule is unverified for every product.
        "label_facts_unverified": True, "median_crs_onset_day": None, "median_neuro_onset_day": None,
        "label_facts": facts, "patient_summary": watch, "source": T_CELL_SOURCE, "label_date": T_CELL_LABEL_DATE,
        "label_markers": [DRIVING_UNVERIFIED, *markers], "dose_schedule": schedule.as_json(),
    }


def t_cell_therapies() -> list[dict]:
    """The §8 products: T-cell engagers (bispecific antibodies) and TCR/TIL cell therapies."""
    after_48 = "Monitored 48 h after each dose of the step-up schedule"
    return [
        _engager("teclistamab", "Tecvayli", "teclistamab", "BCMA×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 48, label="step-up dose 1"), _step("su2", SU2, 4, 48, label="step-up dose 2"),
            _step("first_treatment", FIRST_TREATMENT, 7, 48), _repeat("weekly", WEEKLY, 14, 7),
        ), restart_rule=RESTART_TECVAYLI),
            f"{after_48} (SU1 day 1, SU2 day 4, first treatment dose day 7), then weekly. A weekly dose 29-56 days "
            "after the last one restarts at SU2, more than 56 days at SU1 (clinical-rules §8)."),
        _engager("talquetamab_weekly", "Talvey (weekly)", "talquetamab", "GPRC5D×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 48), _step("su2", SU2, 4, 48),
            _step("first_treatment", FIRST_TREATMENT, 7, 48, label="0.4 mg/kg"), _repeat("weekly", WEEKLY, 14, 7),
        )), f"{after_48} (SU1 day 1, SU2 day 4, 0.4 mg/kg day 7), then weekly. Median CRS onset 27 h after a dose, "
            "ICANS 24-32 h (clinical-rules §8).", markers=[RESTART_IS_POLICY]),
        _engager("talquetamab_q2w", "Talvey (every 2 weeks)", "talquetamab", "GPRC5D×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 48), _step("su2", SU2, 4, 48), _step("su3", SU3, 7, 48),
            _step("first_treatment", FIRST_TREATMENT, 10, 48, label="0.8 mg/kg"),
            _repeat("every_2_weeks", EVERY_2_WEEKS, 24, 14),
        )), f"{after_48} (SU1 day 1, SU2 day 4, SU3 day 7, 0.8 mg/kg day 10), then every 2 weeks. Median CRS onset "
            "27 h after a dose, ICANS 24-32 h (clinical-rules §8).", markers=[RESTART_IS_POLICY]),
        _engager("elranatamab", "Elrexfio", "elranatamab", "BCMA×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 48), _step("su2", SU2, 4, 24), _step("first_treatment", FIRST_TREATMENT, 8),
            _repeat("treatment", LATER, None, None),
        )), "Monitored 48 h after SU1 (day 1) and 24 h after SU2 (day 4); first treatment dose day 8. After a grade "
            "2 CRS or any ICANS, daily monitoring near a facility for 48 h after the next dose (clinical-rules §8).",
            markers=[RESTART_IS_POLICY]),
        _engager("linvoseltamab", "Lynozyfic", "linvoseltamab", "BCMA×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 24), _step("su2", SU2, 8, 24), _step("first_full", FIRST_FULL, 15),
            _repeat("treatment", LATER, None, None),
        )), "Monitored 24 h after SU1 (day 1) and after SU2 (day 8); first full dose day 15 (clinical-rules §8).",
            markers=[RESTART_IS_POLICY]),
        _engager("epcoritamab_dlbcl", "Epkinly (DLBCL)", "epcoritamab", "CD20×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1), _step("su2", SU2, 8),
            _step("first_full", FIRST_FULL, 15, 24, label="cycle 1 day 15"), _repeat("treatment", LATER, None, None),
        )), "DLBCL: step-up doses day 1 and day 8, first full dose day 15 of cycle 1; monitored 24 h after the cycle 1 "
            "day 15 dose (clinical-rules §8).", markers=[RESTART_IS_POLICY]),
        _engager("epcoritamab_fl", "Epkinly (FL)", "epcoritamab", "CD20×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 24, status=POLICY), _step("su2", SU2, 8, 24, status=POLICY),
            _step("su3", SU3, 15, 24, status=POLICY), _step("first_full", FIRST_FULL, 22, 24, status=POLICY),
            _repeat("treatment", LATER, None, None),
        )), "FL: step-up doses days 1, 8 and 15, first full dose day 22. Monitoring per center (clinical-rules §8: "
            "policy); default 24 h after each dose of the step-up schedule.",
            markers=[{"topic": "monitoring", "status": POLICY,
                      "note": "Monitoring after FL doses is center policy (clinical-rules §8); default 24 h after "
                              "each step-up-schedule dose."}, RESTART_IS_POLICY]),
        _engager("glofitamab", "Columvi", "glofitamab", "CD20×CD3", DoseSchedule(steps=(
            _step("obinutuzumab", gettext_noop("Obinutuzumab pretreatment"), 1, step_up=False),
            _step("su1", SU1, 8, 24, status=UNVERIFIED, label="2.5 mg"), _step("su2", SU2, 15, label="10 mg"),
            _step("c2d1", gettext_noop("Cycle 2 day 1"), None, label="30 mg"),
            _repeat("treatment", LATER, None, None),
        )), "Obinutuzumab day 1; 2.5 mg day 8, 10 mg day 15, 30 mg cycle 2 day 1. Monitored 24 h after the first "
            "step-up dose: from a Swiss label, unverified (clinical-rules §8).",
            markers=[{"topic": "monitoring", "status": UNVERIFIED,
                      "note": "24 h after the first step-up dose is from a Swiss label (clinical-rules §8)."},
                     RESTART_IS_POLICY]),
        _engager("mosunetuzumab", "Lunsumio (IV)", "mosunetuzumab", "CD20×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 24, status=POLICY, label="1 mg"), _step("su2", SU2, 8, 24, status=POLICY, label="2 mg"),
            _step("c1d15", gettext_noop("Cycle 1 day 15"), 15, 24, status=POLICY, label="60 mg"),
            _step("c2d1", gettext_noop("Cycle 2 day 1"), None, 24, status=POLICY, label="60 mg"),
            _repeat("treatment", LATER, None, None),
        ), route="iv", note="IV and subcutaneous forms have different schedules: record the route."),
            "IV: 1 mg day 1, 2 mg day 8, 60 mg day 15, 60 mg cycle 2 day 1. Monitoring not stated (clinical-rules §8: "
            "policy); default 24 h after each dose of the step-up schedule. IV and subcutaneous schedules differ: "
            "the route is recorded with each dose.",
            markers=[{"topic": "monitoring", "status": POLICY,
                      "note": "Monitoring not stated (clinical-rules §8); default 24 h after each step-up-schedule "
                              "dose."}, RESTART_IS_POLICY]),
        _engager("tarlatamab", "Imdelltra", "tarlatamab", "DLL3×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 24, nearby_hours=48, label="1 mg"),
            _step("first_treatment", FIRST_TREATMENT, 8, 24, nearby_hours=48, label="10 mg"),
            _step("d15", gettext_noop("Day 15 dose"), 15, step_up=False, label="10 mg"),
            _repeat("every_2_weeks", EVERY_2_WEEKS, 29, 14),
        )), "1 mg day 1, 10 mg day 8 and day 15, then every 2 weeks. Monitored 22-24 h from the start of the "
            "infusion on day 1 and day 8, then within 1 hour of care with a caregiver for 48 h from the start of the "
            "infusion. Median CRS onset 16 h (clinical-rules §8).", markers=[RESTART_IS_POLICY]),
        _engager("tebentafusp", "Kimmtrak", "tebentafusp", "gp100×CD3", DoseSchedule(steps=(
            _step("su1", SU1, 1, 16, monitor_from=FROM_END, label="20 µg"),
            _step("su2", SU2, 8, 16, monitor_from=FROM_END, label="30 µg"),
            _step("first_treatment", FIRST_TREATMENT, 15, 16, monitor_from=FROM_END, label="68 µg"),
            _repeat("weekly", WEEKLY, 22, 7),
        )), "20 µg day 1, 30 µg day 8, 68 µg day 15, then weekly. Monitored at least 16 h after the end of each of "
            "the first 3 infusions; 84 % of CRS on the infusion day (clinical-rules §8).", markers=[RESTART_IS_POLICY]),
        _engager("blinatumomab", "Blincyto", "blinatumomab", "CD19×CD3", DoseSchedule(steps=(
            _step("infusion_c1", gettext_noop("Cycle 1 infusion start"), 1, 216, label="first 9 days"),
            _step("infusion_c2", gettext_noop("Cycle 2 infusion start"), None, 48, label="first 2 days"),
            _repeat("infusion_cycle", gettext_noop("Later cycle infusion start"), None, None),
            DoseStep(code="infusion_restart", name=gettext_noop("Infusion restart after an interruption"),
                     day_offset=None, step_up=False, monitor_hours=48, monitor_status=POLICY, repeats=True),
        ), restart_rule=RESTART_NONE, continuous_infusion=True),
            "Continuous infusion cycles. Monitored the first 9 days of cycle 1 and 2 days of cycle 2 (relapsed "
            "disease), and again after any interruption of 4 h or more (duration not stated: policy default 48 h). "
            "Median CRS onset 2 days after the start. No driving while the infusion runs (clinical-rules §8).",
            markers=[{"topic": "monitoring", "status": POLICY,
                      "note": "Monitoring after an interruption of 4 h or more: duration not stated (clinical-rules "
                              "§8); default 48 h."}]),
        _engager("afamitresgene", "Tecelra", "afamitresgene autoleucel", "MAGE-A4 (TCR)", DoseSchedule(steps=(
            _step("infusion", gettext_noop("Cell infusion"), 1, 168, step_up=False, label="at the facility 7 days"),
        ), restart_rule=RESTART_NONE),
            "CRS in 75 %, median onset day 2. Monitored at least 7 days at the facility and for CRS at least 4 "
            "weeks: treated like CAR T (clinical-rules §1-§3) with a 4-week monitoring period (clinical-rules §8).",
            therapy_class="tcr_til", watch=TCR_TIL_WATCH),
        _engager("lifileucel", "Amtagvi", "lifileucel", "TIL", DoseSchedule(steps=(
            DoseStep(code="infusion", name=gettext_noop("Cell infusion"), day_offset=0, step_up=False,
                     monitor_hours=None, label="in hospital with IL-2"),
        ), restart_rule=RESTART_NONE),
            "Given in hospital with IL-2. After discharge: fever, bleeding and infection signs as after CAR T "
            "(prolonged low blood counts); any fever urgent (clinical-rules §8).",
            therapy_class="tcr_til", watch=TCR_TIL_WATCH),
    ]


# --- §9 monitoring profiles: other immunotherapies of the patient guide ------------------------------------
# Products whose home monitoring follows clinical-rules §9 (same urgency scale). Only the existing Therapy
# fields are used; the rules pick the profile from the therapy class (and, for the two cytokines, the code:
# monitoring/rules/profiles.py). The watch texts are marked for translation (shown through gettext on the
# patient's page); the label facts are staff-facing.
PROFILE_SOURCE = "clinical-rules §9 (US labels, late 2025 copies)"

ANTIBODY_WATCH = gettext_noop(
    "Reactions to the infusion mostly happen during it or within a day of it. In that time, call your care "
    "team at once for fever, chills, flushing, a rash, itching or dizziness; call 911 for trouble breathing."
)
CETUXIMAB_WATCH = gettext_noop(
    "Reactions to the infusion mostly happen during it or within a day of it. In that time, call your care "
    "team at once for fever, chills, flushing, a rash, itching or dizziness; call 911 for trouble breathing. "
    "This medicine can cause a serious rash: tell your care team about any rash, and call at once for a large "
    "rash, blisters, peeling skin, or sores in the mouth or eyes."
)
BEVACIZUMAB_WATCH = gettext_noop(
    "Reactions to the infusion mostly happen during it or within a day of it. In that time, call your care "
    "team at once for fever, chills, flushing, a rash, itching or dizziness; call 911 for trouble breathing. "
    "At any time, call your care team at once for bleeding, chest pain, or a sudden, severe headache."
)
# The patient's page shows IL-2's text with the center's weight-gain limit (policy il2_weight_gain_kg) in the
# patient's unit (monitoring.patient_pages.watch_text); the catalogue keeps the default's wording.
IL2_WATCH_WITH_LIMIT = gettext_noop(
    "Weigh yourself every day, at the same time and on the same scale. Call your care team at once if you "
    "have gained %(gain)s or more since treatment started, pass much less urine than usual, are "
    "short of breath, or are confused or very drowsy. Call 911 if the top number of your blood pressure is "
    "below 90 or your oxygen reading is below 90 %%."
)
IL2_WATCH = gettext_noop(
    "Weigh yourself every day, at the same time and on the same scale. Call your care team at once if you "
    "have gained 2 kg (about 4.5 lb) or more since treatment started, pass much less urine than usual, are "
    "short of breath, or are confused or very drowsy. Call 911 if the top number of your blood pressure is "
    "below 90 or your oxygen reading is below 90 %."
)
INTERFERON_WATCH = gettext_noop(
    "Mood changes can happen during treatment and for up to 6 months after the last dose. Call your care "
    "team at once if you feel low or have lost interest in things you usually enjoy, or if you have thoughts "
    "of harming yourself or someone else. A crisis line (988 in the US) answers at any time."
)
IMMUNOMODULATOR_WATCH = gettext_noop(
    "This medicine can cause blood clots. Call 911 for sudden shortness of breath or chest pain. Your care "
    "team needs to know the same day about a swollen, painful leg or arm. Tell them at your next visit about "
    "numbness or tingling in your hands or feet."
)
TVEC_WATCH = gettext_noop(
    "Keep the injection sites covered with airtight dressings for at least a week after each treatment. "
    "Call your care team at once for painful blisters, eye pain or eyes that hurt in the light, confusion, "
    "or extreme drowsiness."
)
BCG_WATCH = gettext_noop(
    "Burning when you pass urine is expected for 1 to 3 days after a treatment. Call your care team at once "
    "for a temperature of 39.4 °C (103 °F) or higher, or for flu-like symptoms (fever, chills, aches, "
    "tiredness) that last more than 3 days (72 hours)."
)
SIPULEUCEL_WATCH = gettext_noop(
    "Reactions mostly happen within a day of each infusion. In that time, call your care team at once for "
    "fever, chills or fainting; call 911 for trouble breathing."
)


def _profile(code, brand, generic, therapy_class, target, facts, watch):
    """A §9 catalogue entry: no driving or proximity periods (the labels set none, clinical-rules §9)."""
    return {
        "code": code, "brand_name": brand, "generic_name": generic, "therapy_class": therapy_class,
        "target": target, "driving_restriction_days": None, "proximity_days": None, "label_facts_unverified": False,
        "median_crs_onset_day": None, "median_neuro_onset_day": None, "label_facts": facts,
        "patient_summary": watch, "source": PROFILE_SOURCE,
    }


_ANTIBODY_FACTS = (
    "Infusion reactions (fever, chills, weakness, headache, nausea, vomiting, diarrhea, low blood pressure, "
    "rash), mostly during or within a day of the infusion: as the §4 infusion reaction, urgent; trouble "
    "breathing emergency (clinical-rules §9)."
)
PROFILE_THERAPIES = [
    _profile("rituximab", "Rituxan", "rituximab", "antibody", "CD20", _ANTIBODY_FACTS, ANTIBODY_WATCH),
    _profile("trastuzumab", "Herceptin", "trastuzumab", "antibody", "HER2", _ANTIBODY_FACTS, ANTIBODY_WATCH),
    _profile("cetuximab", "Erbitux", "cetuximab", "antibody", "EGFR",
             _ANTIBODY_FACTS + " Serious rashes: graded as the §4 rash (clinical-rules §9).", CETUXIMAB_WATCH),
    _profile("bevacizumab", "Avastin", "bevacizumab", "antibody", "VEGF-A",
             _ANTIBODY_FACTS + " Bleeding, chest pain, sudden severe headache: urgent (center policy, "
                               "clinical-rules §9).", BEVACIZUMAB_WATCH),
    _profile("aldesleukin", "Proleukin", "aldesleukin", "cytokine", "IL-2 receptor",
             "Capillary leak: weight gain of 5-10 lb (2-4.5 kg) or more, passing much less urine, shortness of "
             "breath, confusion or drowsiness: urgent; systolic BP < 90 or SpO2 < 90 %: emergency "
             "(clinical-rules §9).", IL2_WATCH),
    _profile("interferon_alfa_2b", "Intron A", "interferon alfa-2b", "cytokine", "Interferon-alfa receptor",
             "Depression, thoughts of self-harm or of harming others, during treatment and up to 6 months "
             "after the last dose: urgent, with the crisis line shown (center policy: 988 in the US) "
             "(clinical-rules §9).", INTERFERON_WATCH),
    _profile("lenalidomide", "Revlimid", "lenalidomide", "immunomodulator", "Cereblon",
             "Blood clots: swollen, painful leg or arm same-day; sudden shortness of breath or chest pain "
             "emergency; numbness or tingling of hands or feet routine (clinical-rules §9).",
             IMMUNOMODULATOR_WATCH),
    _profile("pomalidomide", "Pomalyst", "pomalidomide", "immunomodulator", "Cereblon",
             "Blood clots: swollen, painful leg or arm same-day; sudden shortness of breath or chest pain "
             "emergency; numbness or tingling of hands or feet routine (clinical-rules §9).",
             IMMUNOMODULATOR_WATCH),
    _profile("thalidomide", "Thalomid", "thalidomide", "immunomodulator", "Cereblon",
             "Blood clots: swollen, painful leg or arm same-day; sudden shortness of breath or chest pain "
             "emergency; numbness or tingling of hands or feet routine (clinical-rules §9).",
             IMMUNOMODULATOR_WATCH),
    _profile("talimogene_laherparepvec", "Imlygic", "talimogene laherparepvec", "oncolytic_virus",
             "Oncolytic HSV-1 (GM-CSF)",
             "Injection sites covered with airtight dressings for at least 1 week after each treatment. Painful "
             "blisters, confusion, extreme drowsiness, eye pain or light sensitivity: urgent (clinical-rules §9).",
             TVEC_WATCH),
    _profile("bcg", "TICE BCG", "BCG live (intravesical)", "intravesical_bcg", "Bladder (intravesical)",
             "Bladder burning for 1-3 days is expected. Fever >= 39.4 °C (103 °F), or flu-like symptoms "
             "lasting more than 72 h: urgent, possible systemic BCG infection (clinical-rules §9).", BCG_WATCH),
    _profile("sipuleucel_t", "Provenge", "sipuleucel-T", "cell_vaccine", "PAP (prostatic acid phosphatase)",
             "Reactions within a day of each infusion (fever, chills, breathing trouble, fainting): as the §4 "
             "infusion reaction (clinical-rules §9).", SIPULEUCEL_WATCH),
]
THERAPIES += PROFILE_THERAPIES
