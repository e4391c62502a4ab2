"""What the patient and the caregiver see, in Chromium at 360 px (and 1366 px for the screenshots): a
Spanish-speaking patient's emergency in Spanish from the form to the home page, which keeps what to do until a
nurse acknowledges, in whichever language the page is switched to; a caregiver's check-in with the yes/no word
and memory screen, addressed as the caregiver, with the patient named and the score worked out by the server.
Screenshots go to screenshots/ (git-ignored)."""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from tests.browser.support import sign_in
from tests.factories import CaregiverLinkFactory, CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import CheckIn, Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PHONE = "(555) 010-0199"
PHONE_HREF = "tel:5550100199"


def es(text: str) -> str:
    with translation.override("es"):
        translated = translation.gettext(text)
    assert translated != text or text in ("No",), f"the Spanish catalogue is missing {text!r}"
    return translated


@pytest.fixture
def people(db):
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name="Cellular Therapy")
    nurse = UserFactory(username="nora", role=Role.NURSE, teams=[team], first_name="Nora", last_name="Quinn")
    lucia = PatientFactory(care_team=team, first_name="Lucía", last_name="Torres", preferred_language="es",
                           user=UserFactory(username="lucia", role=Role.PATIENT, preferred_language="es"))
    CourseFactory(patient=lucia, start_date=timezone.localdate() - dt.timedelta(days=2))
    maria = PatientFactory(care_team=team, first_name="Maria", last_name="Lopez",
                           user=UserFactory(username="maria", role=Role.PATIENT))
    CourseFactory(patient=maria, start_date=timezone.localdate() - dt.timedelta(days=2))
    david = UserFactory(username="david", role=Role.CAREGIVER, first_name="David", last_name="Lopez")
    CaregiverLinkFactory(patient=maria, user=david, relationship="husband")
    return {"nurse": nurse, "lucia": lucia, "maria": maria, "david": david}




def switch_language(page, code: str) -> None:
    page.select_option("#language", code)
    with page.expect_navigation():
        page.click("footer button[type=submit]")


def above_the_fold(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] + box["height"] <= page.viewport_size["height"]


