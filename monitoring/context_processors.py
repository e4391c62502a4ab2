"""Puts the patient's no-driving banner and due follow-up questions on every page about that patient
(the patient's own pages, a caregiver's, and staff views of a patient). On a caregiver's pages about no one
patient (choosing whom to check in for, the inbox), each of their patients' no-driving and stay-nearby windows
gets a banner of its own that names the patient.

The windows after T-cell engager doses (clinical-rules §8) join them: no driving (during and after the step-up
doses, while a continuous infusion runs, or after a neurologic finding) and tarlatamab's stay within 1 hour of
care with a caregiver, each saying what opened it and until when, on the patient's clock."""

from django.db.models import Exists, OuterRef
from django.utils import timezone

from monitoring.models import DoseWindow
from monitoring.patient_pages import dose_window_cards, driving_extension
from monitoring.selectors import due_followups, next_checkin_expected, patient_windows
from tracker.models import Role
from tracker.selectors import patients_visible_to

MAX_NAMED = 20  # a caregiver cares for a few people; the banners stop short of a list

EMPTY: dict[str, object] = {"banner_patient": None, "driving_window": None, "proximity_window": None, "due_followups": [],
         "next_checkin_on": None, "driving_extension": None, "named_windows": [], "dose_banners": []}

_BANNER_KINDS = ("dose_nearby", "dose_driving")  # where to be first, then no driving


def dose_banners(patient, now) -> list[dict]:
    """The no-driving and stay-nearby windows after doses open now (clinical-rules §8): of each kind the one that
    lasts longest (open-ended first), as dose_window_cards gives them. One query, none when the patient row was
    loaded with `has_dose_banners` false (the patient lookup below answers it)."""
    if not getattr(patient, "has_dose_banners", True):
        return []
    best: dict[str, dict] = {}
    for card in dose_window_cards(patient, now):
        kind = card["kind"]
        if kind not in _BANNER_KINDS:
            continue
        held = best.get(kind)
        if held is None or (held["until"] is not None and (card["until"] is None or card["until"] > held["until"])):
            best[kind] = card
    return [best[kind] for kind in _BANNER_KINDS if kind in best]


def _active(windows: list[dict], kind: str) -> dict | None:
    return next((w for w in windows if w["kind"] == kind and w["active"]), None)


def _named_windows(patients) -> list[dict]:
    """For a caregiver of several patients: each patient's active no-driving and stay-nearby windows and due
    follow-up questions, named."""
    named = []
    now = timezone.now()
    for patient in patients:
        windows = patient_windows(patient, timezone.localtime(now, patient.tz).date())
        driving, proximity = _active(windows, "driving"), _active(windows, "proximity")
        followups = list(due_followups(patient, now))
        doses = dose_banners(patient, now)
        if driving or proximity or followups or doses:
            named.append({"patient": patient, "driving_window": driving, "proximity_window": proximity,
                          "due_followups": followups, "dose_banners": doses})
    return named


def patient_monitoring(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return EMPTY
    match = getattr(request, "resolver_match", None)
    patient_id = match.kwargs.get("patient_id") if match else None
    # Whether any dose window for the banner is open, in the query that loads the patient: no query more for the
    # great majority without one.
    in_force = DoseWindow.objects.in_force(timezone.now()).filter(course__patient=OuterRef("pk"), kind__in=_BANNER_KINDS)
    visible = patients_visible_to(user).select_related("center").annotate(has_dose_banners=Exists(in_force))
    if patient_id is not None:
        patient = visible.filter(uuid=patient_id).first()
    elif user.role in (Role.PATIENT, Role.CAREGIVER):
        patients = list(visible.order_by("last_name", "first_name", "pk")[:MAX_NAMED + 1])
        if len(patients) > 1:  # whose window it is must be said: one banner per patient, named
            return {**EMPTY, "named_windows": _named_windows(patients[:MAX_NAMED])}
        patient = patients[0] if patients else None
    else:
        patient = None
    if patient is None:
        return EMPTY
    today = timezone.localtime(timezone.now(), patient.tz).date()
    windows = patient_windows(patient, today)
    return {
        **EMPTY,
        "banner_patient": patient,
        "driving_window": _active(windows, "driving"),
        "proximity_window": _active(windows, "proximity"),
        "due_followups": list(due_followups(patient, timezone.now())),
        "next_checkin_on": next_checkin_expected(patient),
        "dose_banners": dose_banners(patient, timezone.now()),
        # Why the no-driving window is longer than the label's, when a neurologic finding extended it (§3).
        "driving_extension": driving_extension([w["window"] for w in windows], today),
    }
