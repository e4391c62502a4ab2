"""The audit trail of patient data. Views say what they showed or changed with `audit(request, ...)`;
`AuditMiddleware` writes one append-only row per request after the response, with the status and the
session's two-factor state, so denied attempts are on record too. Requests for patient data that no view
annotated are recorded when their path starts with one of settings.AUDITED_PATH_PREFIXES (the project's
URL space: this module knows no app's URLs), naming the patient the URL points at (a nurse refused another
team's chart is recorded with the patient she tried). Failed sign-ins (page and token endpoint) and requests the
two-factor check stopped are recorded as well."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import DatabaseError
from django.dispatch import receiver
from django.urls import Resolver404, resolve

from tracker.compiled import insert_row
from tracker.models import AuditEvent, CheckIn, Patient, TreatmentCourse
from tracker.security import audit, client_ip, two_factor_state

logger = logging.getLogger(__name__)


__all__ = ["AuditMiddleware", "AuditedListMixin", "audit", "audit_write", "client_ip", "patient_named_by_url",
           "register_url_patient"]

# URL parameter -> (value -> the id of the patient it names, or None). A parameter called `id` is looked up
# by the path segment before it ("patients", "checkins", ...). Higher apps register
# theirs with `register_url_patient`.
_URL_PATIENTS: dict[str, Callable[[object], int | None]] = {}


def register_url_patient(name: str, lookup: Callable[[object], int | None]) -> None:
    _URL_PATIENTS[name] = lookup


def _patient_by_uuid(value) -> int | None:
    return Patient.objects.filter(uuid=value).values_list("pk", flat=True).first()


def _patient_of_checkin(value) -> int | None:
    return CheckIn.objects.filter(uuid=value).values_list("patient_id", flat=True).first()


def _patient_of_course(value) -> int | None:
    return TreatmentCourse.objects.filter(uuid=value).values_list("patient_id", flat=True).first()


for _name, _lookup in (("patient_id", _patient_by_uuid), ("patients", _patient_by_uuid),
                       ("checkin_id", _patient_of_checkin), ("checkins", _patient_of_checkin),
                       ("courses", _patient_of_course), ("course_id", _patient_of_course)):
    register_url_patient(_name, _lookup)


def patient_named_by_url(request) -> int | None:
    """The patient the request's URL points at, whether or not the user may see them (never shown to the
    user: only written to the audit trail)."""
    try:
        match = getattr(request, "resolver_match", None) or resolve(request.path_info)
    except Resolver404:
        return None
    keys = []
    for name, value in match.kwargs.items():
        if name == "id":
            prefix = match.route.split("<", 1)[0] if match.route else request.path_info
            name = prefix.rstrip("/").rsplit("/", 1)[-1]
        keys.append((name, value))
    keys.sort(key=lambda item: item[0] not in ("patient_id", "patients"))  # a named patient first
    for name, value in keys:
        lookup = _URL_PATIENTS.get(name)
        if lookup is not None:
            try:
                return lookup(value)
            except (ValueError, DatabaseError):
                return None
    return None


@receiver(user_login_failed, dispatch_uid="tracker.audit.sign_in_failed")
def record_failed_sign_in(sender, credentials, request=None, **kwargs) -> None:
    """A failed sign-in (wrong password, or a locked-out username), on the page or the token endpoint: the
    username tried goes in the row (no user is signed in)."""
    if request is None:
        return
    request = getattr(request, "_request", request)
    request._audit = {"action": "sign_in_failed", "patient": None, "patient_ids": [],
                      "username": str(credentials.get("username") or "")[:150]}


def _default_action(request) -> str:
    return {"GET": "view", "HEAD": "view", "POST": "create", "PUT": "change", "PATCH": "change",
            "DELETE": "delete"}.get(request.method, request.method.lower())


def _audit_row(request, info: dict, status_code: int, patient_id: int | None) -> AuditEvent:
    user = getattr(request, "user", None)
    authenticated = bool(user and user.is_authenticated)
    return AuditEvent(
        user=user if authenticated else None,
        username=user.get_username() if user is not None and authenticated else info.get("username", ""),
        role=getattr(user, "role", "") if authenticated else "",
        patient_id=patient_id,
        patient_ids=info["patient_ids"],
        action=info["action"],
        method=request.method,
        path=request.get_full_path()[:500],
        status_code=status_code,
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        two_factor=two_factor_state(request, user if authenticated else None),
    )


def audit_write(request, action: str, *, patient: Patient, status_code: int) -> None:
    """Write this request's audit row now, inside the caller's transaction, for the answer `status_code` it
    is about to give (a check-in: the row commits with the check-in, one commit for both). The middleware
    then writes no second row when the answer is that status; if the request ends otherwise (the transaction
    rolled back, an error), the middleware writes the row as usual."""
    request = getattr(request, "_request", request)
    audit(request, action, patient=patient)
    insert_row(_audit_row(request, request._audit, status_code, patient.pk))
    request._audit["written_status"] = status_code


class AuditMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        info = getattr(request, "_audit", None)
        if info is None and not request.path.startswith(tuple(settings.AUDITED_PATH_PREFIXES)):
            return response
        info = info or {"action": _default_action(request), "patient": None, "patient_ids": []}
        if info.get("written_status") == response.status_code:
            return response  # written with the request's own transaction (audit_write)
        try:
            patient_id = info["patient"].pk if info["patient"] is not None else None
            if patient_id is None and not info["patient_ids"]:
                patient_id = patient_named_by_url(request)
            _audit_row(request, info, response.status_code, patient_id).save(force_insert=True)
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
