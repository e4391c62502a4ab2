"""What a patient must do without the tracker's answer: the emergency signs (call 911) and the call-now signs
(call the care team, day or night) of their therapy, in our own plain words (clinical-rules §6).

The offline page shows these when a check-in cannot be sent: the grade needs the server, but a patient is
never left without "call 911" for an emergency sign. Each sign names the section of
shared/clinical-rules.md it comes from; the levels are those of clinical-rules "Urgency levels".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from tracker.questions import (
    ANTIBODY,
    BEVACIZUMAB,
    CAR_T,
    CARVYKTI,
    CELL_VACCINE,
    CETUXIMAB,
    CHECKPOINT,
    IL2,
    IMMUNOMODULATOR,
    INTERFERON,
    INTRAVESICAL_BCG,
    ONCOLYTIC_VIRUS,
    T_CELL_ENGAGER,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class Sign:
    text: StrOrPromise
    applies_to: str  # a question group of tracker.questions (ALL, CAR_T, ...)
    source: str


# clinical-rules "Urgency levels": emergency = call 911 / go to the emergency department now, then the care team.
EMERGENCY_SIGNS: tuple[Sign, ...] = (
    Sign(_("A temperature of 38.0 °C (100.4 °F) or higher with dizziness or fainting, new shortness of breath, "
           "or a low blood pressure or oxygen reading"),
         CAR_T, "clinical-rules §1: fever plus a possible grade 2 sign (home limits: center policy)"),
    Sign(_("A seizure (fit)"), CAR_T, "clinical-rules §2: any seizure"),
    Sign(_("Very hard to wake: wakes only when spoken to or touched, or cannot be woken"),
         CAR_T, "clinical-rules §2: wakes only to voice or worse, unrousable"),
    Sign(_("Weakness on one side of the body"), CAR_T, "clinical-rules §2: one-sided weakness"),
    Sign(_("Short of breath even when resting"), CHECKPOINT, "clinical-rules §4: lungs, breathless at rest"),
    Sign(_("Chest pain"), CHECKPOINT, "clinical-rules §4: lungs, chest pain"),
    Sign(_("Trouble breathing during an infusion or within a day of it"),
         CHECKPOINT, "clinical-rules §4: infusion reaction with trouble breathing"),
    # §8/§9 monitoring profiles (T-cell engagers and TCR/TIL therapies also get the CAR T signs above).
    Sign(_("A temperature of 38.0 °C (100.4 °F) or higher with confusion or weakness"),
         T_CELL_ENGAGER, "clinical-rules §8: fever after a T-cell engager with confusion or weakness (Crombie 2024)"),
    Sign(_("Trouble breathing during an infusion or within a day of it"),
         ANTIBODY, "clinical-rules §9: antibody infusion reaction with trouble breathing (as §4)"),
    Sign(_("Trouble breathing during an infusion or within a day of it"),
         CELL_VACCINE, "clinical-rules §9: sipuleucel-T infusion reaction with trouble breathing (as §4)"),
    Sign(_("A top blood pressure number below 90, or an oxygen reading below 90 %"),
         IL2, "clinical-rules §9: interleukin-2, SBP < 90 or SpO2 < 90 %"),
    Sign(_("Sudden shortness of breath or chest pain"),
         IMMUNOMODULATOR, "clinical-rules §9: lenalidomide, pomalidomide, thalidomide, blood clot"),
)

# clinical-rules "Urgency levels": urgent = call your care team now (24/7 number shown).
CALL_NOW_SIGNS: tuple[Sign, ...] = (
    Sign(_("A temperature of 38.0 °C (100.4 °F) or higher, even once"),
         CAR_T, "clinical-rules §1 and §3: any fever after CAR T"),
    Sign(_("A temperature of 38.0 °C (100.4 °F) or higher, even once"),
         CHECKPOINT, "clinical-rules §4: fever of 38.0 °C or more once"),
    Sign(_("Chills or shaking"), CAR_T, "clinical-rules §1: wallet-card call-now list"),
    Sign(_("Dizziness or fainting, or new shortness of breath"),
         CAR_T, "clinical-rules §1: possible grade 2 sign without fever"),
    Sign(_("Bad nausea, vomiting or diarrhea"), CAR_T, "clinical-rules §1: wallet-card call-now list"),
    Sign(_("Heart racing, pounding or skipping"), CAR_T, "clinical-rules §1: wallet-card call-now list"),
    Sign(_("So tired you can hardly get out of bed, or bad muscle or joint pain"),
         CAR_T, "clinical-rules §1: wallet-card call-now list"),
    Sign(_("Confusion, restlessness, trouble speaking or understanding, unsteady walking, new shaking of the "
           "hands, or unusual sleepiness"),
         CAR_T, "clinical-rules §2: early neurologic signs"),
    Sign(_("Smaller handwriting, slower movement, a change in personality, clumsiness, numbness or drooping of "
           "the face, or numbness or weakness in the legs"),
         CARVYKTI, "clinical-rules §2: Carvykti late neurotoxicity"),
    Sign(_("Heart racing, or new muscle weakness"), CHECKPOINT, "clinical-rules §4: myocarditis, myositis"),
    Sign(_("Blisters, peeling skin, or sores in the mouth or eyes"),
         CHECKPOINT, "clinical-rules §4: possible severe skin reaction"),
    Sign(_("Seven or more extra stools in a day, or bad belly pain"),
         CHECKPOINT, "clinical-rules §4: diarrhea grade 3 or severe pain"),
    Sign(_("Confusion or fainting"), CHECKPOINT, "clinical-rules §4: hormones, with confusion or fainting"),
    Sign(_("Fever, chills, flushing, rash, itching, dizziness or wheezing during an infusion or within a day "
           "of it"),
         CHECKPOINT, "clinical-rules §4: infusion reaction"),
    # §9 monitoring profiles.
    Sign(_("Fever, chills, flushing, rash, itching, dizziness or wheezing during an infusion or within a day "
           "of it"),
         ANTIBODY, "clinical-rules §9: antibody infusion reaction (as §4)"),
    Sign(_("Fever, chills, flushing, rash, itching, dizziness or wheezing during an infusion or within a day "
           "of it"),
         CELL_VACCINE, "clinical-rules §9: sipuleucel-T infusion reaction (as §4)"),
    Sign(_("Blisters, peeling skin, or sores in the mouth or eyes"),
         CETUXIMAB, "clinical-rules §9: cetuximab severe rash (as §4)"),
    Sign(_("Bleeding, chest pain, or a sudden, severe headache"),
         BEVACIZUMAB, "clinical-rules §9: bevacizumab (urgency is center policy)"),
    Sign(_("Weight gain since treatment started (2 kg, about 4.5 lb, or more), passing much less urine, "
           "shortness of breath, confusion or drowsiness"),
         IL2, "clinical-rules §9: interleukin-2 capillary leak (2 kg: center policy default)"),
    Sign(_("Feeling low or hopeless, or thoughts of harming yourself or someone else (a crisis line, 988 in "
           "the US, also answers at any time)"),
         INTERFERON, "clinical-rules §9: interferon alfa (crisis line: center policy)"),
    Sign(_("Painful blisters, eye pain or eyes that hurt in the light, confusion, or extreme drowsiness"),
         ONCOLYTIC_VIRUS, "clinical-rules §9: talimogene laherparepvec"),
    Sign(_("A temperature of 39.4 °C (103 °F) or higher, or flu-like symptoms lasting more than 3 days"),
         INTRAVESICAL_BCG, "clinical-rules §9: intravesical BCG"),
)


def _for(signs: tuple[Sign, ...], question_groups: set[str]) -> list[Sign]:
    chosen: list[Sign] = []
    seen: set[str] = set()
    for sign in signs:
        if sign.applies_to in question_groups and str(sign.text) not in seen:
            seen.add(str(sign.text))
            chosen.append(sign)
    return chosen


def emergency_signs(question_groups: set[str]) -> list[Sign]:
    return _for(EMERGENCY_SIGNS, question_groups)


def call_now_signs(question_groups: set[str]) -> list[Sign]:
    return _for(CALL_NOW_SIGNS, question_groups)
