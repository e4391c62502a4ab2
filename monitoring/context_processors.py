"""Puts the patient's no-driving banner and due follow-up questions on every page about that patient
(the patient's own pages, a caregiver's, and staff views of a patient)."""

from django.utils import timezone

from monitoring.patient_pages import driving_extension
from monitoring.selectors import due_followups, next_checkin_expected, patient_windows
from tracker.models import Role
from tracker.selectors import patients_visible_to

EMPTY: dict[str, object] = {"banner_patient": None, "driving_window": None, "proximity_window": None, "due_followups": [],
         "next_checkin_on": None, "driving_extension": None}


def patient_monitoring(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return EMPTY
    match = getattr(request, "resolver_match", None)
    patient_id = match.kwargs.get("patient_id") if match else None
    visible = patients_visible_to(user).select_related("center")
    if patient_id is not None:
        patient = visible.filter(uuid=patient_id).first()
    elif user.role in (Role.PATIENT, Role.CAREGIVER):
        patient = visible.first()
    else:
        patient = None
    if patient is None:
        return EMPTY
    today = timezone.localtime(timezone.now(), patient.tz).date()
    windows = patient_windows(patient, today)
    return {
        "banner_patient": patient,
        "driving_window": next((w for w in windows if w["kind"] == "driving" and w["active"]), None),
        "proximity_window": next((w for w in windows if w["kind"] == "proximity" and w["active"]), None),
        "due_followups": list(due_followups(patient, timezone.now())),
        "next_checkin_on": next_checkin_expected(patient),
        # Why the no-driving window is longer than the label's, when a neurologic finding extended it (§3).
        "driving_extension": driving_extension([w["window"] for w in windows], today),
    }
