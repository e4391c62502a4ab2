"""Pages for patients, caregivers and staff. They work without JavaScript. The patient's home and check-in
pages show what monitoring found, so they are monitoring's (monitoring/checkin_views.py)."""

import sys

from django import db
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tracker import selectors
from tracker.audit import audit
from tracker.http import SignedInRequest
from tracker.language import reader_language
from tracker.models import Patient, Role

QUEUE_HEADER = "X-Checkin-Queue"  # the service worker's resend of a check-in queued on the phone (static/js/sw.js)

def visible_patient(request: SignedInRequest, patient_id) -> Patient:
    patient = (
        selectors.patients_visible_to(request.user)
        .select_related("center", "care_team")
        .filter(uuid=patient_id)
        .first()
    )
    if patient is None:
        raise Http404("No such patient in your care.")
    audit(request, "view" if request.method == "GET" else "create", patient=patient)
    return patient


def activate_patient_language(request: SignedInRequest, patient: Patient) -> None:
    """Patient-facing pages follow the patient's language unless the reader picked one."""
    if request.user.role in (Role.PATIENT, Role.CAREGIVER) and not request.COOKIES.get("django_language"):
        translation.activate(patient.preferred_language)
        request.LANGUAGE_CODE = patient.preferred_language


@login_required
def home(request: SignedInRequest) -> HttpResponse:
    user = request.user
    if user.role in (Role.PATIENT, Role.CAREGIVER):
        patients = list(selectors.patients_visible_to(user).order_by("last_name"))
        if len(patients) == 1:
            return redirect("patient-home", patient_id=patients[0].uuid)
        return render(request, "tracker/choose_patient.html", {"patients": patients})
    return redirect("dashboard")


def about_name(request: HttpRequest, patient: Patient) -> str | None:
    """Whom the pages speak about: None for the patient herself ("How are you?"), her first name for a
    caregiver or staff ("How is Maria?")."""
    return None if patient.user_id is not None and patient.user_id == request.user.pk else patient.first_name


@login_required
@require_http_methods(["GET", "POST"])
def staff_patients(request: SignedInRequest) -> HttpResponse:
    """Every patient of the user's teams; a search by name or MRN is POSTed (with CSRF), so what was searched
    for never lands in a URL, the browser history or an access log. A `q` in the URL is ignored."""
    if not request.user.is_staff_member:
        raise Http404
    query = request.POST.get("q", "").strip()[:100] if request.method == "POST" else ""
    patients = selectors.patients_visible_to(request.user).select_related("care_team").order_by("last_name")
    if query:
        from django.db.models import Q

        patients = patients.filter(Q(last_name__icontains=query) | Q(first_name__icontains=query) | Q(mrn__iexact=query))
    shown = list(patients[:200])
    audit(request, "list", patients=shown)
    with translation.override(reader_language(request)):  # staff pages in the reader's language
        return render(request, "tracker/staff_patients.html", {"patients": shown, "query": query})


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """404 for URLs nothing matched: the API's error shape under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "not_found", "detail": "Not found.", "fields": {}}, status=404)
    return render(request, "404.html", status=404)


RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """500, or 503 with Retry-After when the database connection failed (a restart or failover): nothing
    was saved (the transaction rolled back) and sending the same request again is safe and will work."""
    if isinstance(sys.exc_info()[1], db.OperationalError | db.InterfaceError):
        return _unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "server_error", "detail": "Something went wrong on our side; it has been logged.",
                             "fields": {}}, status=500)
    # Without the request: its context (who is signed in, the banners) needs the database, which may be what failed.
    return HttpResponse(render_to_string("500.html"), status=500)


def _unavailable(request: HttpRequest) -> HttpResponse:
    detail = _("The service is briefly unavailable and nothing was saved. Please try again in a few seconds; "
               "if you have an emergency sign, call 911 now.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"type": "service_unavailable", "detail": detail, "fields": {}}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html", {"detail": detail}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
