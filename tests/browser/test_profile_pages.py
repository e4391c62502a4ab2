"""The monitoring profiles of the patient guide's other immunotherapies on a phone (clinical-rules §9): a patient
on interleukin-2 sees the day's weight asked and their own warning signs; a patient on lenalidomide with an
antibody sees the union of both profiles' questions and what to watch for. Screenshots go to screenshots/."""

import pytest
from playwright.sync_api import expect

from tests.browser.support import sign_in
from tests.factories import CareTeamFactory, CourseFactory, PatientFactory, UserFactory
from tracker.catalogue import sync_catalogue
from tracker.models import Role, Therapy

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def patient_on(username: str, first_name: str, *codes: str):
    sync_catalogue(Therapy)  # transactional tests start from empty tables
    team = CareTeamFactory(name=f"Team {username}")
    patient = PatientFactory(care_team=team, first_name=first_name,
                             user=UserFactory(username=username, role=Role.PATIENT, first_name=first_name))
    for code in codes:
        CourseFactory(patient=patient, therapy=Therapy.objects.get(code=code))
    return patient


def test_interleukin_2_asks_the_weight_and_names_its_warning_signs(live_server, new_page, shot):
    patient = patient_on("ilse", "Ilse", "aldesleukin")
    page = new_page(360, 800)
    sign_in(page, live_server.url, "ilse")
    page.goto(f"{live_server.url}/patients/{patient.uuid}/checkin/")
    expect(page.get_by_text("Passing much less urine than usual")).to_be_visible()
    expect(page.get_by_label("Weight", exact=False).first).to_be_visible()
    shot(page, "profile-il2-checkin-360")
    page.goto(f"{live_server.url}/patients/{patient.uuid}/")
    expect(page.get_by_role("heading", name="What to watch for")).to_be_visible()
    shot(page, "profile-il2-home-360")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_lenalidomide_with_an_antibody_asks_both_profiles(live_server, new_page, shot):
    patient = patient_on("lena", "Lena", "lenalidomide", "rituximab")
    page = new_page(360, 800)
    sign_in(page, live_server.url, "lena")
    page.goto(f"{live_server.url}/patients/{patient.uuid}/checkin/")
    expect(page.get_by_text("A leg or arm that is swollen and painful")).to_be_visible()
    expect(page.get_by_text("Wheezing")).to_be_visible()  # the infusion-reaction signs (§4, §9 antibodies)
    shot(page, "profile-lenalidomide-rituximab-checkin-360")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
