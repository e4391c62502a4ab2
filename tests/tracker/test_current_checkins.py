"""`CheckIn.objects.current()`: the versions that stand, a correction in place of the check-in it corrects."""

import pytest

from tests.factories import CheckInFactory
from tracker.models import CheckIn

pytestmark = pytest.mark.django_db


def test_current_leaves_out_a_corrected_checkin_and_keeps_its_correction(patient):
    original = CheckInFactory(patient=patient)
    correction = CheckInFactory(patient=patient, amends=original, amendment_reason="typo in the temperature")
    untouched = CheckInFactory(patient=patient)
    assert set(CheckIn.objects.current()) == {correction, untouched}
    assert list(CheckIn.objects.amendments_of(original)) == [correction]


def test_a_correction_of_a_correction_is_the_one_current_version(patient):
    first = CheckInFactory(patient=patient)
    second = CheckInFactory(patient=patient, amends=first, amendment_reason="wrong unit")
    third = CheckInFactory(patient=patient, amends=second, amendment_reason="wrong day")
    assert list(CheckIn.objects.filter(patient=patient).current()) == [third]
