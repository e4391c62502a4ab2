"""The patient in the basement garage (shared/journeys.md): the check-in page works without a connection.

The service worker installs on the first visit and keeps this patient's check-in page and offline pages. With
the phone offline (Playwright's offline mode, which covers the worker too) she sends a 38.6 °C check-in: it is
saved on the phone and the page shows the emergency signs with 911 and the care team's 24/7 number from the
cached copy. Back online, the queue is sent, the check-in arrives once under the id made on the phone, is
graded like any other (urgent: any fever after CAR T, clinical-rules §1) and the page opens its result. Another
online event, a reload and a resend of the same form store nothing more."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from monitoring.models import Alert, CheckinAssessment
from tests.browser.conftest import SCREENSHOTS
from tests.browser.support import PASSWORD, sign_in
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import CheckIn, Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHONE = "(555) 010-0199"


@pytest.fixture
def maria(db):
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    UserFactory(username="nora", role=Role.NURSE, teams=[team])
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    CourseFactory(patient=maria, start_date=timezone.localdate() - dt.timedelta(days=2))
    return maria




def first_screen(page, name: str) -> None:
    """What the patient sees without scrolling (the shot fixture takes the whole page)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def ask_worker(page, message: dict):
    """Send the service worker a message and wait for its answer (static/js/sw.js, "Messages from the pages")."""
    return page.evaluate("""(message) => navigator.serviceWorker.ready.then((registration) => new Promise((resolve) => {
        const channel = new MessageChannel();
        channel.port1.onmessage = (event) => resolve(event.data);
        registration.active.postMessage(message, [channel.port2]);
    }))""", message)


def test_a_checkin_made_offline_is_kept_on_the_phone_with_the_emergency_signs_and_sent_once_when_back_online(
    live_server, maria, new_page, shot
):
    page = new_page(360, 800, service_workers="allow")
    context = page.context
    sign_in(page, live_server.url, "maria")
    checkin_url = f"{live_server.url}/patients/{maria.uuid}/checkin/"
    page.goto(checkin_url)
    # The worker is installed, controls the page and has cached this patient's pages.
    assert page.evaluate("""() => navigator.serviceWorker.controller ? true : new Promise((resolve) =>
        navigator.serviceWorker.addEventListener("controllerchange", () => resolve(true), {once: true}))""")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "true", timeout=20_000)
    expect(page.locator("p.offline-ready")).to_be_visible()
    client_id = page.input_value("input[name=client_id]")
    assert re.fullmatch(r"[0-9a-f-]{36}", client_id)

    context.set_offline(True)
    page.fill("#temperature", "38.6")
    page.check("input[name=temperature_unit][value=C]")
    page.check("input[name=consciousness][value=alert]")  # the answers are buttons to tap (radios)
    shot(page, "offline-checkin-form-360")
    page.get_by_role("button", name="Send check-in").scroll_into_view_if_needed()
    first_screen(page, "offline-checkin-form-360-send")
    page.get_by_role("button", name="Send check-in").click()

    # The cached answer: saved on the phone, and what to do without the grade.
    expect(page.locator("h1")).to_have_text("Saved on this phone, not sent yet")
    emergency = page.locator("section.guidance.urgency-emergency")
    expect(emergency).to_contain_text("Call 911 now if you have any of these:")
    expect(emergency).to_contain_text("A seizure (fit)")
    expect(emergency.locator('a[href="tel:911"]')).to_be_visible()
    # The care team's number as a dialable link (digits only), shown as written.
    care_team = page.locator('a[href="tel:5550100199"]').first
    expect(care_team).to_be_visible()
    expect(care_team).to_contain_text(PHONE)
    expect(page.locator("section.guidance.urgency-urgent")).to_contain_text("38.0 °C (100.4 °F) or higher, even once")
    shot(page, "offline-saved-360")
    first_screen(page, "offline-saved-360-first-screen")
    assert not CheckIn.objects.exists()
    status = ask_worker(page, {"type": "status"})
    assert [entry["clientId"] for entry in status["queue"]] == [client_id]

    # Back online: the queue is sent and the page opens the graded result.
    context.set_offline(False)
    expect(page).to_have_url(re.compile(rf"/patients/{maria.uuid}/checkins/{client_id}/$"), timeout=20_000)
    guidance = page.locator("section.guidance")
    expect(guidance).to_have_attribute("data-urgency", "urgent")
    expect(guidance).to_contain_text(PHONE)
    shot(page, "offline-sent-result-360")

    checkin = CheckIn.objects.get(uuid=client_id)
    assert checkin.patient == maria
    assert checkin.temperature_c == Decimal("38.6")
    assert timezone.now() - checkin.recorded_at < dt.timedelta(minutes=2)  # when it was made, not a default
    assessment = CheckinAssessment.objects.get(checkin=checkin)
    assert assessment.urgency_label == "urgent"
    alert = Alert.objects.get(patient=maria)
    assert (alert.condition, alert.urgency, alert.first_checkin_id) == ("crs", 3, checkin.pk)
    assert list(assessment.alerts.all()) == [alert]
    status = ask_worker(page, {"type": "status"})
    assert status["queue"] == [] and status["failed"] == []

    # Another online event, a reload and a resend of the same form do not store it again.
    context.set_offline(True)
    context.set_offline(False)
    page.reload()
    ask_worker(page, {"type": "flush"})
    response = page.request.post(checkin_url, form={
        "csrfmiddlewaretoken": page.input_value("footer input[name=csrfmiddlewaretoken]"),
        "client_id": client_id, "temperature": "38.6", "temperature_unit": "C",
    }, headers={"X-Checkin-Queue": "1", "Referer": checkin_url}, max_redirects=0)
    assert response.status == 302
    assert response.headers["location"] == f"/patients/{maria.uuid}/checkins/{client_id}/"
    assert CheckIn.objects.count() == 1
    assert CheckinAssessment.objects.count() == 1
    assert Alert.objects.count() == 1


