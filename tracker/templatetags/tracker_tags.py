from django import template

register = template.Library()


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


@register.simple_tag
def temperature(celsius, unit: str) -> str:
    """A stored temperature in the reader's unit first: "38.6 °C (101.5 °F)"."""
    from tracker.checkin_page import temperature_text

    return temperature_text(celsius, unit)
