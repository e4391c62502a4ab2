"""The dashboard's rows placed in one pass (monitoring/dashboard_markup.py) are what the row template they
replace renders (kept here as the reference, `REFERENCE`), for rows of every shape: an emergency with a missed
check-in and both numbers, alerts acknowledged by name or not, new ones, a caregiver without a relationship, the
peak-risk day, a fever, a device line (hot, stale) and a silent badge, no rows; and text that needs escaping.
Compared with whitespace around tags folded, since only that differs."""

import re

import pytest
from django.template import Context, Template
from django.utils.html import format_html
from django.utils.translation import override

from monitoring.dashboard_markup import rows_markup

REFERENCE = "{% load i18n tracker_tags staff_tags %}" + '{# the row labels, translated once per page rather than once per row #}{% translate "Emergency" as t_emergency %}{% translate "missed check-in" as t_missed %}{% translate "Patient" as t_patient %}{% translate "Open alerts" as t_open_alerts %}{% translate "New" as t_new %}{% translate "acknowledged" as t_acknowledged %}{% translate "Acknowledge" as t_acknowledge %}{% translate "Resolve…" as t_resolve_more %}{% translate "What was done" as t_what_done %}{% translate "Resolve" as t_resolve %}{% translate "Therapy" as t_therapy %}{% translate "Peak-risk window, days 0-14 (clinical-rules §1)" as t_peak_title %}{% translate "peak risk" as t_peak %}{% translate "Last check-in" as t_last %}{% translate "Temp · HR" as t_temp_hr %}{% translate "Fever: 38.0 °C or higher (clinical-rules §1)" as t_fever %}{% translate "Driving" as t_driving %}{% translate "device" as t_device %}{% translate "Latest reading from the patient\'s device (clinical-rules §10)" as t_device_title %}{% translate "device silent" as t_silent %}{% translate "No reading from a worn device: the silence alert is open (clinical-rules §10)" as t_silent_title %}\n  {% for r in rows %}{# each row\'s strings are worked out in views._display_rows #}\n  <tr class="{{ r.urgency_class }}{% if r.new %} new{% endif %}" data-patient="{{ r.uuid }}" data-urgency="{{ r.urgency }}">\n    <td class="who"><a class="name" href="{{ r.url }}">{{ r.name }}</a>{% if r.emergency %} <span class="pill urgency-emergency">{{ t_emergency }}</span>{% endif %}<br><small>{{ r.mrn }} · {{ r.team }}</small>\n      {% if r.missed %}<br><span class="pill missed">{{ t_missed }}</span>{% endif %}\n      {% if r.tel or r.caregiver %}<span class="calls">{% if r.tel %}<a class="call" href="{{ r.tel }}">{{ t_patient }} {{ r.phone|phone }}</a>{% endif %}\n        {% if r.caregiver %}<a class="call" href="{{ r.caregiver.tel }}">{{ r.caregiver.name }}{% if r.caregiver.relationship %} ({{ r.caregiver.relationship }}){% endif %} {{ r.caregiver.phone|phone }}</a>{% endif %}</span>{% endif %}</td>\n    <td class="alerts" data-label="{{ t_open_alerts }}">{% if r.alerts %}<ul class="row-alerts">{% for a in r.alerts %}\n      <li class="row-alert{% if a.new %} unseen{% endif %}" data-alert="{{ a.uuid }}">\n        <span class="pill {{ a.urgency_class }}">{{ a.urgency }}</span>{% if a.new %} <strong class="pill new">{{ t_new }}</strong>{% endif %}\n        <a href="{{ a.url }}">{{ a.headline }}</a>\n        <br><small>{% blocktranslate with time=a.opened %}opened {{ time }}{% endblocktranslate %}{% if a.acknowledged %} · {% if a.acknowledged_by %}{% blocktranslate with name=a.acknowledged_by %}acknowledged by {{ name }}{% endblocktranslate %}{% else %}{{ t_acknowledged }}{% endif %}{% endif %}</small>\n        <span class="actions">{% if a.acknowledge_url %}<form method="post" action="{{ a.acknowledge_url }}" class="inline">{{ csrf_input }}\n          <input type="hidden" name="next" value="{{ next }}"><button type="submit" class="small primary">{{ t_acknowledge }}</button></form>{% endif %}\n        <details class="resolve"><summary>{{ t_resolve_more }}</summary>\n          <form method="post" action="{{ a.resolve_url }}">{{ csrf_input }}\n            <input type="hidden" name="next" value="{{ next }}">\n            <label for="note-{{ a.uuid }}">{{ t_what_done }}</label>\n            <textarea id="note-{{ a.uuid }}" name="note" rows="2" required></textarea>\n            <button type="submit" class="small">{{ t_resolve }}</button></form></details></span>\n      </li>{% endfor %}</ul>{% else %}—{% endif %}</td>\n    <td data-label="{{ t_therapy }}">{{ r.therapy }}{% if r.day %}<br><small>{% blocktranslate with day=r.day %}day {{ day }}{% endblocktranslate %}</small>{% if r.peak %} <span class="pill peak" title="{{ t_peak_title }}">{{ t_peak }}</span>{% endif %}{% endif %}</td>\n    <td data-label="{{ t_last }}">{{ r.last_checkin }}{% if r.last_checkin_at %}<br><small>{{ r.last_checkin_at }}</small>{% endif %}</td>\n    <td data-label="{{ t_temp_hr }}">{% if r.temperature %}<span class="{% if r.fever %}fever{% endif %}"{% if r.fever %} title="{{ t_fever }}"{% endif %}>{{ r.temperature }}</span>{% else %}—{% endif %} · {{ r.heart_rate }}{% if r.device_temperature %}\n      <br><small class="device-reading{% if r.device_silent %} stale{% endif %}" title="{{ t_device_title }} {{ r.device_measured }}">{{ t_device }} <span class="{% if r.device_fever %}fever{% endif %}">{{ r.device_temperature }}</span> · {{ r.device_age }}</small>{% endif %}{% if r.device_silent %}\n      <br><span class="pill device-silent" title="{{ t_silent_title }}">{{ t_silent }}</span>{% if r.device_last %} <small>{% blocktranslate with age=r.device_last %}last reading {{ age }}{% endblocktranslate %}</small>{% endif %}{% endif %}</td>\n    <td data-label="{{ t_driving }}">{{ r.driving }}</td>\n  </tr>\n  {% empty %}<tr><td colspan="6">{% translate "No patients match." %}</td></tr>\n  {% endfor %}\n'

