"""Hardening, through the full stack: security headers and a Content Security Policy with nothing inline on
every page, the API docs working under that policy, production settings that pass `check --deploy`, CSRF on
session-authenticated writes, and rate limits answering 429 with a clear message."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from monitoring.models import Alert
from tests.monitoring.support import CAR_T_NORMAL
from tracker.models import ApiToken, CheckIn
from tracker.security import CheckinRateThrottle, LoginRateThrottle

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
CHECKINS = "/api/v1/checkins/"
TOKEN = "/api/v1/auth/token/"
FEVER = {**CAR_T_NORMAL, "temperature": "38.2"}


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def csp_directives(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


# --- Headers on every page --------------------------------------------------------------------------------------

@pytest.fixture
def site(patient, nurse, admin_user):
    """One of each page: a check-in with an alert, seen by the patient, the nurse and the administrator."""
    token = ApiToken.issue(patient.user)[1]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    body = api.post(CHECKINS, FEVER, format="json").json()
    return {
        "patient": patient, "checkin": CheckIn.objects.get(uuid=body["id"]),
        "alert": Alert.objects.get(uuid=body["alerts"][0]["id"]), "nurse": nurse, "admin": admin_user,
    }


def page_responses(site):
    p, c, a = site["patient"], site["checkin"], site["alert"]
    anonymous, patient, nurse, admin = Client(), signed_in(p.user), signed_in(site["nurse"]), signed_in(site["admin"])
    pages = [
        (anonymous, "/accounts/login/"),
        (patient, f"/patients/{p.uuid}/"),
        (patient, f"/patients/{p.uuid}/checkin/"),
        (patient, f"/patients/{p.uuid}/checkins/{c.uuid}/"),
        (nurse, "/staff/"),
        (nurse, "/staff/alerts/"),
        (nurse, "/staff/patients/"),
        (nurse, f"/staff/patients/{p.uuid}/"),
        (nurse, f"/staff/alerts/{a.uuid}/"),
        (nurse, "/accounts/2fa/"),
        (anonymous, "/api/docs/"),
    ]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        yield path, response
    for client, path in ((admin, "/admin/"), (admin, "/admin/tracker/patient/"), (admin, "/admin/tracker/auditevent/"),
                         (patient, "/patients/00000000-0000-0000-0000-000000000000/")):
        yield path, client.get(path)


def test_every_html_page_carries_the_content_security_policy(site):
    for path, response in page_responses(site):
        directives = csp_directives(response)
        assert directives.get("default-src") == ["'self'"], path
        assert directives.get("script-src") == ["'self'"], path
        assert directives.get("frame-ancestors") == ["'none'"], path
        assert directives.get("object-src") == ["'none'"], path
        header = response["Content-Security-Policy"]
        assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, path


def test_every_html_page_forbids_framing_and_mime_sniffing(site):
    for path, response in page_responses(site):
        assert response["X-Frame-Options"] == "DENY", path
        assert response["X-Content-Type-Options"] == "nosniff", path
        assert response["Referrer-Policy"] == "same-origin", path


def test_api_responses_forbid_mime_sniffing_too(site):
    api = APIClient()
    api.force_authenticate(site["nurse"])
    for response in (api.get(CHECKINS), APIClient().get(CHECKINS)):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"


SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def inline_scripts(html: str) -> list[str]:
    """Script elements the CSP would block: code inside <script> without a src (JSON data blocks are fine)."""
    found = []
    for attrs, body in SCRIPT.findall(html):
        if "src=" in attrs or re.search(r'type="application/(ld\+)?json"', attrs):
            continue
        if body.strip():
            found.append(body.strip()[:80])
    return found


def test_no_page_has_inline_script_event_handlers_or_javascript_urls(site):
    for path, response in page_responses(site):
        if path.startswith("/admin/"):
            continue  # Django's own admin
        html = response.content.decode()
        assert inline_scripts(html) == [], path
        assert not EVENT_HANDLER.search(html), path
        assert "javascript:" not in html.lower(), path


def test_no_app_page_uses_inline_styles_the_policy_would_block(site):
    """style-src 'self': a style="" attribute or a <style> block is ignored by the browser."""
    for path, response in page_responses(site):
        if path.startswith("/admin/"):
            continue
        html = response.content.decode()
        assert not re.search(r"<style\b", html, re.IGNORECASE), path
        assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE), (path, re.findall(r'[^<]*style="[^"]*"', html))


def test_api_docs_load_their_start_up_script_from_a_separate_same_origin_file(db):
    client = Client()
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert inline_scripts(html) == []
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert len(sources) >= 3  # Swagger UI bundle, preset, and the start-up script
    assert any("script=" in src for src in sources)
    for src in sources:
        assert src.startswith("/") and not src.startswith("//"), src  # same origin: allowed by script-src 'self'
        script = client.get(src.replace("&amp;", "&"))
        assert script.status_code == 200, src
        assert "javascript" in script["Content-Type"], (src, script["Content-Type"])  # nosniff needs a JS type
    start_up = client.get(next(s for s in sources if "script=" in s).replace("&amp;", "&"))
    assert "SwaggerUIBundle" in start_up.content.decode()
    assert client.get("/api/schema/").status_code == 200  # what the start-up script fetches (connect-src 'self')


# --- Production settings ----------------------------------------------------------------------------------------

def production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REQUIRE_", "SESSION_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "tracker.example.org",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/car_t_tracker"),
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    })
    assert len(env["DJANGO_SECRET_KEY"]) >= 60
    return env


def test_check_deploy_passes_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


PRODUCTION_VALUES = """
import json
import django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_SSL_REDIRECT", "REQUIRE_STAFF_2FA", "SESSION_COOKIE_HTTPONLY", "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_PROXY_SSL_HEADER")}))
"""


def test_production_settings_are_secure_by_default():
    result = subprocess.run([sys.executable, "-c", PRODUCTION_VALUES], cwd=ROOT, env=production_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["REQUIRE_STAFF_2FA"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY" and values["SECURE_CONTENT_TYPE_NOSNIFF"] is True


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_settings_refuse_to_start_without_a_secret_key_or_allowed_hosts(missing):
    env = production_env()
    del env[missing]
    result = subprocess.run([sys.executable, "-c", PRODUCTION_VALUES], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


# --- CSRF on session sign-ins -----------------------------------------------------------------------------------

def csrf_token_of(client, path) -> str:
    assert client.get(path).status_code == 200
    return client.cookies["csrftoken"].value


def test_session_authenticated_api_post_without_a_csrf_token_is_refused(patient):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(patient.user)
    response = client.post(CHECKINS, {"temperature": "37.0"}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "permission_denied" and "CSRF" in body["detail"]
    assert not CheckIn.objects.exists()

    token = csrf_token_of(client, f"/patients/{patient.uuid}/checkin/")
    response = client.post(CHECKINS, {"temperature": "37.0"}, format="json", headers={"X-CSRFToken": token})
    assert response.status_code == 201  # the same request with the token is accepted


def test_session_authenticated_alert_acknowledge_without_a_csrf_token_is_refused(site):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(site["nurse"])
    response = client.post(f"/api/v1/alerts/{site['alert'].uuid}/acknowledge/", {}, format="json")
    assert response.status_code == 403
    assert Alert.objects.get(pk=site["alert"].pk).status == "open"


def test_checkin_page_post_without_a_csrf_token_is_refused(patient):
    client = Client(enforce_csrf_checks=True)
    client.force_login(patient.user)
    path = f"/patients/{patient.uuid}/checkin/"
    response = client.post(path, {"temperature": "37.0", "temperature_unit": "C"})
    assert response.status_code == 403
    assert not CheckIn.objects.exists()

    token = csrf_token_of(client, path)
    response = client.post(path, {"temperature": "37.0", "temperature_unit": "C", "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_staff_alert_action_and_sign_out_without_a_csrf_token_are_refused(site):
    client = Client(enforce_csrf_checks=True)
    client.force_login(site["nurse"])
    assert client.post(f"/staff/alerts/{site['alert'].uuid}/acknowledge/", {"note": "x"}).status_code == 403
    assert Alert.objects.get(pk=site["alert"].pk).status == "open"
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/staff/").status_code == 200  # still signed in


def test_token_authenticated_api_clients_need_no_csrf_token(patient):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(patient.user)[1]}")
    assert client.post(CHECKINS, {"temperature": "37.0"}, format="json").status_code == 201


# --- Rate limits ------------------------------------------------------------------------------------------------

RATES = {"checkin": "2/min", "login": "3/min"}


@pytest.fixture
def low_rates(settings, monkeypatch):
    """DRF reads the rates into SimpleRateThrottle.THROTTLE_RATES when it is imported, so overriding the setting
    alone does not reach the throttles: set both (monkeypatch restores the class attribute)."""
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    assert api_settings.DEFAULT_THROTTLE_RATES == RATES  # reloaded on setting_changed
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    assert CheckinRateThrottle().rate == "2/min" and LoginRateThrottle().rate == "3/min"


def assert_throttled_shape(response):
    assert response.status_code == 429
    body = response.json()
    assert set(body) == {"type", "detail", "fields"}
    assert body["type"] == "throttled"
    assert body["fields"] == {}
    assert re.search(r"throttled|too many", body["detail"], re.IGNORECASE), body["detail"]
    assert re.search(r"\d+ seconds?", body["detail"]), body["detail"]  # says how long to wait
    assert int(response["Retry-After"]) > 0


def test_third_api_checkin_within_a_minute_is_429_in_the_common_shape(low_rates, patient):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(patient.user)[1]}")
    for _ in range(2):
        assert client.post(CHECKINS, {"temperature": "37.0"}, format="json").status_code == 201
    assert_throttled_shape(client.post(CHECKINS, {"temperature": "37.0"}, format="json"))
    assert CheckIn.objects.count() == 2
    assert client.get(CHECKINS).status_code == 200  # reading is not limited


def test_third_page_checkin_within_a_minute_is_429_with_the_message_shown(low_rates, patient):
    client = signed_in(patient.user)
    path = f"/patients/{patient.uuid}/checkin/"
    for _ in range(2):
        assert client.post(path, {"temperature": "37.0", "temperature_unit": "C"}).status_code == 302
    response = client.post(path, {"temperature": "37.0", "temperature_unit": "C"})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many check-ins in a short time" in html
    assert "call your care team" in html
    assert CheckIn.objects.count() == 2


def test_page_and_api_checkins_share_one_limit_per_user(low_rates, patient, caregiver):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(patient.user)[1]}")
    page = signed_in(patient.user)
    path = f"/patients/{patient.uuid}/checkin/"
    assert api.post(CHECKINS, {"temperature": "37.0"}, format="json").status_code == 201
    assert page.post(path, {"temperature": "37.0", "temperature_unit": "C"}).status_code == 302
    assert page.post(path, {"temperature": "37.0", "temperature_unit": "C"}).status_code == 429
    assert_throttled_shape(api.post(CHECKINS, {"temperature": "37.0"}, format="json"))
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(caregiver)[1]}")
    response = other.post(CHECKINS, {"patient": str(patient.uuid), "temperature": "37.0"}, format="json")
    assert response.status_code == 201  # another person is counted separately


def test_token_endpoint_is_429_after_the_login_rate(low_rates, patient, nurse):
    api = APIClient(REMOTE_ADDR="198.51.100.4")
    for username in (patient.user.username, nurse.username, patient.user.username):
        assert api.post(TOKEN, {"username": username, "password": PASSWORD}, format="json").status_code == 200
    response = api.post(TOKEN, {"username": nurse.username, "password": PASSWORD}, format="json")
    assert_throttled_shape(response)
    assert ApiToken.objects.count() == 3
    other_address = APIClient(REMOTE_ADDR="198.51.100.5")
    assert other_address.post(TOKEN, {"username": nurse.username, "password": PASSWORD},
                              format="json").status_code == 200


# --- In a real browser ------------------------------------------------------------------------------------------

REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (e) => console.log(
    "CSP-VIOLATION " + e.effectiveDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber));"""


