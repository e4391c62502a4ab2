"""Monitoring's part of a patient export: assessments, alerts with their events, windows (CAR T and after each
dose, with their events), re-monitoring requests, follow-ups."""

from monitoring.models import Alert, CheckinAssessment, DoseWindow, FollowUp, RemonitorRequest, Window
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
        "dose_windows": [
            {"id": w.uuid, "kind": w.kind, "reason": w.reason, "dose": w.dose.uuid if w.dose else None,
             "checkin": w.checkin.uuid if w.checkin else None, "opens_at": w.opens_at, "closes_at": w.closes_at,
             "supervised": w.supervised, "cleared_at": w.cleared_at, "clearance_reason": w.clearance_reason,
             "withdrawn_at": w.withdrawn_at,
             "events": [{"kind": e.kind, "at": e.at, "old_closes_at": e.old_closes_at,
                         "new_closes_at": e.new_closes_at, "note": e.note} for e in w.events.all()]}
            for w in DoseWindow.objects.filter(course__patient=patient).select_related("dose", "checkin")
            .prefetch_related("events").order_by("opens_at", "id")
        ],
        "remonitor_requests": [
            {"condition": r.condition, "raised_at": r.raised_at, "consumed_by": r.consumed_by.uuid if r.consumed_by else None}
            for r in RemonitorRequest.objects.filter(course__patient=patient).select_related("consumed_by")
        ],
        "followups": [
            {"kind": f.kind, "due_at": f.due_at, "reason": f.reason, "answered": f.answered_by_id is not None}
            for f in FollowUp.objects.filter(patient=patient).order_by("due_at")
        ],
    }
