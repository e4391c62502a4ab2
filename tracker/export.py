"""A one-patient export (JSON) for a records request. Each layer adds its own section through
`register_export_section`, so the records layer never imports the layers above it."""

from collections.abc import Callable

from django.utils import timezone

from tracker.models import CheckIn, Patient

_sections: dict[str, Callable[[Patient], object]] = {}


def register_export_section(name: str, build: Callable[[Patient], object]) -> None:
    _sections[name] = build


def _checkins(patient: Patient) -> list[dict]:
    fields = [f.name for f in CheckIn._meta.fields if f.name not in ("id", "patient", "entered_by", "amends")]
    rows = []
    for checkin in patient.checkins.select_related("entered_by", "amends").order_by("recorded_at"):
        row = {name: getattr(checkin, name) for name in fields}
        row.update({"entered_by": checkin.entered_by.get_username(),
                    "amends": str(checkin.amends.uuid) if checkin.amends else None})
        rows.append(row)
    return rows


def patient_export(patient: Patient) -> dict:
    data = {
        "exported_at": timezone.now(),
        "patient": {
            "id": patient.uuid, "mrn": patient.mrn, "first_name": patient.first_name, "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth, "time_zone": patient.time_zone,
            "preferred_language": patient.preferred_language, "phone": patient.phone, "email": patient.email,
            "center": patient.center.name, "care_team": patient.care_team.name,
            "baseline_ice_score": patient.baseline_ice_score,
        },
        "caregivers": [{"username": link.user.get_username(), "name": link.user.get_full_name(),
                        "relationship": link.relationship} for link in patient.caregiver_links.select_related("user")],
        "treatment_courses": [
            {"id": c.uuid, "therapy": c.therapy.code, "start_date": c.start_date, "last_dose_date": c.last_dose_date,
             "status": c.status, "care_team": c.care_team.name}
            for c in patient.courses.select_related("therapy", "care_team").order_by("start_date")
        ],
        "checkins": _checkins(patient),
    }
    for name, build in _sections.items():
        data[name] = build(patient)
    return data
