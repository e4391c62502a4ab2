import re

from django import template
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeData, mark_safe

register = template.Library()

# A phone number as people write it: "(555) 010-0199", "1-800-555-0100", "+1 555 010 0199" (7 digits or more).
PHONE_NUMBER = re.compile(r"\+?(?:\(\d{1,5}\)[ \u00a0]?)?\d+(?:[ \u00a0.-]\d+)*")
PHONE_DIGITS_MIN = 7


@register.inclusion_tag("tracker/_field_errors.html")
def field_errors(errors: dict, name: str) -> dict:
    return {"name": name, "messages": errors.get(name, [])}


@register.inclusion_tag("tracker/_number_field.html")
def number_field(name: str, label: str, data: dict, errors: dict) -> dict:
    return {"name": name, "label": label, "value": data.get(name, ""), "messages": errors.get(name, [])}


@register.filter
def tel_href(number: str) -> str:
    """A phone number as a tel: link target: "(555) 010-0199" -> "5550100199" (a leading + kept)."""
    number = str(number or "")
    digits = "".join(ch for ch in number if ch.isdigit())
    return ("+" + digits) if number.strip().startswith("+") else digits


@register.filter(needs_autoescape=True)
def phone(text, autoescape=True):
    """Every phone number in `text` (a number alone, or in a sentence such as "...then call your care team at
    1-800-555-0100.") in a span that never breaks across lines (.phone-number, white-space: nowrap): read at
    200 % zoom on a phone, "1-800-" on one line and "555-0100" on the next is a wrong number. The rest of the
    text is escaped as any other."""
    text = "" if text is None else text
    escape = conditional_escape if autoescape and not isinstance(text, SafeData) else str
    text, parts, last = str(text), [], 0
    for match in PHONE_NUMBER.finditer(text):
        if sum(ch.isdigit() for ch in match.group()) < PHONE_DIGITS_MIN:
            continue
        parts += [escape(text[last:match.start()]), format_html('<span class="phone-number">{}</span>', match.group())]
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (each part escaped above)


@register.simple_tag
def temperature(celsius, unit: str) -> str:
    """A stored temperature in the reader's unit first: "38.6 °C (101.5 °F)"."""
    from tracker.checkin_page import temperature_text

    return temperature_text(celsius, unit)
