"""Staff pages of monitoring. The alert page is where every message links; the template lists the
alert's notifications (delivery status) through the reverse relation the notifications app adds."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from monitoring import selectors
from monitoring.services.alerts import alert_acknowledge, alert_resolve
from tracker.errors import ApplicationError


def _staff_alert(request: HttpRequest, alert_id):
    if not request.user.is_staff_member:
        raise Http404
    return get_object_or_404(
        selectors.alerts_visible_to(request.user).select_related("patient__center", "acknowledged_by", "resolved_by"),
        uuid=alert_id,
    )


@login_required
def alert_detail(request: HttpRequest, alert_id) -> HttpResponse:
    alert = _staff_alert(request, alert_id)
    return render(request, "monitoring/alert_detail.html", {
        "alert": alert, "events": alert.events.select_related("actor", "checkin"),
    })


@login_required
@require_POST
def alert_action(request: HttpRequest, alert_id, action: str) -> HttpResponse:
    alert = _staff_alert(request, alert_id)
    note = request.POST.get("note", "")
    try:
        if action == "acknowledge":
            alert_acknowledge(alert=alert, user=request.user, note=note)
        elif action == "resolve":
            alert_resolve(alert=alert, user=request.user, note=note)
        else:
            raise Http404
    except ApplicationError as exc:
        alert.refresh_from_db()
        return render(request, "monitoring/alert_detail.html", {
            "alert": alert, "events": alert.events.select_related("actor", "checkin"),
            "error": exc.detail, "fields": exc.fields, "note": note,
        }, status=exc.status_code)
    return redirect("alert-detail", alert_id=alert.uuid)
