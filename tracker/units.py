"""Temperature units. Stored in °C to one decimal: 100.4 °F is exactly 38.0 °C (clinical-rules §1)."""

from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def fahrenheit_to_celsius(value: Decimal) -> Decimal:
    return ((Decimal(value) - 32) * 5 / 9).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def celsius_to_fahrenheit(value: Decimal) -> Decimal:
    return (Decimal(value) * 9 / 5 + 32).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)
