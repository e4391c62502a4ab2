"""The in-app inbox (/inbox/): staff, patients and caregivers read their in-app notifications here, in their
language and on their clock, and mark them read (`Notification.read_at`). The bodies carry no names or
diagnoses, like every channel's."""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_POST, require_safe

from monitoring.staff import request_zone
from notifications.services.inbox import INBOX_SIZE, inbox_entry, inbox_for, inbox_mark_read, safe_link
from tracker.language import reader_language
from tracker.models import Role
from tracker.selectors import patients_visible_to


def _reader_zone(request):
    """Times in the inbox: a staff member's center's clock, a patient's own, a caregiver's patient's."""
    if not request.user.is_staff_member:
        patient = patients_visible_to(request.user).order_by("pk").only("time_zone").first()
        if patient is not None:
            return patient.tz
    return request_zone(request)


def _inbox_language(request) -> str:
    """The reader's language: the footer switch if used, else a patient's own choice on her record (what the
    patient pages speak), else the person's."""
    if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or request.user.role != Role.PATIENT:
        return reader_language(request)
    record = getattr(request.user, "patient_record", None)
    return record.preferred_language if record is not None else reader_language(request)


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    """The signed-in person's in-app notifications, newest first, unread ones marked."""
    with translation.override(_inbox_language(request)):
        request.LANGUAGE_CODE = translation.get_language()
        with timezone.override(_reader_zone(request)):
            entries = [inbox_entry(n) for n in inbox_for(request.user)[:INBOX_SIZE]]
            return render(request, "notifications/inbox.html", {
                "entries": entries, "unread": sum(1 for e in entries if not e["read"])})


@login_required
@require_POST
def inbox_open(request: HttpRequest) -> HttpResponse:
    """Open one notification (`notification`, its uuid): it is marked read, then its link (a page of this
    site) is opened."""
    notification = get_object_or_404(inbox_for(request.user), uuid=_notification_id(request))
    inbox_mark_read(user=request.user, notification_id=notification.uuid)
    return redirect(safe_link(notification.context.get("link")) or reverse("inbox"))


@login_required
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    """Mark one notification (`notification`) or, without one, all of them read; back to the inbox."""
    inbox_mark_read(user=request.user, notification_id=_notification_id(request, required=False))
    return redirect("inbox")


def _notification_id(request: HttpRequest, *, required: bool = True):
    value = request.POST.get("notification", "")
    if not value and not required:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None
