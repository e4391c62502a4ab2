"""Staff rationale as data: message keys with their parameters, so a page can show why a rule fired in the
reader's language. The engine never translates: a caller passes a ``translate`` function (e.g. Django's
gettext) when it renders.

A message is ``(key, params)``. The key is the English text with ``{named}`` fields; a field may carry a
format spec (``{temperature:.1f}``) or ``!c`` (capital first letter, for a field that starts a sentence).
A parameter is a number or a text put in as it is, another message, or a tuple of labels and messages,
each translated and joined with ", ". Stored as JSON, tuples become lists: ``[key, {name: value}]``.

A moment is a message of its own (``at_time``): the datetime, stored as ISO text, is put in by the caller's
``format_time`` when it renders (a staff page: the center's clock with its zone's abbreviation, in the reader's
language); without one it reads "2026-07-01 12:03 UTC", the English record's form.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeAlias

Param: TypeAlias = "str | int | float | datetime | Message | tuple[str | Message, ...]"
Message: TypeAlias = "tuple[str, Mapping[str, Param]]"
Translate = Callable[[str], str]
FormatTime = Callable[[datetime], str]

# A text kept as it was written (a rationale stored before the keys existed).
LITERAL = "{text}"
# A moment (``at_time``): its datetime, aware, is formatted by the renderer, never translated as a text.
TIME = "{time}"
# Markers between messages: the findings folded into the winning one (engine.merge_findings) follow "also:";
# guideline context follows " | ".
ALSO = "also:"
NOTE = "|"
# Between an alert's latest rationale and the earlier ones.
EARLIER = "Earlier:"


def message(key: str, **params: Param) -> Message:
    return (key, params)


def literal(text: str) -> Message:
    return (LITERAL, {"text": text})


def at_time(moment: datetime) -> Message:
    """A moment for the reader's clock: formatted when the message is rendered, kept as a datetime (ISO text
    in JSON) until then."""
    return (TIME, {"time": moment})


def utc_time(moment: datetime) -> str:
    """The English record's form of a moment: "2026-07-01 12:03 UTC"."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _moment(value: object, format_time: FormatTime) -> str:
    """A stored moment (a datetime, or its ISO text once stored as JSON) on the caller's clock; a text that is
    not a moment as it is."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return format_time(moment)
    return str(value)


def _unchanged(text: str) -> str:
    return text


class _Formatter(string.Formatter):
    def convert_field(self, value: object, conversion: str | None) -> object:
        if conversion == "c":
            text = str(value)
            return text[:1].upper() + text[1:]
        return super().convert_field(value, conversion)


_FORMATTER = _Formatter()


def _as_message(value: object) -> tuple[str, Mapping[str, object]] | None:
    """``(key, params)`` if the value is a message (a tuple, or a list as stored in JSON), else None."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and isinstance(value[0], str) \
            and isinstance(value[1], Mapping):
        return value[0], value[1]
    return None


def _param(value: object, translate: Translate, format_time: FormatTime) -> object:
    if _as_message(value) is not None:
        return render_message(value, translate, format_time)
    if isinstance(value, (list, tuple)):
        return ", ".join(render_message(item, translate, format_time) for item in value)
    return value


def render_message(msg: object, translate: Translate | None = None, format_time: FormatTime | None = None) -> str:
    """One message in the language of ``translate`` (English without it), its parameters filled in and its
    moments put on the clock of ``format_time`` (UTC without it); a bare text is a label, translated as it is."""
    tr = translate or _unchanged
    clock = format_time or utc_time
    parsed = _as_message(msg)
    if parsed is None:
        return tr(str(msg))
    key, params = parsed
    if key == LITERAL:
        return str(params.get("text", ""))
    if key == TIME:
        return _moment(params.get("time", ""), clock)
    if not params:
        return tr(key)
    return _FORMATTER.vformat(tr(key), (), {name: _param(value, tr, clock) for name, value in params.items()})


def render_rationale(messages: Iterable[Sequence[object]], translate: Translate | None = None,
                     format_time: FormatTime | None = None) -> str:
    """A rationale's messages as one text: "A; B"; "A | guideline" after a NOTE marker; "A; also: B; C" for
    findings folded into another."""
    tr = translate or _unchanged
    text = ""
    glue = "; "
    for msg in messages:
        key = msg[0]
        if key == ALSO:
            text, glue = text + "; " + tr(ALSO), " "
            continue
        if key == NOTE:
            text, glue = text + " |", " "
            continue
        piece = render_message(msg, tr, format_time)
        text = text + glue + piece if text else piece
        glue = "; "
    return text


def render_history(entries: Iterable[Iterable[Sequence[object]]], translate: Translate | None = None,
                   format_time: FormatTime | None = None) -> str:
    """An alert's rationales, latest first: "latest\\n\\nEarlier: older\\n\\nEarlier: oldest"."""
    tr = translate or _unchanged
    return ("\n\n" + tr(EARLIER) + " ").join(render_rationale(entry, tr, format_time) for entry in entries)
