"""What monitoring adds to a patient's pages: what to do after a check-in until the care team has acknowledged
its alert (monitoring/checkin_views.py patient_home), and why the no-driving window is
longer than the label's (clinical-rules §3; the context processor adds it beside the banner's window)."""

import datetime as dt

from django.db.models import Exists, F, OuterRef

from monitoring.models import AlertStatus, CheckinAssessment, WindowKind
from monitoring.rules import Urgency, driving
from tracker.models import CheckIn, Patient


def open_assessment(patient: Patient) -> CheckinAssessment | None:
    """The assessment whose instruction still stands: of the patient's current check-ins (not corrected since),
    the most urgent (then the latest) whose own most urgent alert is still open, i.e. no one on the care team
    has acknowledged it. Same-day and above: a routine finding waits for the next visit."""
    return (
        CheckinAssessment.objects.filter(
            checkin__patient=patient, urgency__gte=Urgency.SAME_DAY,
            alerts__status=AlertStatus.OPEN, alerts__urgency=F("urgency"),
        )
        .filter(~Exists(CheckIn.objects.amendments_of(OuterRef("checkin_id"))))
        .select_related("checkin")
        .order_by("-urgency", "-checkin__recorded_at")
        .first()
    )


def driving_extension(windows, today: dt.date) -> dict | None:
    """For an active no-driving window (of `windows`, the patient's) that a neurologic finding made longer
    (clinical-rules §3: at least the center's number of weeks after the event, **policy**): the new end, the
    date of the finding that set it, the weeks after it, and the end the label (with center policy) gave
    before. None when no window was extended."""
    for window in windows:
        if window.kind != WindowKind.DRIVING or not window.is_active_on(today) or not window.neuro_event_dates:
            continue
        before = driving.driving_window_end(window.starts_on, window.label_days, window.center_days)
        if window.ends_on <= before:
            continue
        event_on = max(dt.date.fromisoformat(d) for d in window.neuro_event_dates)
        days = (window.ends_on - event_on).days
        return {"ends_on": window.ends_on, "event_on": event_on, "ends_on_before": before,
                "weeks": days // 7 if days > 0 and days % 7 == 0 else None}
    return None
