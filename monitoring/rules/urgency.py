"""The urgency levels of clinical-rules "Urgency levels": ordered, so max() gives the most urgent. Labels are
the words the API, exports and stored findings use; how the pages show a level is monitoring/urgency.py."""

from __future__ import annotations

import enum


class Urgency(enum.IntEnum):
    NONE = 0
    ROUTINE = 1
    SAME_DAY = 2
    URGENT = 3
    EMERGENCY = 4

    @property
    def label(self) -> str:
        """"none", "routine", "same-day", "urgent", "emergency"."""
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, label: str) -> Urgency:
        """Accept "same-day", "same_day", "SAME_DAY" ...; raise ValueError otherwise."""
        key = str(label).strip().upper().replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown urgency label {label!r}") from None
