from django import template

register = template.Library()


@register.inclusion_tag("tracker/_field_errors.html")
def field_errors(errors: dict, name: str) -> dict:
    return {"name": name, "messages": errors.get(name, [])}


@register.inclusion_tag("tracker/_number_field.html")
def number_field(name: str, label: str, data: dict, errors: dict) -> dict:
    return {"name": name, "label": label, "value": data.get(name, ""), "messages": errors.get(name, [])}
