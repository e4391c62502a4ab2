"""The audit trail of patient data. Views say what they showed or changed with `audit(request, ...)`;
`AuditMiddleware` writes one append-only row per request after the response, with the status, so denied
attempts are on record too. Requests for patient data that no view annotated are recorded from the URL."""

import logging

from django.db import DatabaseError

from tracker.models import AuditEvent, Patient

logger = logging.getLogger(__name__)

# URL prefixes that carry patient data; a request under them is always recorded.
PATIENT_DATA_PREFIXES = ("/patients/", "/staff/", "/api/v1/checkins/", "/api/v1/patients/", "/api/v1/alerts/",
                         "/api/v1/windows/", "/admin/tracker/", "/admin/monitoring/", "/admin/notifications/")


def audit(request, action: str, *, patient: Patient | None = None, patients=None) -> None:
    """Record what this request did with patient data (written by the middleware after the response).
    Takes a Django request or DRF's wrapper around one."""
    request = getattr(request, "_request", request)
    request._audit = {
        "action": action,
        "patient": patient,
        "patient_ids": sorted({p.pk if hasattr(p, "pk") else p for p in (patients or [])}),
    }


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _default_action(request) -> str:
    return {"GET": "view", "HEAD": "view", "POST": "create", "PUT": "change", "PATCH": "change",
            "DELETE": "delete"}.get(request.method, request.method.lower())


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        info = getattr(request, "_audit", None)
        if info is None and not request.path.startswith(PATIENT_DATA_PREFIXES):
            return response
        info = info or {"action": _default_action(request), "patient": None, "patient_ids": []}
        user = getattr(request, "user", None)
        authenticated = bool(user and user.is_authenticated)
        try:
            AuditEvent.objects.create(
                user=user if authenticated else None,
                username=user.get_username() if authenticated else "",
                role=getattr(user, "role", "") if authenticated else "",
                patient=info["patient"],
                patient_ids=info["patient_ids"],
                action=info["action"],
                method=request.method,
                path=request.get_full_path()[:500],
                status_code=response.status_code,
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        except DatabaseError:
            # The response is already decided; losing an audit row must be loud, not silent.
            logger.exception("Could not write the audit row for %s %s", request.method, request.path)
        return response


def patient_ids_of(objects) -> list[int]:
    ids = set()
    for obj in objects:
        if isinstance(obj, Patient):
            ids.add(obj.pk)
        elif getattr(obj, "patient_id", None):
            ids.add(obj.patient_id)
    return sorted(ids)


class AuditedListMixin:
    """DRF list views: record which patients the returned page showed."""

    def get_serializer(self, *args, **kwargs):
        if kwargs.get("many") and args:
            objects = list(args[0])
            audit(self.request, "list", patients=patient_ids_of(objects))
            args = (objects, *args[1:])
        return super().get_serializer(*args, **kwargs)
