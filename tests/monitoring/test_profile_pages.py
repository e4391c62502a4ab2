"""The §8/§9 monitoring profiles on the patient's pages: the check-in form asks the profile's questions (with
the interleukin-2 weight and the BCG hours typed), the home page shows what to watch for in the reader's
language, and the offline page lists the emergency and call-now signs of the new therapy classes."""

import html as html_lib
import re

from django.test import Client

from tests.monitoring.support import new_patient
from tracker.models import CheckIn


def signed_in(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


def asked_fields(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="asked" value="(\w+)">', html)


def text_of(response) -> str:
    return html_lib.unescape(response.content.decode())


def _in_celsius(patient):
    """A patient whose thermometer shows °C weighs in kg (English readers in the Americas default to °F, lb)."""
    patient.temperature_unit = "C"
    patient.save(update_fields=["temperature_unit"])
    return patient


def test_the_il2_form_asks_the_weight_and_the_capillary_leak_signs_and_saves_them(team_a):
    patient = _in_celsius(new_patient(team_a, "aldesleukin"))
    client = signed_in(patient.user)
    form = client.get(f"/patients/{patient.uuid}/checkin/").content.decode()
    assert 'name="weight_kg"' in form
    assert 'name="flu_like_hours"' not in form
    asked = asked_fields(form)
    assert {"less_urine", "very_drowsy", "short_of_breath", "confusion"} <= set(asked)
    assert "low_mood" not in asked and "chills" not in asked
    assert "Signs to watch for with your treatment" in text_of(client.get(f"/patients/{patient.uuid}/checkin/"))
    response = client.post(f"/patients/{patient.uuid}/checkin/",
                           {"asked": asked, "yes": ["less_urine"], "temperature": "37.0", "temperature_unit": "C",
                            "weight_kg": "71,5"})
    assert response.status_code == 302, text_of(response)
    checkin = CheckIn.objects.get(patient=patient)
    assert str(checkin.weight_kg) == "71.5" and checkin.less_urine is True and checkin.very_drowsy is False
    assert checkin.is_complete is True
    result = text_of(client.get(response["Location"]))
    assert "71.5 kg" in result
    assert "Call your care team now" in result


def test_a_weight_that_is_not_a_number_is_named_and_nothing_is_saved(team_a):
    patient = _in_celsius(new_patient(team_a, "aldesleukin"))
    client = signed_in(patient.user)
    asked = asked_fields(client.get(f"/patients/{patient.uuid}/checkin/").content.decode())
    response = client.post(f"/patients/{patient.uuid}/checkin/",
                           {"asked": asked, "temperature": "37.0", "temperature_unit": "C", "weight_kg": "seventy"})
    assert response.status_code == 400  # the form comes back with the error, as for every bad answer
    assert "please type your weight in kilograms" in text_of(response)
    assert not CheckIn.objects.filter(patient=patient).exists()


def test_the_bcg_form_asks_how_many_hours_of_flu_like_symptoms(team_a):
    patient = new_patient(team_a, "bcg")
    form = signed_in(patient.user).get(f"/patients/{patient.uuid}/checkin/").content.decode()
    assert 'name="flu_like_hours"' in form
    assert "flu_like" in asked_fields(form)
    assert 'name="extra_stools"' not in form and 'name="consciousness"' not in form


def test_the_cetuximab_form_asks_the_rash_but_not_the_stools(team_a):
    patient = new_patient(team_a, "cetuximab")
    form = signed_in(patient.user).get(f"/patients/{patient.uuid}/checkin/").content.decode()
    assert 'name="rash_percent"' in form
    assert 'name="extra_stools"' not in form
    assert {"rash_blisters_or_sores", "chills", "wheezing"} <= set(asked_fields(form))


def test_a_caregiver_of_an_interferon_patient_is_asked_about_the_patient(team_a):
    from tests.factories import CaregiverLinkFactory

    patient = new_patient(team_a, "interferon_alfa_2b")
    link = CaregiverLinkFactory(patient=patient)
    body = text_of(signed_in(link.user).get(f"/patients/{patient.uuid}/checkin/"))
    assert f"{patient.first_name} has spoken of harming themselves or someone else" in body


def test_the_home_page_shows_what_to_watch_for_in_the_readers_language(team_a):
    patient = new_patient(team_a, "lenalidomide")
    english = text_of(signed_in(patient.user).get(f"/patients/{patient.uuid}/"))
    assert "What to watch for" in english
    assert "This medicine can cause blood clots." in english
    spanish = text_of(signed_in(patient.user, "es").get(f"/patients/{patient.uuid}/"))
    assert "Qué vigilar" in spanish
    assert "Este medicamento puede causar coágulos de sangre." in spanish


def test_the_offline_page_lists_the_signs_of_the_new_therapy_classes(team_a):
    patient = new_patient(team_a, "aldesleukin")
    html = text_of(signed_in(patient.user).get(f"/patients/{patient.uuid}/offline/?saved=1"))
    assert "A top blood pressure number below 90, or an oxygen reading below 90 %" in html
    assert "passing much less urine" in html
    assert "A seizure (fit)" not in html  # a CAR T sign
    bcg = new_patient(team_a, "bcg")
    html = text_of(signed_in(bcg.user).get(f"/patients/{bcg.uuid}/offline/?saved=1"))
    assert "A temperature of 39.4 °C (103 °F) or higher" in html


def test_the_short_check_in_on_interleukin_2_asks_the_weight_too(team_a):
    patient = _in_celsius(new_patient(team_a, "aldesleukin"))
    client = signed_in(patient.user)
    quick = client.get(f"/patients/{patient.uuid}/checkin/?quick=1").content.decode()
    assert 'name="weight_kg"' in quick
    response = client.post(f"/patients/{patient.uuid}/checkin/?quick=1",
                           {"same_as_usual": "1", "temperature": "36.9", "temperature_unit": "C", "weight_kg": "70"})
    assert response.status_code == 302, text_of(response)
    checkin = CheckIn.objects.get(patient=patient)
    assert checkin.less_urine is False and str(checkin.weight_kg) == "70.0"
    assert checkin.is_complete is True


def test_a_patient_whose_thermometer_shows_fahrenheit_types_the_weight_in_pounds(team_a):
    patient = new_patient(team_a, "aldesleukin")
    patient.temperature_unit = "F"
    patient.save(update_fields=["temperature_unit"])
    client = signed_in(patient.user)
    form = client.get(f"/patients/{patient.uuid}/checkin/").content.decode()
    assert 'name="weight_lb"' in form and 'name="weight_kg"' not in form
    asked = asked_fields(form)
    response = client.post(f"/patients/{patient.uuid}/checkin/",
                           {"asked": asked, "temperature": "98.6", "temperature_unit": "F", "weight_lb": "154.3"})
    assert response.status_code == 302, text_of(response)
    assert str(CheckIn.objects.get(patient=patient).weight_kg) == "70.0"
    assert "70.0 kg (154 lb)" in text_of(client.get(response["Location"]))


def test_a_caregiver_of_a_bcg_patient_is_asked_the_hours_about_the_patient(team_a):
    from tests.factories import CaregiverLinkFactory

    patient = new_patient(team_a, "bcg")
    link = CaregiverLinkFactory(patient=patient)
    body = text_of(signed_in(link.user).get(f"/patients/{patient.uuid}/checkin/"))
    assert f"If {patient.first_name} has flu-like symptoms: for how many hours?" in body
    assert f"Signs to watch for with {patient.first_name}'s treatment" in body
    spanish = text_of(signed_in(link.user, "es").get(f"/patients/{patient.uuid}/checkin/"))
    assert f"Si {patient.first_name} tiene síntomas parecidos a la gripe" in spanish