@pytest.fixture
def chromium(browser):
    """The run's shared Chromium (tests/conftest.py). Request it after any fixture that touches the database."""
    return browser


def watched_page(browser):
    """A page that reports every Content Security Policy violation into the returned list."""
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(f"{page.url}: {m.text}") if m.text.startswith("CSP-") else None)
    page.add_init_script(REPORT_VIOLATIONS)
    return page, violations


@pytest.fixture
def browser_people(transactional_db, monkeypatch):
    from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import Role, Therapy

    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    nurse = UserFactory(username="nora", role=Role.NURSE, teams=[team])
    patient = PatientFactory(care_team=team, user=UserFactory(username="maria", role=Role.PATIENT))
    CourseFactory(patient=patient)
    from notifications.tasks import alert_notify_now_task, notification_deliver_task

    for task in (notification_deliver_task, alert_notify_now_task):  # nothing for a broker: no worker in this test
        monkeypatch.setattr(task, "delay", lambda *args, **kwargs: None)
    api = APIClient()
    api.force_authenticate(patient.user)
    body = api.post(CHECKINS, FEVER, format="json").json()
    return {"nurse": nurse, "patient": patient, "checkin": body["id"], "alert": body["alerts"][0]["id"]}


def browser_sign_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_api_docs_render_in_a_browser_with_nothing_blocked_by_the_policy(live_server, chromium):
    page, violations = watched_page(chromium)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 10  # Swagger UI started and drew the operations
    page.wait_for_load_state("networkidle")
    page.context.close()
    assert violations == []  # neither a script nor a style blocked


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_app_pages_trigger_no_policy_violation_in_a_browser(live_server, browser_people, chromium):
    people = browser_people
    patient_uuid = people["patient"].uuid
    seen = []
    page, violations = watched_page(chromium)
    browser_sign_in(page, live_server.url, "maria")
    for path in (f"/patients/{patient_uuid}/", f"/patients/{patient_uuid}/checkin/",
                 f"/patients/{patient_uuid}/checkins/{people['checkin']}/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        seen.append(path)
    first_page = page
    page, more = watched_page(chromium)
    browser_sign_in(page, live_server.url, "nora")
    for path in ("/staff/", "/staff/alerts/", f"/staff/patients/{patient_uuid}/", f"/staff/alerts/{people['alert']}/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        seen.append(path)
    for open_page in (first_page, page):
        open_page.context.close()  # stop the dashboard's polling before the database is torn down
    assert len(seen) == 7
    assert not violations + more, "\n".join(violations + more)
