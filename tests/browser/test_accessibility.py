"""Accessibility (WCAG 2.2 AA) of every page, in Chromium, as the people of shared/journeys.md meet them.

- axe-core (npm, `node_modules/axe-core/axe.min.js`, installed by `make install` from package-lock.json) runs
  on each page of PAGES, signed in as the person who uses it, at 360 px and at 1366 px: no serious or
  critical violation of the WCAG 2.0-2.2 A/AA rules or axe's best practices. The page keeps its Content
  Security Policy: axe's source is evaluated through the DevTools protocol (`page.evaluate`), which the policy
  does not govern, so no `bypass_csp` and no inline script is needed.
- The pages a patient or caregiver opens are read at 200 % zoom on a 360 px phone (a 180 CSS px wide
  viewport at device scale factor 2, which is what the browser's zoom does): no sideways scrolling.
- A check-in done with the keyboard alone (Tab, Space, Enter and typing the numbers), from the home page to
  the result; after a failed send the focus is on the list of what to fix.

Screenshots of every page at 360 and 1366 px go to screenshots/a11y-*.png (git-ignored).
"""

import dataclasses
import datetime as dt
import json
import pathlib
import re
import time
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from tests.factories import CaregiverLinkFactory, CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = pathlib.Path(__file__).resolve().parents[2]
AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "screenshots"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")
PHONE, DESKTOP = (360, 800), (1366, 900)
ZOOMED_PHONE = {"width": 180, "height": 400}  # 360 px at 200 % zoom: 180 CSS px, 2 device px each


@dataclasses.dataclass(frozen=True)
class Page:
    name: str
    who: str | None  # username signed in, None for nobody
    path: str  # with {maria}, {robert}, {emergency}, {quiet}, {alert}, {reset}, {invitation} filled in
    action: str = ""  # what is done on the page before it is checked (ACTIONS)
    patient_facing: bool = False  # read by a patient or caregiver: checked at 200 % zoom on a phone
    fault: str = ""  # "500" or "503": the page a failing request shows


PAGES = [
    # Signed out: sign-in, passwords, invitations, the error pages.
    Page("sign-in", None, "/accounts/login/", patient_facing=True),
    Page("forgot-password", None, "/accounts/password/forgot/", patient_facing=True),
    Page("forgot-password-sent", None, "/accounts/password/forgot/sent/", patient_facing=True),
    Page("reset-password", None, "{reset}", patient_facing=True),
    Page("reset-password-done", None, "/accounts/password/reset/done/", patient_facing=True),
    Page("invitation-set-password", None, "{invitation}", patient_facing=True),
    Page("invitation-invalid", None, "/accounts/invitation/no-such-invitation/", patient_facing=True),
    Page("not-found-signed-out", None, "/no-such-page/", patient_facing=True),
    # The patient (Maria, CAR T, day 2, an emergency not yet acknowledged; Robert, pembrolizumab, all quiet).
    Page("patient-home-emergency", "maria", "/patients/{maria}/", patient_facing=True),
    Page("patient-home", "robert", "/patients/{robert}/", patient_facing=True),
    Page("checkin-form", "maria", "/patients/{maria}/checkin/", patient_facing=True),
    Page("checkin-form-errors", "maria", "/patients/{maria}/checkin/", action="send", patient_facing=True),
    Page("checkin-same-as-usual", "robert", "/patients/{robert}/checkin/?quick=1", patient_facing=True),
    Page("checkin-result-emergency", "maria", "/patients/{maria}/checkins/{emergency}/", patient_facing=True),
    Page("checkin-result-none", "robert", "/patients/{robert}/checkins/{quiet}/", patient_facing=True),
    Page("offline", "maria", "/patients/{maria}/offline/", patient_facing=True),
    Page("offline-saved", "maria", "/patients/{maria}/offline/?saved=1", patient_facing=True),
    Page("patient-inbox", "maria", "/inbox/", patient_facing=True),
    Page("not-found", "maria", "/no-such-page/", patient_facing=True),
    Page("server-error", "maria", "/patients/{maria}/", fault="500", patient_facing=True),
    Page("unavailable", "maria", "/patients/{maria}/", fault="503", patient_facing=True),
    # The caregiver (David, linked to Maria and Robert).
    Page("caregiver-choose-patient", "david", "/", patient_facing=True),
    Page("caregiver-home", "david", "/patients/{maria}/", patient_facing=True),
    Page("caregiver-checkin-form", "david", "/patients/{maria}/checkin/", patient_facing=True),
    # The nurse (Ana, Cellular Therapy) and the physician's two-factor code.
    Page("staff-dashboard", "ana", "/staff/"),
    Page("alert-inbox", "ana", "/staff/alerts/"),
    Page("alert-detail", "ana", "/staff/alerts/{alert}/"),
    Page("staff-patient-detail", "ana", "/staff/patients/{maria}/"),
    Page("staff-patients", "ana", "/staff/patients/"),
    Page("staff-patient-search", "ana", "/staff/patients/", action="search"),
    Page("staff-phone-checkin", "ana", "/patients/{maria}/checkin/"),
    Page("staff-inbox", "ana", "/inbox/"),
    Page("two-factor-code", "dr.cell", "/accounts/2fa/"),
    # The coordinator (Cora): enrolment, and the first sign-in's two-factor enrolment step.
    Page("two-factor-enrol", "cora", "/accounts/2fa/"),
    Page("enrol", "cora", "/staff/enrol/"),
    Page("enrol-errors", "cora", "/staff/enrol/", action="enrol"),
    Page("enrolments", "cora", "/staff/enrolments/"),
]


