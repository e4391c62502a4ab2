"""Who may do what, for EVERY URL of the project: one table, walked through the full stack.

The matrix lists every URL pattern (found by walking the root URLconf) with the outcome each role gets for
GET, and for POST (and DELETE) where the endpoint takes them. Path parameters are filled with team A's real
records: Maria's uuid, her fever check-in, the alert it raised, her no-driving window. A URL pattern that is
not in the matrix fails `test_every_url_pattern_is_in_the_matrix` until a row is added for it.

Excluded from the matrix, on purpose:
  * the Django admin's own patterns (namespace "admin", ~200 of them, all under /admin/): the admin site
    guards them all the same way; `test_admin_sends_everyone_but_the_administrator_to_the_admin_login`
    checks that guard once per role.
There are no static-file patterns to exclude (WhiteNoise serves /static/ as middleware, not from the URLconf);
i18n's set_language IS in the matrix.

Pages sign anonymous users in at /accounts/login/; the API answers 401 in the common error shape
{"type", "detail", "fields"}. Staff pages give 404 to patients and caregivers, and everything of team A's
patient is 404 to team B (a nurse of another team, another patient).
"""

import datetime as dt
import re
import zoneinfo

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIClient

from tests.security.authz_support import PASSWORD, ROLES, all_routes, team_a_records, token_client, user_for
from tracker.models import DoseAdministration

GET, POST, PUT, DELETE = "GET", "POST", "PUT", "DELETE"
LOGIN = "302→login"  # a redirect to the sign-in page (/accounts/login/)
FOUND = "302"  # a redirect somewhere else: the page's success (after a form post, to one's home...)
HEALTH = "200 or 503"  # the system's health, not the caller's: the same answer for every role, no sign-in
LOGIN_URL = "/accounts/login/"


def row(anonymous, patient, other_patient, caregiver, nurse, other_nurse, physician, admin) -> dict:
    """One line of the table: the expected outcome per role, in ROLES order."""
    return dict(zip(ROLES, (anonymous, patient, other_patient, caregiver, nurse, other_nurse, physician, admin),
                    strict=True))


def everyone(outcome, *, anonymous=None) -> dict:
    return row(anonymous or outcome, *[outcome] * (len(ROLES) - 1))


# Roles that see Maria (team A) -> 200; roles that do not -> 404.
MARIAS_CHART = row(LOGIN, 200, 404, 200, 200, 404, 200, 200)
MARIAS_RECORD_API = row(401, 200, 404, 200, 200, 404, 200, 200)
STAFF_PAGE = row(LOGIN, 404, 404, 404, 200, 200, 200, 200)  # lists: team B's nurse sees team B's rows
STAFF_PAGE_OF_MARIA = row(LOGIN, 404, 404, 404, 200, 404, 200, 200)
POST_ONLY_PAGE = row(LOGIN, 405, 405, 405, 405, 405, 405, 405)
ENROLMENT_PAGE = row(LOGIN, 404, 404, 404, 403, 403, 403, 200)
POST_ONLY_API = row(401, 405, 405, 405, 405, 405, 405, 405)
STAFF_POST_ONLY_API = row(401, 403, 403, 403, 405, 405, 405, 405)

