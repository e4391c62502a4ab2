"""The patient's home page: the CAR T, checkpoint and T-cell engager "what to watch for" texts in the reader's
language; interleukin-2's weight-gain limit from the center's policy (clinical-rules §9, il2_weight_gain_kg) in the
patient's unit; the 14-day strip shows the days before the course started as before treatment, not as gaps."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from monitoring.services.policy import policy_set
from tests.monitoring.support import new_patient
from tests.monitoring.test_profile_pages import signed_in, text_of


def watch_of(response) -> str:
    found = re.search(r"<h4>[^<]*</h4>\s*<p>(.*?)</p>", text_of(response), re.S)
    assert found, "no what-to-watch-for text"
    return found.group(1)


@pytest.mark.parametrize(("code", "english", "spanish"), [
    ("yescarta", "Call your care team at once for a temperature of 38.0 °C (100.4 °F) or higher",
     "Llame de inmediato a su equipo de atención si tiene una temperatura de 38.0 °C (100.4 °F) o más"),
    ("carvykti", "For about three months, also tell your team about smaller handwriting",
     "Durante unos tres meses, avise también a su equipo si su letra se hace más pequeña"),
    ("nivolumab", "Side effects can start weeks or months after treatment.",
     "Los efectos secundarios pueden empezar semanas o meses después del tratamiento."),
    ("teclistamab", "The first doses are the riskiest",
     "Las primeras dosis son las de más riesgo"),
])
def test_the_watch_texts_are_in_the_readers_language(team_a, code, english, spanish):
    patient = new_patient(team_a, code)
    assert english in watch_of(signed_in(patient.user).get(f"/patients/{patient.uuid}/"))
    assert spanish in watch_of(signed_in(patient.user, "es").get(f"/patients/{patient.uuid}/"))


@pytest.mark.parametrize(("limit", "unit", "language", "shown"), [
    (None, "C", "en", "have gained 2 kg (about 4.4 lb) or more"),  # the default, policy
    ("3.0", "C", "en", "have gained 3 kg (about 6.6 lb) or more"),
    ("2.5", "F", "en", "have gained 5.5 lb (about 2.5 kg) or more"),  # weighs in pounds
    ("2.5", "C", "es", "ha aumentado 2,5 kg (unas 5,5 lb) o más"),
])
def test_the_il2_text_gives_the_centers_weight_gain_limit_in_the_patients_unit(team_a, limit, unit, language, shown):
    patient = new_patient(team_a, "aldesleukin")
    patient.temperature_unit = unit
    patient.save(update_fields=["temperature_unit"])
    if limit is not None:
        policy_set(center=patient.center, name="il2_weight_gain_kg", value=limit, user=None, reason="test")
    text = watch_of(signed_in(patient.user, language).get(f"/patients/{patient.uuid}/"))
    assert shown in text
    assert "2 kg (about 4.5 lb)" not in text


def test_days_before_the_course_started_are_before_treatment_not_gaps(team_a):
    patient = new_patient(team_a, "yescarta", start=timezone.localdate() - dt.timedelta(days=3))
    body = text_of(signed_in(patient.user).get(f"/patients/{patient.uuid}/"))
    strip = re.search(r'<ol class="days".*?</ol>', body, re.S).group(0)
    classes = re.findall(r'<li class="(\w+)">', strip)
    assert classes == ["missed"] * 4 + ["before"] * 10  # today and the 3 days since the start, newest first
    assert strip.count("before treatment") == 10 and strip.count("not logged") == 4