def _send(page) -> None:
    """Send the check-in with a pulse that is not a number: the form comes back with its errors."""
    page.fill("#heart_rate", "fast")
    with page.expect_navigation():
        page.get_by_role("button", name="Send check-in").click()


def _search(page) -> None:
    page.locator("main input[name=q]").fill("Lopez")
    with page.expect_navigation():
        page.locator("main input[name=q]").press("Enter")


def _enrol(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Enrol and send invitations").click()


ACTIONS = {"send": _send, "search": _search, "enrol": _enrol}


def check_in(patient, by, **answers):
    """A complete check-in graded as the product grades it."""
    from monitoring.services.intake import checkin_submit
    from tracker.questions import YES_NO_QUESTIONS, required_fields
    from tracker.selectors import patient_question_groups

    question_groups = patient_question_groups(patient)
    values = {q.field: False for q in YES_NO_QUESTIONS if q.required and q.applies_to in question_groups}
    values.update({name: "alert" for name in required_fields(question_groups) if name == "consciousness"})
    temperature = answers.pop("temperature_c", Decimal("37.0"))
    values.update(temperature_c=temperature, temperature_entered=temperature, temperature_unit="C", **answers)
    return checkin_submit(patient=patient, entered_by=by, channel="web", values=values).checkin


@pytest.fixture
def clinic(db):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from monitoring.models import Alert
    from notifications.models import Notification
    from tracker.invitations import invitation_issue, invitation_link_mint

    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    thoracic = CareTeamFactory(name="Thoracic Oncology")
    ana = UserFactory(username="ana", role=Role.NURSE, teams=[team, thoracic], first_name="Ana", last_name="Ruiz")
    UserFactory(username="cora", role=Role.COORDINATOR, teams=[team], first_name="Cora", last_name="Ndiaye",
                email="cora@example.test")
    doctor = UserFactory(username="dr.cell", role=Role.PHYSICIAN, teams=[team], first_name="Sam", last_name="Okafor")
    TOTPDevice.objects.create(user=doctor, name="Authenticator app", confirmed=True)
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez", phone="(555) 010-0142",
                           user=UserFactory(username="maria", role=Role.PATIENT, first_name="Maria", last_name="Lopez",
                                             email="maria@example.test"))
    CourseFactory(patient=maria, start_date=timezone.localdate() - dt.timedelta(days=2))
    robert = PatientFactory(care_team=thoracic, first_name="Robert", last_name="Chen", phone="(555) 010-0160",
                            user=UserFactory(username="robert", role=Role.PATIENT, first_name="Robert",
                                              last_name="Chen"))
    CourseFactory(patient=robert, therapy=Therapy.objects.get(code="pembrolizumab"),
                  start_date=timezone.localdate() - dt.timedelta(weeks=11))
    david = UserFactory(username="david", role=Role.CAREGIVER, first_name="David", last_name="Lopez",
                        phone="(555) 010-0143")
    CaregiverLinkFactory(patient=maria, user=david, relationship="husband")
    CaregiverLinkFactory(patient=robert, user=david, relationship="brother-in-law")
    # Maria: 38.4 °C and dizzy on standing (clinical-rules §1: emergency), not acknowledged yet.
    emergency = check_in(maria, maria.user, temperature_c=Decimal("38.4"), heart_rate=112, dizzy_or_fainting=True)
    alert = Alert.objects.get(patient=maria)
    quiet = check_in(robert, robert.user, temperature_c=Decimal("36.8"), extra_stools=0, abdominal_pain="none",
                     rash_percent=0)
    now = timezone.now()
    Notification.objects.create(dedup_key="a11y:nurse", kind="alert", channel="inapp", alert=alert, patient=maria,
                                recipient=ana, urgency="emergency", alert_urgency=alert.urgency, status="sent",
                                sent_at=now, context={"link": f"/staff/alerts/{alert.uuid}/"})
    Notification.objects.create(dedup_key="a11y:maria", kind="reminder", channel="inapp", patient=maria,
                                recipient=maria.user, status="sent", sent_at=now,
                                context={"link": f"/patients/{maria.uuid}/checkin/"})
    # A caregiver not yet past his invitation (its link), and Maria's "forgot your password" link.
    tomas = UserFactory(username="tomas.chen", role=Role.CAREGIVER, first_name="Tomas", last_name="Chen")
    tomas.set_unusable_password()
    tomas.save()
    CaregiverLinkFactory(patient=robert, user=tomas, relationship="son")
    invitation = invitation_issue(user=tomas, patient=robert)
    uid = urlsafe_base64_encode(force_bytes(maria.user.pk))
    return {
        "maria": maria.uuid, "robert": robert.uuid, "emergency": emergency.uuid, "quiet": quiet.uuid,
        "alert": alert.uuid, "invitation": invitation_link_mint(invitation_uuid=invitation.uuid),
        "reset": f"/accounts/password/reset/{uid}/{default_token_generator.make_token(maria.user)}/",
    }


