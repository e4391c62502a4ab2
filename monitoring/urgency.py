"""How urgency levels are shown, in one place: their labels, order, words, CSS classes and colours.

The levels are `monitoring.rules.Urgency` (pure Python, clinical-rules "Urgency levels"; ordered, so a higher
value is more urgent). Model choices, the API's labels and filter, the dashboard's filter and sort, the staff
pages' pills and row colours, the patient's result page, the notifications, exports and the admin read them here.
The colours themselves are CSS custom properties set once per level class in static/css/site.css
(`.urgency-emergency { --urgency-strong: ...; }`); `urgency_class` is the one mapping from a level to that class."""

from django.utils.translation import gettext_lazy, ngettext_lazy, pgettext_lazy

from monitoring.rules import Urgency

# (value, label) for model fields: 0 "none" ... 4 "emergency".
URGENCY_CHOICES = [(int(level), level.label) for level in Urgency]
# The levels an alert can have (an alert is at least routine), least urgent first: the filters' options.
ALERT_LEVELS = tuple(level for level in Urgency if level >= Urgency.ROUTINE)
ALERT_LEVEL_BY_LABEL = {level.label: level for level in ALERT_LEVELS}
# The patient's result page shows the tap-to-call buttons from this level up (911 first for an emergency).
CALL_BUTTONS_FROM = Urgency.SAME_DAY

WORDS = {
    Urgency.NONE: pgettext_lazy("urgency", "no action"),
    Urgency.ROUTINE: pgettext_lazy("urgency", "routine"),
    Urgency.SAME_DAY: pgettext_lazy("urgency", "same-day"),
    Urgency.URGENT: pgettext_lazy("urgency", "urgent"),
    Urgency.EMERGENCY: pgettext_lazy("urgency", "emergency"),
}
# "3 urgent": a number of open alerts of a level, for the dashboard's summary.
COUNT_TEXTS = {
    Urgency.ROUTINE: ngettext_lazy("%(n)s routine", "%(n)s routine", "n"),
    Urgency.SAME_DAY: ngettext_lazy("%(n)s same-day", "%(n)s same-day", "n"),
    Urgency.URGENT: ngettext_lazy("%(n)s urgent", "%(n)s urgent", "n"),
    Urgency.EMERGENCY: ngettext_lazy("%(n)s emergency", "%(n)s emergency", "n"),
}

# The heading of the patient's result: what to do, in plain words (clinical-rules "Urgency levels").
PATIENT_HEADINGS = {
    Urgency.NONE: gettext_lazy("Thank you: nothing needs action now"),
    Urgency.ROUTINE: gettext_lazy("Thank you: your answers are saved"),
    Urgency.SAME_DAY: gettext_lazy("Your care team will call you today"),
    Urgency.URGENT: gettext_lazy("Call your care team now"),
    Urgency.EMERGENCY: gettext_lazy("Emergency: call 911 now"),
}


def as_urgency(value) -> Urgency | None:
    """A level from its number or its label ("same-day", "SAME_DAY"); None for anything else."""
    if value is None or value == "":
        return None
    try:
        return Urgency(value) if isinstance(value, int) else Urgency.from_label(value)
    except ValueError:
        return None


def urgency_label(value) -> str:
    """"same-day": the label of a level given by number or label ("" if it is not one)."""
    level = as_urgency(value)
    return "" if level is None else level.label


def urgency_word(value) -> str:
    """"urgent", "urgente": a level by number or label, in the reader's language."""
    level = as_urgency(value)
    return str(value or "") if level is None else str(WORDS[level])


def urgency_class(value) -> str:
    """"urgency-same-day": the CSS class that colours a pill, a row, a heading or a card for the level."""
    level = as_urgency(value)
    return f"urgency-{(level or Urgency.NONE).label}"
