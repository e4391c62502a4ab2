"""The windows after T-cell engager doses join the every-page banner (clinical-rules §8): no driving during and
after the step-up doses, tarlatamab's stay within 1 hour of care with a caregiver, each saying which dose opened it
and until when on the patient's clock (New York, across the 2026-11-01 change from EDT to EST), in the reader's
language; a caregiver of several patients sees each named."""

import datetime as dt
import html as html_lib
import re
import zoneinfo

import pytest
import time_machine

from tests.factories import CaregiverLinkFactory, CourseFactory, PatientFactory
from tests.monitoring.support import signed_in
from tracker.dose_services import dose_record
from tracker.models import Therapy

NY = zoneinfo.ZoneInfo("America/New_York")
# Saturday 31 October 2026, 12:00 in New York; tarlatamab step-up dose 1 was on Friday 10:00 EDT.
NOW = dt.datetime(2026, 10, 31, 12, 0, tzinfo=NY)


def engager(team, code, first_name, *steps, nurse, capture):
    patient = PatientFactory(care_team=team, first_name=first_name)
    course = CourseFactory(patient=patient, therapy=Therapy.objects.get(code=code), start_date=dt.date(2026, 10, 20))
    for step, start in steps:
        with time_machine.travel(start + dt.timedelta(minutes=10), tick=False), capture(execute=True):
            dose_record(course=course, recorded_by=nurse, values={
                "step_code": step, "started_at": start, "ended_at": start + dt.timedelta(minutes=5),
                "setting": "infusion_center", "kept_for_monitoring": False})
    return patient


@pytest.fixture
def tarla(team_a, nurse, django_capture_on_commit_callbacks):
    return engager(team_a, "tarlatamab", "Rosa", ("su1", dt.datetime(2026, 10, 30, 10, tzinfo=NY)),
                   nurse=nurse, capture=django_capture_on_commit_callbacks)


@pytest.fixture
def tec_done(team_a, nurse, django_capture_on_commit_callbacks):
    """Teclistamab with its step-up schedule complete: no driving until 48 h after the first treatment dose."""
    return engager(team_a, "teclistamab", "Tomas",
                   ("su1", dt.datetime(2026, 10, 23, 9, tzinfo=NY)), ("su2", dt.datetime(2026, 10, 26, 9, tzinfo=NY)),
                   ("first_treatment", dt.datetime(2026, 10, 30, 9, tzinfo=NY)),
                   nurse=nurse, capture=django_capture_on_commit_callbacks)


def banners(client, url) -> list[str]:
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response.status_code == 200, url
    found = re.findall(r'<div class="banner [^"]*dose-banner".*?</div>', response.content.decode(), re.S)
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", b)).split()) for b in found]


def test_every_page_of_a_tarlatamab_patient_shows_the_stay_nearby_and_no_driving_banners(tarla):
    client = signed_in(tarla.user)
    for url in (f"/patients/{tarla.uuid}/", f"/patients/{tarla.uuid}/checkin/", "/inbox/"):
        nearby, driving = banners(client, url)
        # 48 real hours from Friday 10:00 EDT is Sunday 09:00 EST (the clocks go back an hour on Sunday).
        assert nearby.startswith("Stay within 1 hour of the treatment center, with a caregiver, until Sun 1 Nov, "
                                 "09:00"), url
        assert "Since step-up dose 1 on Fri 30 Oct, 10:00." in nearby
        assert driving.startswith("No driving during the step-up doses: the end is set after the last one")
        assert "confusion or a seizure can come on without warning" in driving


def test_the_no_driving_banner_gives_its_end_after_the_last_step_up_dose(tec_done, nurse):
    # The first treatment dose ended on Friday 09:05 EDT; + 48 real hours = Sunday 08:05 EST.
    [driving] = banners(signed_in(tec_done.user), f"/patients/{tec_done.uuid}/")
    assert driving.startswith("No driving until Sun 1 Nov, 08:05")
    assert "Since step-up dose 1 on Fri 23 Oct, 09:00." in driving
    [staff] = banners(signed_in(nurse), f"/staff/patients/{tec_done.uuid}/")  # the staff page shows it too
    assert staff.startswith("No driving until Sun 1 Nov, 08:05")
    assert "heavy machinery" not in staff


def test_the_banners_end_with_their_windows(tec_done):
    client = signed_in(tec_done.user)
    with time_machine.travel(dt.datetime(2026, 11, 1, 8, 4, tzinfo=NY), tick=False):
        assert "dose-banner" in client.get(f"/patients/{tec_done.uuid}/").content.decode()
    with time_machine.travel(dt.datetime(2026, 11, 1, 8, 5, tzinfo=NY), tick=False):
        assert "dose-banner" not in client.get(f"/patients/{tec_done.uuid}/").content.decode()


def test_in_spanish_for_a_spanish_speaking_patient(tarla):
    tarla.user.preferred_language = "es"
    tarla.user.save(update_fields=["preferred_language"])
    tarla.preferred_language = "es"
    tarla.save(update_fields=["preferred_language"])
    nearby, driving = banners(signed_in(tarla.user), f"/patients/{tarla.uuid}/")
    assert nearby.startswith("Quédese a menos de 1 hora del centro de tratamiento, con un cuidador, hasta el "
                             "dom 1 Nov, 09:00"), nearby
    assert "Desde la dosis escalonada 1 del vie 30 Oct, 10:00." in nearby
    assert driving.startswith("No maneje durante las dosis escalonadas: el final se fija después de la última")


def test_a_caregiver_of_several_patients_sees_each_patients_banners_named(tarla, tec_done):
    caregiver = CaregiverLinkFactory(patient=tarla).user
    CaregiverLinkFactory(patient=tec_done, user=caregiver)
    found = banners(signed_in(caregiver), "/inbox/")
    name_t, name_r = tec_done.full_name, tarla.full_name
    assert any(b.startswith(f"{name_r} should stay within 1 hour of the treatment center") for b in found), found
    assert any(b.startswith(f"No driving for {name_r} during the step-up doses") for b in found), found
    assert any(b.startswith(f"No driving for {name_t} until Sun 1 Nov, 08:05") for b in found), found