def signed_in_context(browser, base: str, username: str | None, **options):
    """A browser context with the person's session (signed in through Django, not through the form)."""
    from tracker.models import User

    # No service worker: it warms the offline copies in the background, requests that could outlive the test.
    context = browser.new_context(service_workers="block", **options)
    if username:
        client = Client()
        client.force_login(User.objects.get(username=username))
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return context


def axe(page) -> dict:
    """axe-core's results on the page as it is now (WCAG 2.0-2.2 A and AA, and best practices): the
    violations in full, the ids of the rules passed and of those it could not decide (to review by eye)."""
    if not AXE_SOURCE.exists():
        pytest.fail(f"{AXE_SOURCE} is missing: `make install` installs axe-core from package-lock.json (npm ci).")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))  # DevTools evaluation: outside the page's CSP
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("""options => axe.run(document, options).then(r => ({
        violations: r.violations, passes: r.passes.map(p => ({id: p.id})),
        incomplete: r.incomplete.map(i => ({id: i.id, impact: i.impact}))}))""", options)


def summary(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"]][:5]
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}): {'; '.join(targets)}")
        lines.extend(f"    {node['failureSummary'].splitlines()[-1].strip()}" for node in v["nodes"][:2])
    return "\n".join(lines)


@pytest.fixture(scope="module", autouse=True)
def _fresh_findings():
    """screenshots/a11y-violations.jsonl holds this run's findings only."""
    (SCREENSHOTS / "a11y-violations.jsonl").unlink(missing_ok=True)


