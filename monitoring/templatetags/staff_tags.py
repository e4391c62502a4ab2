"""Filters of the staff pages: times on the center's clock with the zone ("14:05 EST"), tap-to-call links,
and plain words for alerts and their history (monitoring/plain.py)."""

import datetime as dt
import re

from django import template
from django.template.defaultfilters import date as date_filter

from monitoring import plain, urgency
from monitoring.staff import format_time

register = template.Library()


@register.filter
def staff_time(value, style="time"):
    """{{ alert.opened_at|staff_time }} → "14:05 EST"; styles: time, seconds, datetime ("12 Feb 14:05 EST"),
    full (with the year)."""
    return format_time(value, style)


def tel_uri(number: str) -> str:
    """tel: URI of a phone number as typed ("(555) 010-0199" → "tel:5550100199"); "" if it has no digits."""
    digits = re.sub(r"[^\d+]", "", number or "")
    digits = digits[:1] + digits[1:].replace("+", "")
    return f"tel:{digits}" if re.search(r"\d", digits) else ""


@register.filter
def tel_href(number):
    return tel_uri(number)


@register.filter
def urgency_word(value):
    return urgency.urgency_word(value)


@register.filter
def urgency_class(value):
    """{{ alert.urgency|urgency_class }} → "urgency-urgent": the class that colours the level (site.css)."""
    return urgency.urgency_class(value)


@register.filter
def headline(alert):
    return plain.alert_headline_of(alert)


@register.filter
def alert_rationale(alert):
    return plain.alert_rationale(alert)


@register.filter
def why_rules(alert):
    return plain.why_rules(alert)


@register.filter
def event_sentence(event, with_time=True):
    return plain.event_sentence(event, with_time=with_time not in (False, "no", "0"))


@register.filter
def event_note(event):
    return plain.event_note(event)


@register.filter
def iso_date(value):
    """A date stored as ISO text ("2026-12-01", in JSON fields) as the pages write dates: "1 Dec 2026"."""
    try:
        return date_filter(dt.date.fromisoformat(str(value)), "j M Y")
    except ValueError:
        return value