def test_a_refused_queued_checkin_is_shown_to_the_patient_and_not_dropped_silently(live_server, maria, new_page, shot):
    """A check-in that waited on the phone too long (more than the center's 72 hours) is refused on arrival;
    the patient is told why the next time the page opens, until she dismisses it."""
    page = new_page(360, 800, service_workers="allow")
    sign_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/patients/{maria.uuid}/checkin/")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "true", timeout=20_000)
    page.context.set_offline(True)
    page.fill("#temperature", "37.2")
    page.check("input[name=temperature_unit][value=C]")
    page.get_by_role("button", name="Send check-in").click()
    expect(page.locator("h1")).to_have_text("Saved on this phone, not sent yet")
    # Pretend it was made four days ago.
    page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("cart-offline");
        open.onsuccess = () => {
            const tx = open.result.transaction("queue", "readwrite");
            const store = tx.objectStore("queue");
            store.getAll().onsuccess = (event) => {
                for (const entry of event.target.result) store.put(Object.assign(entry, {madeAt: entry.madeAt - 96 * 3600 * 1000}));
            };
            tx.oncomplete = () => { open.result.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
        };
    })""")
    page.context.set_offline(False)
    notice = page.locator("#offline-app .notice.failed")
    page.goto(f"{live_server.url}/patients/{maria.uuid}/")
    expect(notice).to_contain_text("could not be sent", timeout=20_000)
    expect(notice).to_contain_text("at most 72 hours back")
    shot(page, "offline-refused-360")
    first_screen(page, "offline-refused-360-first-screen")
    assert not CheckIn.objects.exists()
    page.reload()
    expect(notice).to_be_visible()  # still there until she has read it
    notice.get_by_role("button", name="OK").click()
    expect(notice).to_have_count(0)
    page.reload()
    expect(page.locator("h1")).to_contain_text("Hello")
    expect(notice).to_have_count(0)


def test_a_checkin_waiting_while_the_session_ended_is_sent_after_signing_in_again(live_server, maria, new_page, shot):
    """Idle too long in the garage: the session is gone when the connection returns. The check-in stays on the
    phone, the page asks her to sign in, and it is sent once she has."""
    page = new_page(360, 800, service_workers="allow")
    sign_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/patients/{maria.uuid}/checkin/")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "true", timeout=20_000)
    client_id = page.input_value("input[name=client_id]")
    page.context.set_offline(True)
    page.fill("#temperature", "38.1")
    page.check("input[name=temperature_unit][value=C]")
    page.get_by_role("button", name="Send check-in").click()
    expect(page.locator("h1")).to_have_text("Saved on this phone, not sent yet")
    page.context.clear_cookies()  # the session ended
    page.context.set_offline(False)

    notice = page.locator("#offline-app .notice.pending")
    expect(notice).to_contain_text("has not been sent yet. Sign in to send it.", timeout=20_000)
    expect(page.locator("p.status[data-while-offline]")).to_be_hidden()  # "No internet right now" is not true now
    shot(page, "offline-sign-in-360")
    assert not CheckIn.objects.exists()
    notice.get_by_role("link", name="Sign in").click()
    expect(page.locator("#offline-app .notice.pending")).to_contain_text("has not been sent yet. Sign in to send it.")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")

    # Signed in, she is back on "saved on this phone", which opens the result once the check-in is sent.
    expect(page).to_have_url(re.compile(rf"/patients/{maria.uuid}/checkins/{client_id}/$"), timeout=20_000)
    expect(page.locator("section.guidance")).to_have_attribute("data-urgency", "urgent")
    checkin = CheckIn.objects.get(uuid=client_id)
    assert checkin.temperature_c == Decimal("38.1")
    assert CheckinAssessment.objects.get(checkin=checkin).urgency_label == "urgent"
    expect(page.locator("#offline-app .notice")).to_have_count(0)  # this is its result: no "sent" notice here

    # Signing out deletes the cached pages (they name the patient).
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    cached = "() => caches.open('cart-pages-v1').then((cache) => cache.keys()).then((keys) => keys.length)"
    for _ in range(50):
        if page.evaluate(cached) == 0:
            break
        page.wait_for_timeout(100)
    assert page.evaluate(cached) == 0


def test_offline_the_other_pages_show_the_emergency_signs_and_a_checkin_sent_meanwhile_links_to_its_result(
    live_server, maria, new_page, shot
):
    page = new_page(360, 800, service_workers="allow")
    sign_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/patients/{maria.uuid}/checkin/")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "true", timeout=20_000)
    client_id = page.input_value("input[name=client_id]")
    page.context.set_offline(True)
    page.fill("#temperature", "37.0")
    page.check("input[name=temperature_unit][value=C]")
    page.get_by_role("button", name="Send check-in").click()
    expect(page.locator("h1")).to_have_text("Saved on this phone, not sent yet")

    # Her home page was never cached (it would show yesterday's status): offline it is the emergency page.
    page.goto(f"{live_server.url}/patients/{maria.uuid}/")
    expect(page.locator("h1")).to_have_text("No connection")
    expect(page.locator('section.guidance.urgency-emergency a[href="tel:911"]')).to_be_visible()
    expect(page.get_by_role("link", name="Check in now")).to_be_visible()
    shot(page, "offline-home-360")

    page.context.set_offline(False)
    expect(page.locator("h1")).to_have_text("Hello, Maria", timeout=20_000)  # the page itself, back online
    sent = page.locator("#offline-app .notice.sent")
    expect(sent).to_contain_text("has been sent", timeout=20_000)
    assert CheckIn.objects.filter(uuid=client_id).count() == 1
    shot(page, "offline-sent-notice-360")
    sent.get_by_role("link", name="See what to do now").click()
    expect(page).to_have_url(re.compile(rf"/checkins/{client_id}/$"))
    expect(page.locator("section.guidance")).to_have_attribute("data-urgency", "none")
    expect(page.locator("#offline-app .notice")).to_have_count(0)  # seen


def test_the_saved_on_this_phone_page_speaks_the_patients_language(live_server, maria, new_page, shot):
    maria.preferred_language = "es"
    maria.save(update_fields=["preferred_language"])
    page = new_page(360, 800, service_workers="allow")
    sign_in(page, live_server.url, "maria")
    page.goto(f"{live_server.url}/patients/{maria.uuid}/checkin/")
    expect(page.locator("html")).to_have_attribute("data-offline-ready", "true", timeout=20_000)
    page.context.set_offline(True)
    page.fill("#temperature", "38.6")
    page.check("input[name=temperature_unit][value=C]")
    with translation.override("es"):
        send, saved, call = (translation.gettext(text) for text in
                             ("Send check-in", "Saved on this phone, not sent yet", "Call 911"))
    page.get_by_role("button", name=send).click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("h1")).to_have_text(saved)
    expect(page.locator('section.guidance.urgency-emergency a[href="tel:911"]')).to_have_text(call)
    shot(page, "offline-saved-spanish-360")
    first_screen(page, "offline-saved-spanish-360-first-screen")