# route name[variant] -> method -> {role: expected}.
#                                                anonymous patient other_p caregvr nurse other_n physcn admin
MATRIX: dict[str, dict[str, dict]] = {
    # --- Sign-in, language --------------------------------------------------------------------------------
    "home": {GET: row(LOGIN, FOUND, FOUND, FOUND, FOUND, FOUND, FOUND, FOUND)},
    "login": {GET: everyone(200),
              # roles sign in with their own password; anonymous posts an empty form, which is shown again
              POST: row(200, FOUND, FOUND, FOUND, FOUND, FOUND, FOUND, FOUND),
              # Django's LoginView takes PUT as POST, but a PUT body is not a form: shown again, nobody signed in
              PUT: everyone(200)},
    "logout": {GET: everyone(405), POST: everyone(LOGIN)},
    # Two-factor is for staff accounts; patients and caregivers never see it.
    "two-factor": {GET: STAFF_PAGE,
                   POST: row(LOGIN, 404, 404, 404, 400, 400, 400, 400)},  # an empty code: "That code did not match"
    "set_language": {GET: everyone(FOUND), POST: everyone(FOUND)},
    # --- Setting a password (no sign-in: the link or the email address is the proof) --------------------------
    # An invitation link that is not (or no longer) valid: the "ask your care team" page, for everyone.
    "invitation-accept": {GET: everyone(200), POST: everyone(200)},
    # "Forgot your password?": the same answer (a redirect to "check your email") whether or not an account uses
    # the address; Django's FormView takes PUT as POST, but a PUT body is not a form: shown again.
    "password_reset": {GET: everyone(200), POST: everyone(FOUND), PUT: everyone(200)},
    "password_reset_done": {GET: everyone(200)},
    # A reset link that is not valid: "this link no longer works", whatever the method.
    "password_reset_confirm": {GET: everyone(200), POST: everyone(200), PUT: everyone(200)},
    "password_reset_complete": {GET: everyone(200)},
    # --- Patient pages ----------------------------------------------------------------------------------------
    "patient-home": {GET: MARIAS_CHART},
    "checkin-new": {GET: MARIAS_CHART,
                    POST: row(LOGIN, FOUND, 404, FOUND, FOUND, 404, FOUND, FOUND)},
    "checkin-detail": {GET: MARIAS_CHART},
    # The installable patient app: the page with the emergency signs its service worker keeps for offline use;
    # the worker script and the manifest hold no patient data (public, like the API docs).
    "checkin-offline": {GET: MARIAS_CHART},
    "service-worker": {GET: everyone(200)},
    "web-manifest": {GET: everyone(200)},
    # --- Staff pages ----------------------------------------------------------------------------------------
    # Searches are POSTed (a name or an MRN never goes in a URL); the dashboard keeps it and redirects.
    "staff-patients": {GET: STAFF_PAGE, POST: STAFF_PAGE},
    # Enrolment: coordinators (not a column here: tests/tracker/test_enrolment.py) and administrators; other
    # staff 403, patients and caregivers 404 as on every staff page.
    "enrol-patient": {GET: ENROLMENT_PAGE, POST: row(LOGIN, 404, 404, 404, 403, 403, 403, FOUND)},
    "enrolments": {GET: ENROLMENT_PAGE},
    "invitation-resend": {GET: POST_ONLY_PAGE, POST: row(LOGIN, 404, 404, 404, 403, 403, 403, FOUND)},
    "dashboard": {GET: STAFF_PAGE, POST: row(LOGIN, 404, 404, 404, FOUND, FOUND, FOUND, FOUND)},
    "alert-inbox": {GET: STAFF_PAGE},
    "staff-patient-detail": {GET: STAFF_PAGE_OF_MARIA},
    # Doses of Maria's course: record one, correct one (staff of her team; the form's success goes back to her page)
    "course-doses": {GET: STAFF_PAGE_OF_MARIA, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "dose-correction": {GET: STAFF_PAGE_OF_MARIA, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    # Maria's devices (clinical-rules §10): register one for her center, assign the spare one, end the patch she
    # wears, issue its key (shown on a page of its own), revoke the key (staff of her team; success: back to her page)
    "patient-devices": {GET: STAFF_PAGE_OF_MARIA, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "device-assign": {GET: POST_ONLY_PAGE, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "device-unassign": {GET: POST_ONLY_PAGE, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "device-key-issue": {GET: POST_ONLY_PAGE, POST: row(LOGIN, 404, 404, 404, 200, 404, 200, 200)},
    "device-key-revoke": {GET: POST_ONLY_PAGE, POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "alert-detail": {GET: STAFF_PAGE_OF_MARIA},
    "alert-action[acknowledge]": {GET: POST_ONLY_PAGE,
                                  POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "alert-action[resolve]": {GET: POST_ONLY_PAGE,
                              POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "alert-action[call]": {GET: POST_ONLY_PAGE,
                           POST: row(LOGIN, 404, 404, 404, FOUND, 404, FOUND, FOUND)},
    "alert-action[escalate]": {GET: POST_ONLY_PAGE,  # not an action: 404 once the alert is found
                               POST: row(LOGIN, 404, 404, 404, 404, 404, 404, 404)},
    # --- The in-app inbox: everyone signed in reads their own; opening needs one of theirs (none posted: 404) ---
    "inbox": {GET: everyone(200, anonymous=LOGIN)},
    "inbox-read": {GET: POST_ONLY_PAGE, POST: everyone(FOUND, anonymous=LOGIN)},
    "inbox-open": {GET: POST_ONLY_PAGE, POST: everyone(404, anonymous=LOGIN)},
    # --- API: liveness (public, no data: load balancers) -----------------------------------------------------
    "api-ping": {GET: everyone(200)},
    # --- Health (public, counts only: the orchestrator and the monitoring system) ---------------------------
    "health": {GET: everyone(HEALTH)},
    "health-ready": {GET: everyone(200)},
    # --- API: accounts --------------------------------------------------------------------------------------
    "api-token": {GET: POST_ONLY_API,
                  # roles send their own password; anonymous sends an empty body
                  POST: row(400, 200, 200, 200, 200, 200, 200, 200),
                  DELETE: everyone(204, anonymous=401)},
    "api-me": {GET: everyone(200, anonymous=401)},
    # --- API: records ---------------------------------------------------------------------------------------
    "api-checkins": {GET: everyone(200, anonymous=401),
                     # a check-in for Maria: those who do not see her get 400 naming the "patient" field
                     POST: row(401, 201, 400, 201, 201, 400, 201, 201)},
    "api-checkin-detail": {GET: MARIAS_RECORD_API},
    "api-checkin-amend": {GET: POST_ONLY_API,
                          POST: row(401, 201, 404, 201, 201, 404, 201, 201)},
    "api-patients": {GET: everyone(200, anonymous=401)},
    "api-patient-detail": {GET: MARIAS_RECORD_API},
    # administrators and the patient themself; 403 for the care team; 404 for who does not see her
    "api-patient-export": {GET: row(401, 200, 404, 403, 403, 404, 403, 200)},
    "api-therapies": {GET: everyone(200, anonymous=401)},
    # Doses of a course (clinical-rules §8): staff of the patient's teams; patients and caregivers 403
    "api-course-doses": {GET: row(401, 403, 403, 403, 200, 404, 200, 200),
                         POST: row(401, 403, 403, 403, 201, 404, 201, 201)},
    "api-dose-corrections": {GET: STAFF_POST_ONLY_API,
                             POST: row(401, 403, 403, 403, 201, 404, 201, 201)},
    # Maria's devices: the page's actions (the URL names the patch she wears: assigning it again is 400, overlap)
    "api-patient-devices": {GET: row(401, 403, 403, 403, 200, 404, 200, 200),
                            POST: row(401, 403, 403, 403, 201, 404, 201, 201)},
    "api-device-assign": {GET: STAFF_POST_ONLY_API, POST: row(401, 403, 403, 403, 400, 404, 400, 400)},
    "api-device-end": {GET: STAFF_POST_ONLY_API, POST: row(401, 403, 403, 403, 200, 404, 200, 200)},
    "api-device-keys": {GET: STAFF_POST_ONLY_API, POST: row(401, 403, 403, 403, 201, 404, 201, 201)},
    "api-device-key-revoke": {GET: STAFF_POST_ONLY_API, POST: row(401, 403, 403, 403, 200, 404, 200, 200)},
    # --- API: monitoring ------------------------------------------------------------------------------------
    # Device readings: a device's key only (tests/monitoring/test_readings_api.py); a person's token is 401
    "api-readings": {GET: everyone(401), POST: everyone(401)},
    "api-alerts": {GET: row(401, 403, 403, 403, 200, 200, 200, 200)},
    "api-alert-detail": {GET: row(401, 403, 403, 403, 200, 404, 200, 200)},
    "api-alert-acknowledge": {GET: STAFF_POST_ONLY_API,
                              POST: row(401, 403, 403, 403, 200, 404, 200, 200)},
    "api-alert-resolve": {GET: STAFF_POST_ONLY_API,
                          POST: row(401, 403, 403, 403, 200, 404, 200, 200)},
    "api-alert-calls": {GET: STAFF_POST_ONLY_API,
                        POST: row(401, 403, 403, 403, 201, 404, 201, 201)},
    "api-patient-windows": {GET: MARIAS_RECORD_API},
    # only a physician clears a patient to drive (an administrator too gets 403)
    "api-window-clear": {GET: STAFF_POST_ONLY_API,
                         POST: row(401, 403, 403, 403, 403, 404, 200, 403)},
    # only a physician records a neurologic finding resolved (clinical-rules §8; an administrator too gets 403)
    "api-dose-window-clear": {GET: STAFF_POST_ONLY_API,
                              POST: row(401, 403, 403, 403, 403, 404, 200, 403)},
    # --- API: documentation (public: it describes the API, it holds no patient data) ------------------------
    "api-schema": {GET: everyone(200)},
    "api-docs": {GET: everyone(200)},
}

EXCLUDED_NAMESPACES = {"admin": "the Django admin site; one check per role in test_admin_..."}


def _post_body(key: str, records, user) -> dict:
    """Minimal valid bodies where a success is expected; empty where the failure is the point."""
    credentials = {"username": user.username, "password": PASSWORD} if user is not None else {}
    return {
        "login": credentials,
        "logout": {},
        "two-factor": {},
        "set_language": {"language": "es"},
        "invitation-accept": {"new_password1": "a long new password 1", "new_password2": "a long new password 1"},
        "password_reset": {"email": "nobody@example.org"},
        "password_reset_confirm": {"new_password1": "a long new password 1", "new_password2": "a long new password 1"},
        "enrol-patient": {
            "first_name": "Ana", "last_name": "Ruiz", "mrn": "MRN-NEW-1", "date_of_birth": "1970-01-02",
            "team": str(records.patient.care_team.uuid), "therapy": "yescarta", "time_zone": "", "language": "en",
            "start_date": dt.date.today().isoformat(), "phone": "(555) 010-0177", "email": "",
            "caregivers-TOTAL_FORMS": "0", "caregivers-INITIAL_FORMS": "0",
        },
        "invitation-resend": {"person": str(records.patient.user.uuid)},
        "checkin-new": {"temperature": "37.0"},
        "staff-patients": {"q": "Chen"},  # team B's patient: a search that matches does not leak Maria either
        "dashboard": {"q": "Chen"},
        "alert-action[acknowledge]": {"note": "Calling the patient now."},
        "alert-action[resolve]": {"note": "Called the patient; fever settled with paracetamol."},
        "alert-action[call]": {"called": "caregiver", "outcome": "advised_911", "note": "Husband is driving her in."},
        "alert-action[escalate]": {},
        "inbox-read": {},
        "inbox-open": {},
        "api-token": credentials,
        "api-checkins": {"patient": str(records.patient.uuid), "temperature": "37.3"},
        "api-checkin-amend": {"reason": "Misread the thermometer", "temperature": "37.6"},
        "api-alert-acknowledge": {},
        "api-alert-resolve": {"note": "Called the patient; fever settled with paracetamol."},
        "api-alert-calls": {"called": "patient", "outcome": "no_answer"},
        "api-window-clear": {"reason": "Neurology review: no deficits; cleared to drive."},
        "api-dose-window-clear": {"reason": "Neurology review: the finding has resolved."},
        "api-course-doses": {"step_code": "cycle 2 day 1", "setting": "infusion_center",
                             "started_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
        "api-dose-corrections": {"reason": "Given at the infusion center", "setting": "infusion_center"},
        "course-doses": {"step_code": "cycle 2 day 1", "setting": "infusion_center", "started_at": _center_clock(
            records, timezone.now() - dt.timedelta(hours=1))},
        "dose-correction": {"step_code": "infusion", "setting": "infusion_center", "reason": "Given at the center",
                            "started_at": _center_clock(records, records.dose.started_at)},
        "patient-devices": {"register-kind": "thermometer", "register-maker": "Braun", "register-model_name": "IRT",
                            "register-serial": "B-1", "register-body_site": "tympanic",
                            "register-expected_interval_seconds": "3600"},
        "device-assign": {"assign-device": str(records.free_device.uuid),
                          "assign-started_at": _center_clock(records, timezone.now() - dt.timedelta(hours=1))},
        "device-unassign": {},
        "device-key-issue": {},
        "device-key-revoke": {},
        "api-patient-devices": {"kind": "thermometer", "maker": "Braun", "model_name": "IRT", "serial": "B-1",
                                "body_site": "tympanic"},
        "api-device-assign": {"started_at": (timezone.now() - dt.timedelta(hours=1)).isoformat()},
        "api-device-end": {},
        "api-device-keys": {},
        "api-device-key-revoke": {},
        "api-readings": {"readings": [{"type": "temperature", "value": 37.0, "unit": "Cel",
                                       "measured_at": timezone.now().isoformat()}]},
    }[key]


def _center_clock(records, moment) -> str:
    """A time as the dose form takes it: local to the patient's center, to the minute."""
    return moment.astimezone(zoneinfo.ZoneInfo(records.patient.center.time_zone)).strftime("%Y-%m-%dT%H:%M")


def _route_name(key: str) -> str:
    return key.split("[", 1)[0]


def _variant(key: str) -> str | None:
    return key[key.index("[") + 1:-1] if "[" in key else None


ROUTES = {route.name: route for route in all_routes() if route.namespace not in EXCLUDED_NAMESPACES}
PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# `<uuid:id>` names the object of the segment before it.
OBJECT_OF_SEGMENT = {"patients": "patient", "checkins": "checkin", "alerts": "alert", "windows": "window",
                     "courses": "course", "dose-windows": "dose_window"}
OBJECT_OF_PARAMETER = {"patient_id": "patient", "checkin_id": "checkin", "alert_id": "alert", "dose_id": "dose",
                       "course_id": "course", "device_id": "device"}
# Secrets in links (invitations, password resets): a value that is not valid, as a stranger would send.
INVALID_SECRETS = {"token": "not-a-valid-token", "uidb64": "MQ"}


def url_for(key: str, records) -> str:
    route = ROUTES[_route_name(key)].route

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name == "action":
            return _variant(key)
        if name in INVALID_SECRETS:
            return INVALID_SECRETS[name]
        if name == "prefix":  # a device key's first characters (not a secret: the page lists them)
            return records.device_key_prefix
        if name == "id":
            segment = route[:match.start()].rstrip("/").rsplit("/", 1)[-1]
            obj = OBJECT_OF_SEGMENT.get(segment)
        else:
            obj = OBJECT_OF_PARAMETER.get(name)
        assert obj is not None, f"{key}: no team A record for the path parameter {name!r}; add one"
        return str(getattr(records, obj).uuid)

    url = "/" + PARAMETER.sub(fill, route)
    assert resolve(url).route == route, url
    return url


CASES = [
    pytest.param(key, method, role, id=f"{method} {key} as {role}")
    for key, methods in MATRIX.items()
    for method, outcomes in methods.items()
    for role in ROLES
]


@pytest.fixture
def records(patient, other_patient, caregiver, nurse, other_nurse, physician, admin_user):
    """Every role exists in every case; team A's records fill the URLs."""
    return team_a_records(patient)


def _client(key: str, user):
    if ROUTES[_route_name(key)].route.startswith("api/"):
        return token_client(user)
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _send(client, method: str, url: str, body: dict, *, api: bool):
    if method == GET:
        return client.get(url)
    if method == DELETE:
        return client.delete(url)
    if method == PUT:
        return client.put(url, body)
    return client.post(url, body, format="json") if api else client.post(url, body)


def _assert_outcome(response, expected, *, api: bool, where: str) -> None:
    location = response.get("Location", "")
    if expected == LOGIN:
        assert response.status_code == 302 and location.startswith(LOGIN_URL), (
            f"{where}: expected a redirect to {LOGIN_URL}, got {response.status_code} {location}")
        return
    if expected == FOUND:
        assert response.status_code == 302 and not location.startswith(LOGIN_URL), (
            f"{where}: expected a redirect (not to sign in), got {response.status_code} {location}")
        return
    if expected == HEALTH:
        assert response.status_code in (200, 503), f"{where}: expected 200 or 503, got {response.status_code}"
        assert set(response.json()) == {"status", "problems", "checks"}, where  # no messages without the token
        return
    assert response.status_code == expected, f"{where}: expected {expected}, got {response.status_code} {location}"
    if api and response.status_code >= 400:
        body = response.json()
        assert set(body) == {"type", "detail", "fields"}, f"{where}: not the common error shape: {body}"
        if response.status_code == 401:
            assert body["type"] == "not_authenticated", body
            assert body["fields"] == {}, body


def _assert_nothing_of_maria_leaks(response, records, *, where: str) -> None:
    """Team B (their nurse, their patient) never reads Maria's name or MRN, nor her records' ids in a success."""
    content = response.content.decode(errors="replace")
    patient = records.patient
    for secret in (patient.mrn, f"{patient.first_name} {patient.last_name}", patient.last_name):
        assert secret not in content, f"{where}: team A's {secret!r} leaked to team B"
    if 200 <= response.status_code < 300:
        for obj in (patient, records.checkin, records.alert, records.window, records.course, records.dose,
                    records.dose_window):
            assert str(obj.uuid) not in content, f"{where}: the id of team A's {type(obj).__name__} leaked"


@pytest.mark.parametrize(("key", "method", "role"), CASES)
def test_authorization_matrix(request, records, key, method, role):
    user = user_for(request, role)
    url = url_for(key, records)
    api = url.startswith("/api/")
    body = _post_body(key, records, user) if method in (POST, PUT) else {}
    response = _send(_client(key, user), method, url, body, api=api)
    where = f"{method} {url} ({key}) as {role}"
    _assert_outcome(response, MATRIX[key][method][role], api=api, where=where)
    if role in ("other_patient", "other_nurse"):
        _assert_nothing_of_maria_leaks(response, records, where=where)


# --- A staff password alone reaches nothing -------------------------------------------------------------------
# With REQUIRE_STAFF_2FA, a staff session that has not given its second factor is stopped on every route, pages
# and API alike, whatever the method: pages send it to the two-factor page, the API answers 403
# {"type": "two_factor_required"}. Only these stay open (signing in, the two-factor page, the language switch,
# the token endpoint that asks for the code, liveness and health, and the pages that set a password from a link
# or an email address: they sign nobody in as staff, a reset then asks for the code at sign-in).
REACHABLE_WITHOUT_SECOND_FACTOR = {"login", "logout", "two-factor", "set_language", "api-ping", "api-token",
                                   "health", "health-ready", "invitation-accept", "password_reset",
                                   "password_reset_done", "password_reset_confirm", "password_reset_complete"}
TWO_FACTOR_CASES = [
    pytest.param(key, method, role, id=f"{method} {key} as {role} without a second factor")
    for key, methods in MATRIX.items() if _route_name(key) not in REACHABLE_WITHOUT_SECOND_FACTOR
    for method in methods
    for role in ("nurse", "physician", "admin")
]


@pytest.mark.parametrize(("key", "method", "role"), TWO_FACTOR_CASES)
def test_a_staff_session_without_its_second_factor_is_stopped_everywhere(request, settings, records, key, method,
                                                                         role):
    settings.REQUIRE_STAFF_2FA = True
    user = user_for(request, role)
    url = url_for(key, records)
    client = APIClient()  # a browser: the session cookie (the API takes it too), no token
    assert client.post(LOGIN_URL, {"username": user.username, "password": PASSWORD}).status_code == 302
    body = _post_body(key, records, user) if method in (POST, PUT) else {}
    response = _send(client, method, url, body, api=url.startswith("/api/"))
    where = f"{method} {url} ({key}) as {role}"
    if url.startswith("/api/"):
        assert response.status_code == 403, f"{where}: {response.status_code}"
        assert response.json()["type"] == "two_factor_required", where
    else:
        assert response.status_code == 302, f"{where}: {response.status_code}"
        assert response["Location"].startswith("/accounts/2fa/"), where
    records.alert.refresh_from_db()
    records.window.refresh_from_db()
    assert records.alert.status == "open" and records.window.cleared_on is None, where
    assert list(DoseAdministration.objects.values_list("pk", flat=True)) == [records.dose.pk], where


# --- The matrix is complete -------------------------------------------------------------------------------------

def test_every_url_pattern_is_in_the_matrix():
    """A new URL fails here until a row says who may use it; a removed one until its row goes."""
    routes = list(all_routes())
    assert all(r.route.startswith("admin/") for r in routes if r.namespace == "admin")
    names = [r.name for r in routes if r.namespace not in EXCLUDED_NAMESPACES]
    assert len(names) == len(set(names)), "two URL patterns share a name; the matrix keys by name"
    in_matrix = {_route_name(key) for key in MATRIX}
    assert set(names) - in_matrix == set(), "URL patterns missing from MATRIX"
    assert in_matrix - set(names) == set(), "MATRIX rows for URL patterns that no longer exist"


def test_every_method_a_class_based_view_handles_is_in_the_matrix():
    """GET is checked everywhere; a class-based view's other handlers (post, delete, put...) need their row."""
    missing = []
    for key, methods in MATRIX.items():
        callback = ROUTES[_route_name(key)].pattern.callback
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is None:
            continue  # a function view: its methods are the ones in the matrix
        handled = {m.upper() for m in view_class.http_method_names if m not in ("head", "options")
                   and hasattr(view_class, m)}
        missing += [f"{method} {key}" for method in handled - set(methods)]
    assert missing == []


def test_every_route_name_variant_fills_its_parameters():
    """Routes with a free-text parameter (the alert action) are listed once per value they take."""
    for key in MATRIX:
        route = ROUTES[_route_name(key)].route
        has_free_parameter = any(m.group("name") == "action" for m in PARAMETER.finditer(route))
        assert has_free_parameter == (_variant(key) is not None), key


# --- The Django admin -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_admin_sends_everyone_but_the_administrator_to_the_admin_login(request, records, role):
    user = user_for(request, role)
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get("/admin/")
    if role == "admin":
        assert response.status_code == 200
        return
    assert response.status_code == 302, role
    assert response["Location"].startswith("/admin/login/"), response["Location"]