def test_spanish_patient_emergency_in_spanish_until_a_nurse_acknowledges(live_server, people, new_page, shot):
    from monitoring.models import Alert
    from monitoring.services.alerts import alert_acknowledge

    lucia = people["lucia"]
    page = new_page(360, 800)
    sign_in(page, live_server.url, "lucia")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_role("link", name=es("Check in now")).click()
    expect(page.locator("h1")).to_have_text(es("How are you right now?"))
    expect(page.locator(".progress").first).to_have_text(re.compile(r"^Parte 1 de \d+$"))
    # Her thermometer reads °C, the Spanish pages write 38,6: both are what she sees first.
    expect(page.locator("input[name=temperature_unit][value=C]")).to_be_checked()
    page.fill("#temperature", "38,6")
    page.check("input[name=yes][value=dizzy_or_fainting]")
    page.check("input[name=consciousness][value=alert]")
    shot(page, "es-emergency-form-360")
    page.get_by_role("button", name=es("Send check-in")).click()

    # The result leads with the urgency, 911 to tap first, in Spanish.
    expect(page).to_have_url(re.compile(rf"/patients/{lucia.uuid}/checkins/[0-9a-f-]+/$"))
    guidance = page.locator("section.guidance")
    expect(guidance).to_have_attribute("data-urgency", "emergency")
    heading = page.locator("h1")
    expect(heading).to_contain_text("Llame al 911")
    call_911 = guidance.locator('a[href="tel:911"]')
    expect(call_911).to_be_visible()
    assert above_the_fold(page, heading) and above_the_fold(page, call_911)
    expect(guidance.locator(f'a[href="{PHONE_HREF}"]')).to_contain_text(PHONE)
    expect(guidance).to_contain_text(es(
        "Call 911 or go to the emergency department now, then call your care team at {phone}.").format(phone=PHONE))
    recorded = page.locator("section.recorded")
    expect(recorded).to_contain_text("38,6 °C")
    expect(recorded).to_contain_text(es("(led to this advice)"))
    expect(page.locator("body")).not_to_contain_text("No warning signs were ticked")
    shot(page, "es-emergency-result-360")
    result_url = page.url

    # Her page keeps what to do at the top until a nurse has seen it.
    page.goto(f"{live_server.url}/patients/{lucia.uuid}/")
    guidance = page.locator("section.guidance")
    expect(guidance).to_have_attribute("data-urgency", "emergency")
    expect(page.locator("h1")).to_contain_text("Llame al 911")
    assert above_the_fold(page, guidance.locator('a[href="tel:911"]'))
    expect(guidance.locator(f'a[href="{PHONE_HREF}"]')).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(es("Today's check-in is done. You can check in again any "
                                                        "time something changes."))
    expect(page.locator("p.status.ok")).to_have_count(0)
    shot(page, "es-home-open-instruction-360")

    # Switched to English, the same instruction reads in English, here and on the result page.
    switch_language(page, "en")
    expect(page.locator("section.guidance h1")).to_have_text("Emergency: call 911 now")
    expect(page.locator("section.guidance")).to_contain_text(
        f"Call 911 or go to the emergency department now, then call your care team at {PHONE}.")
    page.goto(result_url)
    expect(page.locator("section.guidance")).to_contain_text("Call 911 or go to the emergency department now")
    expect(page.locator("section.recorded")).to_contain_text("38.6 °C (101.5 °F)")
    switch_language(page, "es")

    wide = new_page(1366, 900)
    sign_in(wide, live_server.url, "lucia")
    shot(wide, "es-home-open-instruction-1366")
    wide.goto(result_url)
    shot(wide, "es-emergency-result-1366")

    # The nurse acknowledges: the page goes back to her usual one.
    alert_acknowledge(alert=Alert.objects.get(patient=lucia, urgency=4), user=people["nurse"])
    page.goto(f"{live_server.url}/patients/{lucia.uuid}/")
    expect(page.locator("section.guidance")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("Hola, Lucía")
    expect(page.locator("p.status.ok")).to_be_visible()


def test_caregiver_checks_in_with_the_yes_no_word_and_memory_screen(live_server, people, new_page, shot):
    maria = people["maria"]
    page = new_page(360, 800)
    sign_in(page, live_server.url, "david")
    expect(page.locator("h1")).to_have_text("Checking in for Maria")
    page.get_by_role("link", name="Check in now").click()
    expect(page.locator("h1")).to_have_text("How is Maria right now?")
    expect(page.locator("p.lead").first).to_have_text("Checking in for Maria Lopez")
    expect(page.get_by_text("Is Maria using oxygen at home?")).to_be_visible()

    # US center, English: °F comes first. 37.6 is a °C reading: the page offers the switch before sending.
    expect(page.locator("input[name=temperature_unit][value=F]")).to_be_checked()
    page.fill("#temperature", "37.6")
    warning = page.locator("[data-unit-warning]")
    expect(warning).to_contain_text("That looks like °C, not °F.")
    warning.get_by_role("button", name="Switch to °C").click()
    expect(page.locator("input[name=temperature_unit][value=C]")).to_be_checked()
    expect(warning).to_be_hidden()
    page.get_by_label("Awake and alert as usual").check()

    # Two items answered, then sent: the errors are listed at the top, with focus there, naming the items left.
    screen = page.locator("#f-ice")
    screen.locator("#f-ice_year").get_by_label("Yes").check()
    screen.locator("#f-ice_month").get_by_label("Yes").check()
    expect(screen.locator("[data-ice-total]")).to_contain_text("Score so far: 2 of 10 (2 of 10 questions answered)")
    page.get_by_role("button", name="Send check-in").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Word and memory screen: 8 questions have no answer yet.")
    expect(screen.locator("#f-ice_city .error")).to_have_text(
        "Says what city they are in: tap Yes or No, or leave the whole screen empty.")
    assert not CheckIn.objects.exists()
    shot(page, "caregiver-error-summary-360")

    # Keyboard: from the summary to the item it names.
    summary.get_by_role("link").first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#f-ice_city$"))
    expect(screen.locator("#f-ice_year").get_by_label("Yes")).to_be_checked()  # kept
    expect(page.locator("input[name=temperature_unit][value=C]")).to_be_checked()
    for field in ("ice_city", "ice_hospital", "ice_object_1", "ice_object_2", "ice_follows_request",
                  "ice_writes_sentence"):
        screen.locator(f"#f-{field}").get_by_label("Yes").check()
    screen.locator("#f-ice_object_3").get_by_label("No").check()
    # The last one by keyboard: Tab to "Yes", arrow to "No" (a radio group).
    screen.locator("#f-ice_counts_back").get_by_label("Yes").focus()
    page.keyboard.press("ArrowRight")
    expect(screen.locator("#f-ice_counts_back").get_by_label("No")).to_be_checked()
    expect(screen.locator("[data-ice-total]")).to_contain_text("Score so far: 8 of 10 (10 of 10 questions answered)")
    shot(page, "caregiver-ice-360")
    wide = new_page(1366, 900)
    sign_in(wide, live_server.url, "david")
    wide.goto(f"{live_server.url}/patients/{maria.uuid}/checkin/")
    shot(wide, "caregiver-form-1366")

    page.get_by_role("button", name="Send check-in").click()
    # ICE 8 is below her baseline of 10: urgent (clinical-rules §2).
    guidance = page.locator("section.guidance")
    expect(guidance).to_have_attribute("data-urgency", "urgent")
    expect(page.locator("h1")).to_have_text("Call your care team now")
    expect(guidance.locator(f'a[href="{PHONE_HREF}"]')).to_be_visible()
    expect(page.locator("section.recorded")).to_contain_text("8 of 10")
    expect(page.get_by_role("link", name="Back to Maria's page")).to_be_visible()
    shot(page, "caregiver-result-360")
    stored = CheckIn.objects.get()
    assert (stored.entered_by, stored.entered_role) == (people["david"], "caregiver")
    assert (stored.ice_orientation, stored.ice_naming, stored.ice_command, stored.ice_writing, stored.ice_counting,
            stored.ice_score) == (4, 2, 1, 1, 0, 8)
    assert stored.temperature_c is not None and str(stored.temperature_c) == "37.6"

    # Her page keeps what to do until a nurse has seen it, and says why driving now waits until 26 Jan.
    page.goto(f"{live_server.url}/patients/{maria.uuid}/")
    expect(page.locator("section.guidance")).to_have_attribute("data-urgency", "urgent")
    expect(page.locator("h2.greeting")).to_have_text("Checking in for Maria")
    why = page.locator("#driving-why")
    expect(why).to_contain_text("a change in thinking, speech, alertness or movement")
    expect(why).to_contain_text("no driving for at least 8 weeks after it")
    shot(page, "caregiver-home-360")
    # The short check-in, by the caregiver.
    page.get_by_role("link", name="Maria feels the same as usual").click()
    expect(page.locator("input[name=temperature_unit][value=C]")).to_be_checked()  # remembered from his switch
    shot(page, "caregiver-same-as-usual-360")


def test_a_caregiver_of_several_patients_sees_whose_no_driving_window_each_banner_is(live_server, people, new_page,
                                                                                      shot):
    """Choosing whom to check in for, each no-driving banner names its patient (two on CAR T); a patient without
    a window (on a checkpoint inhibitor) has none. In English and in Spanish."""
    maria, david = people["maria"], people["david"]
    ana = PatientFactory(care_team=maria.care_team, first_name="Ana", last_name="Ruiz")
    CourseFactory(patient=ana, therapy=Therapy.objects.get(code="kymriah"),
                  start_date=timezone.localdate() - dt.timedelta(days=5))
    robert = PatientFactory(care_team=maria.care_team, first_name="Robert", last_name="Chen")
    CourseFactory(patient=robert, therapy=Therapy.objects.get(code="pembrolizumab"))
    for patient in (ana, robert):
        CaregiverLinkFactory(patient=patient, user=david, relationship="son")

    page = new_page(360, 800)
    sign_in(page, live_server.url, "david")
    expect(page.locator("h1")).to_have_text("Who are you checking in for?")
    banners = page.locator(".banner.driving")
    expect(banners).to_have_count(2)
    expect(banners.nth(0).locator("strong")).to_contain_text(re.compile(r"No driving for Maria Lopez until \d+ \w+ \(\d+ days left\)"))
    expect(banners.nth(1).locator("strong")).to_contain_text(re.compile(r"No driving for Ana Ruiz until \d+ \w+ \(\d+ days left\)"))
    expect(page.locator("body")).not_to_contain_text("Robert Chen until")
    expect(page.locator("body")).not_to_contain_text("No driving until")  # never a window without its patient
    shot(page, "caregiver-choose-patient-banners-360")

    switch_language(page, "es")
    banners = page.locator(".banner.driving")
    expect(banners).to_have_count(2)
    expect(banners.nth(0).locator("strong")).to_contain_text(re.compile(r"Maria Lopez no debe manejar hasta el \d+ \w+ \(quedan \d+ días\)"))
    expect(banners.nth(1).locator("strong")).to_contain_text(re.compile(r"Ana Ruiz no debe manejar hasta el \d+ \w+ \(quedan \d+ días\)"))
    shot(page, "caregiver-choose-patient-banners-es-360")


def test_the_short_check_in_asks_the_stools_a_pending_diarrhea_reask_waits_on(live_server, people, new_page, shot):
    """On a checkpoint inhibitor, three extra stools were re-asked in 3 days (clinical-rules §4). "I feel the same
    as usual" shows the stool question, unanswered; sent without it, it says what to fix and the re-ask stays open;
    the number typed is what closes it."""
    from rest_framework.test import APIClient

    from monitoring.models import FollowUp
    from tests.monitoring.support import post_checkin

    robert = PatientFactory(care_team=people["maria"].care_team, first_name="Robert", last_name="Chen",
                            user=UserFactory(username="robert", role=Role.PATIENT))
    CourseFactory(patient=robert, therapy=Therapy.objects.get(code="pembrolizumab"),
                  start_date=timezone.localdate() - dt.timedelta(days=70))
    api = APIClient()
    api.force_authenticate(robert.user)
    assert post_checkin(api, temperature="36.8", temperature_unit="C", extra_stools=3).status_code == 201
    assert FollowUp.objects.get(patient=robert).answered_by is None

    page = new_page(360, 800)
    sign_in(page, live_server.url, "robert")
    page.get_by_role("link", name="I feel the same as usual").first.click()
    expect(page.get_by_role("heading", name="We need to ask about your stools today")).to_be_visible()
    stools = page.get_by_label("How many more stools (bowel movements) than usual today?")
    expect(stools).to_have_value("")
    page.check("input[name=temperature_unit][value=C]")
    page.fill("#temperature", "36.9")
    shot(page, "same-as-usual-stools-asked-360")
    page.get_by_role("button", name="Send: I feel the same as usual").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Extra stools: please type how many, 0 if none.")
    assert CheckIn.objects.filter(patient=robert).count() == 1
    assert FollowUp.objects.get(patient=robert).answered_by is None
    shot(page, "same-as-usual-stools-error-360")

    page.get_by_label("How many more stools (bowel movements) than usual today?").fill("1")
    page.get_by_role("button", name="Send: I feel the same as usual").click()
    expect(page).to_have_url(re.compile(rf"/patients/{robert.uuid}/checkins/[0-9a-f-]+/$"))
    expect(page.locator("section.recorded")).to_contain_text("1 more than usual today")
    answered = FollowUp.objects.get(patient=robert, answered_by__isnull=False)
    assert answered.answered_by.extra_stools == 1


# Each phone number as printed: the lines its characters are on (a Range over the text, wherever it is), the
# rectangles of its .phone-number box, and any phone number printed outside one (a place the filter missed).
PHONE_LINES = """(digits) => {
    const pattern = /\\+?(?:\\(\\d{1,5}\\)\\s?)?\\d+(?:[\\s.-]\\d+)*/g;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const printed = [], loose = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.parentElement.getClientRects().length) continue;  // not shown
        for (const match of node.textContent.matchAll(pattern)) {
            if (!digits.includes(match[0].replace(/\\D/g, ''))) continue;
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
            printed.push([match[0], lines]);
            if (!node.parentElement.closest('.phone-number')) loose.push(node.textContent);
        }
    }
    const boxes = [...document.querySelectorAll('.phone-number')].filter(e => e.getClientRects().length)
        .map(e => {
            const box = e.getBoundingClientRect(), link = e.closest('a');  // a tap-to-call button holds its number
            const outer = link ? link.getBoundingClientRect() : box;
            return [e.textContent, e.getClientRects().length, box.left >= outer.left - 1 && box.right <= outer.right + 1];
        });
    return {printed, boxes, loose};
}"""


def test_phone_numbers_never_break_inside_at_200_percent_zoom_on_a_phone(live_server, people, browser, shot):
    """A 360 px phone at 200 % zoom (180 CSS px, device scale 2, as tests/browser/test_accessibility.py): every
    phone number printed (the care team's on the patient's, the caregiver's and the offline pages and in the
    emergency instruction; the patient's and caregiver's on the staff pages' tap-to-call) is on one line, and no
    patient page scrolls sideways."""
    from rest_framework.test import APIClient

    from monitoring.models import Alert
    from tests.monitoring.support import post_checkin
    from tracker.models import Center

    maria, david = people["maria"], people["david"]
    Center.objects.filter(pk=maria.center_id).update(phone_24_7="1-800-555-0100")
    type(maria).objects.filter(pk=maria.pk).update(phone="(555) 010-0142")
    type(david).objects.filter(pk=david.pk).update(phone="555-010-0177")
    api = APIClient()
    api.force_authenticate(maria.user)
    emergency = post_checkin(api, temperature="38.6", temperature_unit="C", dizzy_or_fainting=True,
                             consciousness="alert").json()
    assert emergency["urgency"] == "emergency"
    alert = Alert.objects.get(patient=maria, urgency=4)
    digits = ["18005550100", "5550100142", "5550100177"]
    pages = {
        "maria": [f"/patients/{maria.uuid}/", f"/patients/{maria.uuid}/checkins/{emergency['id']}/",
                  f"/patients/{maria.uuid}/checkin/", f"/patients/{maria.uuid}/offline/"],
        "david": [f"/patients/{maria.uuid}/"],
        "nora": ["/staff/", "/staff/alerts/", f"/staff/alerts/{alert.uuid}/", f"/staff/patients/{maria.uuid}/"],
    }
    seen = set()
    for who, paths in pages.items():
        context = browser.new_context(viewport={"width": 180, "height": 400}, device_scale_factor=2)
        page = context.new_page()
        page.set_default_timeout(15_000)
        sign_in(page, live_server.url, who)
        for index, path in enumerate(paths, start=1):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            found = page.evaluate(PHONE_LINES, digits)
            broken = [text for text, lines in found["printed"] if lines != 1]
            assert not broken, f"{path} as {who}: phone numbers broken across lines: {broken}"
            assert not found["loose"], f"{path}: a phone number outside the |phone filter: {found['loose']}"
            broken = [text for text, lines, _inside in found["boxes"] if lines != 1]
            assert not broken, f"{path} as {who}: phone numbers broken across lines: {broken}"
            seen |= {text for text, _lines, _inside in found["boxes"]}
            if who != "nora":  # the patient's and caregiver's pages are read zoomed in (test_accessibility.py)
                spilled = [text for text, _lines, inside in found["boxes"] if not inside]
                assert not spilled, f"{path} as {who}: phone numbers sticking out of their button: {spilled}"
                scroll, client = page.evaluate(
                    "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                assert scroll <= client, f"{path} as {who} scrolls sideways at 200 % ({scroll} > {client}): " + str(
                    page.evaluate("() => [...document.querySelectorAll('body *')].filter(e => "
                                  "e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
                                  ".slice(0, 6).map(e => e.tagName + '.' + e.className + ' ' + "
                                  "Math.round(e.getBoundingClientRect().width))"))
            shot(page, f"phone-zoom200-{who}-{index}")
        context.close()
    assert {"1-800-555-0100", "(555) 010-0142", "555-010-0177"} <= seen