CSRF = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', "tok<en>")
NEXT = "/staff/?team=3&urgency=urgent"


def alert(n: int, **changes) -> dict:
    return {"uuid": f"00000000-0000-0000-0000-00000000000{n}", "url": f"/staff/alerts/{n}/", "new": False,
            "urgency_class": "urgency-urgent", "urgency": "urgent", "headline": "Fever ≥ 38 °C after CAR T",
            "opened": "2 Dec 14:05 EST", "acknowledged": False, "acknowledged_by": "",
            "acknowledge_url": f"/staff/alerts/{n}/acknowledge/", "resolve_url": f"/staff/alerts/{n}/resolve/",
            **changes}


def row(**changes) -> dict:
    return {"uuid": "11111111-1111-1111-1111-111111111111", "urgency": "3", "urgency_class": "urgency-urgent",
            "url": "/staff/patients/1/", "new": False, "emergency": False, "name": "Lopez, Maria", "mrn": "MRN001",
            "team": "Cellular Therapy", "phone": "(555) 010-0101", "tel": "tel:+15550100101", "caregiver": None,
            "missed": False, "therapy": "Yescarta", "day": "", "peak": False, "last_checkin": "3 hours ago",
            "last_checkin_at": "2 Dec 11:05 EST", "temperature": "", "fever": False, "heart_rate": "—",
            "device_temperature": "", "device_fever": False, "device_age": "", "device_measured": "",
            "device_silent": False, "device_last": "", "driving": "—", "alerts": [], **changes}


SHAPES = {
    "quiet": [row()],
    "emergency, missed, both numbers, peak day, fever": [row(
        emergency=True, urgency="4", urgency_class="urgency-emergency", missed=True, new=True, day="3", peak=True,
        temperature="38.4 °C", fever=True, heart_rate="112", driving="until 14 Dec",
        caregiver={"name": "Jorge", "relationship": "husband", "phone": "(555) 010-0202", "tel": "tel:+15550100202"},
        alerts=[alert(1, new=True, urgency="emergency", urgency_class="urgency-emergency"),
                alert(2, acknowledged=True, acknowledged_by="Ana Ruiz", acknowledge_url=""),
                alert(3, acknowledged=True, acknowledge_url="")])],
    "caregiver alone, no relationship; day past the peak": [row(
        tel="", phone="", day="20", caregiver={"name": "Sam", "relationship": "", "phone": "555-0303",
                                               "tel": "tel:5550303"})],
    "device hot; silent elsewhere": [
        row(device_temperature="38.2 °C", device_fever=True, device_age="2 min ago", device_measured="14:03 EST"),
        row(uuid="2", device_temperature="36.9 °C", device_age="42 min ago", device_measured="13:23 EST",
            device_silent=True),
        row(uuid="3", device_silent=True, device_last="3 h ago")],
    "text to escape": [row(name="O'Brien, <b>Pat</b>", mrn="A&B", team='"Team"', therapy="<i>x</i>",
                           alerts=[alert(4, headline="<script>alert(1)</script>", acknowledged=True,
                                         acknowledged_by="D'Arcy & Co", acknowledge_url="")])],
    "no rows": [],
}


def folded(html: str) -> str:
    """Whitespace between tags dropped, runs of it as one space; an apostrophe as escaped by Django either way
    (the labels, our own texts, are escaped here too)."""
    html = re.sub(r"\s+", " ", str(html).replace("&#x27;", "'"))
    return re.sub(r"\s*(<|>)\s*", r"\1", html).strip()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_the_rows_are_what_the_row_template_renders(shape, language):
    rows = SHAPES[shape]
    with override(language):
        expected = Template(REFERENCE).render(Context({"rows": rows, "csrf_input": CSRF, "next": NEXT}))
        assert folded(rows_markup(rows, csrf_input=CSRF, next_url=NEXT)) == folded(expected)
