"""The therapy catalogue with the label facts of clinical-rules §3 (CAR T) and §4 (checkpoint inhibitors).

Loaded by a data migration and by `manage.py sync_catalogue`; both call `sync_catalogue`.
"""

CAR_T_SOURCE = "clinical-rules §1-§3 (US labels, June 2025 REMS removal)"
ICI_SOURCE = "clinical-rules §4 (CTCAE v5; NCCN/SITC/ASCO)"

CAR_T_WATCH = (
    "Call your care team at once for a temperature of 38.0 °C (100.4 °F) or higher, chills, dizziness or "
    "fainting, trouble breathing, a racing heart, confusion, trouble speaking, shaking, unusual sleepiness, "
    "or a seizure. Do not drive until your care team says you may."
)
CARVYKTI_WATCH = CAR_T_WATCH + (
    " For about three months, also tell your team about smaller handwriting, slower movement, a change in "
    "personality, clumsiness, or numbness or drooping of the face."
)
ICI_WATCH = (
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


def sync_catalogue(therapy_model) -> int:
    """Create or update every catalogue entry; returns how many rows were written."""
    for entry in THERAPIES:
        values = dict(entry)
        therapy_model.objects.update_or_create(code=values.pop("code"), defaults=values)
    return len(THERAPIES)