def record(name: str, width: int, results: dict) -> None:
    """Every page's findings (all impacts) as JSON lines, for the report: screenshots/a11y-violations.jsonl."""
    SCREENSHOTS.mkdir(exist_ok=True)
    row = {"page": name, "width": width, "violations": [
        {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in results["violations"]],
        "passes": len(results["passes"]), "incomplete": [v["id"] for v in results["incomplete"]]}
    with open(SCREENSHOTS / "a11y-violations.jsonl", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")


def open_page(page, base: str, spec: Page, ids: dict):
    response = page.goto(base + spec.path.format(**ids))
    if spec.action:
        ACTIONS[spec.action](page)
    page.wait_for_load_state("load")
    return response


@pytest.fixture
def faults(monkeypatch):
    """A request for a patient's page that fails: an error (500), or the database gone (503)."""
    from django import db

    from tracker import selectors

    def arm(kind: str) -> None:
        def broken(*args, **kwargs):
            if kind == "503":
                raise db.OperationalError("the database went away (test)")
            raise RuntimeError("a bug (test)")

        monkeypatch.setattr(selectors, "patients_visible_to", broken)

    return arm


@pytest.fixture
def contexts(browser, live_server):
    """Browser contexts signed in as someone, closed after the test (before the database is emptied)."""
    opened = []

    def make(username: str | None, **options):
        context = signed_in_context(browser, live_server.url, username, **options)
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield make
    for context in opened:
        for page in context.pages:
            page.goto("about:blank")  # stops the page's own requests (htmx polls) before the database is emptied
        context.close()
    time.sleep(0.3)  # a request the server thread was still answering finishes before the flush


SIDEWAYS = """() => {
    const limit = document.documentElement.clientWidth + 1;
    return [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > limit || e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'visible' && e.clientWidth > 0)
        .slice(0, 6).map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className} (${Math.round(e.getBoundingClientRect().right)})`);
}"""


@pytest.mark.parametrize("spec", PAGES, ids=[p.name for p in PAGES])
def test_page_has_no_serious_accessibility_violations(live_server, contexts, clinic, faults, spec):
    base = live_server.url
    page = contexts(spec.who, viewport=dict(zip(("width", "height"), DESKTOP, strict=True)))
    if spec.fault:
        faults(spec.fault)
    response = open_page(page, base, spec, clinic)
    expected = {"500": 500, "503": 503}.get(spec.fault, 404 if "no-such-page" in spec.path else None)
    if expected:
        assert response.status == expected
    else:
        assert response.status < 400 or spec.action, f"{spec.name}: {response.status} {page.url}"
    blocking = []
    for width, height in (DESKTOP, PHONE):
        page.set_viewport_size({"width": width, "height": height})
        results = axe(page)
        record(spec.name, width, results)
        blocking += [v for v in results["violations"] if v["impact"] in BLOCKING]
        page.screenshot(path=str(SCREENSHOTS / f"a11y-{spec.name}-{width}.png"), full_page=True)
    if spec.patient_facing:
        small = contexts(spec.who, viewport=ZOOMED_PHONE, device_scale_factor=2)
        open_page(small, base, spec, clinic)
        small.screenshot(path=str(SCREENSHOTS / f"a11y-{spec.name}-360-zoom200.png"), full_page=True)
        scroll, client = small.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, (f"{spec.name} scrolls sideways at 200 % on a 360 px phone ({scroll} > {client}): "
                                  f"{small.evaluate(SIDEWAYS)}")
    assert not blocking, f"{spec.name}:\n{summary(blocking)}"


def focus_by_tab(page, selector: str, limit: int = 120, shift: bool = False) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press("Shift+Tab" if shift else "Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_a_patient_checks_in_with_the_keyboard_alone(live_server, contexts, clinic):
    base = live_server.url
    page = contexts("maria", viewport=dict(zip(("width", "height"), PHONE, strict=True)))
    page.goto(f"{base}/patients/{clinic['maria']}/checkin/")

    # A failed send (the pulse typed as a word): the list of what to fix has the focus, and its link leads to
    # the question.
    focus_by_tab(page, "#heart_rate")
    page.keyboard.type("fast")
    focus_by_tab(page, "button:text-is('Send check-in')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error-summary")).to_contain_text("Pulse")
    assert page.title().startswith("Error:")
    page.keyboard.press("Tab")
    expect(page.locator("#error-summary a").first).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("() => location.hash") == "#f-heart_rate"

    # Now from the home page, keyboard only: "Check in now", the temperature, a warning sign, how awake.
    page.goto(f"{base}/patients/{clinic['maria']}/")
    focus_by_tab(page, "main a:text-is('Check in now')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/checkin/$"))
    # Her thermometer reads °C, the page starts in °F (English, a center in the Americas): 38.4 looks like °C and
    # the page offers the switch, one Tab further on.
    expect(page.locator("input[name=temperature_unit][value=F]")).to_be_checked()
    focus_by_tab(page, "#temperature")
    page.keyboard.type("38.4")
    focus_by_tab(page, "[data-unit-warning] button")
    page.keyboard.press("Space")
    expect(page.locator("input[name=temperature_unit][value=C]")).to_be_checked()
    focus_by_tab(page, "input[name=yes][value=dizzy_or_fainting]")
    page.keyboard.press("Space")
    expect(page.locator("input[name=yes][value=dizzy_or_fainting]")).to_be_checked()
    focus_by_tab(page, "input[name=consciousness][value=alert]")
    page.keyboard.press("Space")
    expect(page.locator("input[name=consciousness][value=alert]")).to_be_checked()
    focus_by_tab(page, "button:text-is('Send check-in')")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/patients/{clinic['maria']}/checkins/[0-9a-f-]+/$"))
    expect(page.locator("section.guidance")).to_have_attribute("data-urgency", "emergency")
    expect(page.locator("h1")).to_contain_text("call 911")


def test_the_axe_harness_reports_what_it_should(live_server, contexts):
    """A page with no violation must mean axe looked: the same check finds a field without a label and text
    too faint to read, added to the sign-in page (through the DOM, which the page's policy allows)."""
    page = contexts(None, viewport={"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => {
        const form = document.querySelector('main form');
        form.append(document.createElement('input'));
        const faint = document.createElement('p');
        faint.textContent = 'Faint words';
        faint.style.color = '#c8c8c8';
        form.append(faint);
    }""")
    found = {v["id"]: v["impact"] for v in axe(page)["violations"]}
    assert found.get("label") == "critical" and found.get("color-contrast") == "serious", found
