"""Monitoring's part of a patient export: assessments, alerts with their events, windows, follow-ups."""

from monitoring.models import Alert, CheckinAssessment, FollowUp, Window
from tracker.models import Patient


def monitoring_export(patient: Patient) -> dict:
    return {
        "assessments": [
            {"checkin": a.checkin.uuid, "urgency": a.urgency_label, "instruction": a.instruction,
             "findings": a.findings, "evaluated_at": a.evaluated_at}
            for a in CheckinAssessment.objects.filter(checkin__patient=patient).select_related("checkin")
        ],
        "alerts": [
            {"id": alert.uuid, "condition": alert.condition, "status": alert.status, "urgency": alert.urgency_label,
             "title": alert.title, "rationale": alert.rationale, "evidence": alert.evidence,
             "opened_at": alert.opened_at, "resolved_at": alert.resolved_at, "resolution_note": alert.resolution_note,
             "events": [{"kind": e.kind, "at": e.at, "actor": e.actor.get_username() if e.actor else None,
                         "old_status": e.old_status, "new_status": e.new_status, "note": e.note}
                        for e in alert.events.all()]}
            for alert in Alert.objects.filter(patient=patient).prefetch_related("events__actor").order_by("opened_at")
        ],
        "windows": [
            {"kind": w.kind, "starts_on": w.starts_on, "ends_on": w.ends_on, "cleared_on": w.cleared_on,
             "clearance_reason": w.clearance_reason, "neuro_event_dates": w.neuro_event_dates,
             "events": [{"kind": e.kind, "at": e.at, "old_ends_on": e.old_ends_on, "new_ends_on": e.new_ends_on,
                         "note": e.note} for e in w.events.all()]}
            for w in Window.objects.filter(course__patient=patient).prefetch_related("events")
        ],
        "followups": [
            {"kind": f.kind, "due_at": f.due_at, "reason": f.reason, "answered": f.answered_by_id is not None}
            for f in FollowUp.objects.filter(patient=patient).order_by("due_at")
        ],
    }
