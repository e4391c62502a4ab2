"""The therapy catalogue with the label facts of clinical-rules §3 (CAR T) and §4 (checkpoint inhibitors).

Loaded by a data migration and by `manage.py sync_catalogue`; both call `sync_catalogue`.
"""

from django.utils.translation import gettext_noop

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
