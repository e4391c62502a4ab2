"""Temperature units. Stored in °C to one decimal: 100.4 °F is exactly 38.0 °C (clinical-rules §1)."""

from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return ((Decimal(value) - 32) * 5 / 9).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return (Decimal(value) * 9 / 5 + 32).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def default_temperature_unit(center_time_zone: str, language: str) -> str:
    """The unit a patient who has not chosen one sees first: °F for English readers at a center in the
    Americas (US thermometers), otherwise °C (Spanish-speaking patients mostly read °C). The patient's choice
    on the check-in page overrides it (Patient.temperature_unit)."""
    return "F" if center_time_zone.startswith("America/") and language == "en" else "C"


def parse_decimal_text(value: str) -> str:
    """A number typed on a page, with either decimal mark: "37,2" and "37.2" are both 37.2 (Spanish pages
    show "38,6"). Anything else is returned unchanged, for the validator to refuse."""
    text = value.strip().replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text
