"""Everything a patient reads has a Spanish translation (patients choose their language)."""

import pathlib

from babel.messages.pofile import read_po

PO = pathlib.Path(__file__).resolve().parents[2] / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_spanish_catalogue_is_complete_and_has_no_fuzzy_entries():
    with PO.open("rb") as handle:
        catalogue = read_po(handle)
    messages = [m for m in catalogue if m.id]
    assert len(messages) > 200
    untranslated = [m.id for m in messages if not (m.string if isinstance(m.string, str) else all(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


def test_placeholders_survive_translation():
    import re

    with PO.open("rb") as handle:
        catalogue = read_po(handle)
    pattern = re.compile(r"%\(\w+\)s|\{\w+\}")
    for message in catalogue:
        if not message.id or not isinstance(message.id, str):
            continue
        assert sorted(pattern.findall(message.id)) == sorted(pattern.findall(message.string)), message.id
