"""tracker/questions.py is the one list of a check-in's clinical fields: the model stores exactly those, and
the ICE sub-scores' maxima follow from the screen's items."""

from django.core.validators import MaxValueValidator

from tracker.models import CheckIn
from tracker.questions import CLINICAL_FIELDS, ICE_PART_MAXIMA, WHOLE_NUMBER_FIELDS, YES_NO_FIELDS

RECORD_FIELDS = {"id", "uuid", "patient", "entered_by", "entered_role", "channel", "recorded_at", "local_date",
                 "submitted_at", "is_complete", "amends", "amendment_reason"}


def test_the_model_stores_exactly_the_clinical_fields_of_the_questionnaire():
    stored = [f.name for f in CheckIn._meta.fields if f.name not in RECORD_FIELDS]
    assert stored == list(CLINICAL_FIELDS)


def test_yes_no_answers_are_nullable_booleans_and_whole_numbers_are_integers():
    for name in YES_NO_FIELDS:
        field = CheckIn._meta.get_field(name)
        assert field.get_internal_type() == "BooleanField" and field.null, name
    for name in WHOLE_NUMBER_FIELDS:
        assert CheckIn._meta.get_field(name).get_internal_type() == "PositiveSmallIntegerField", name


def test_ice_sub_score_maxima_match_the_model_and_add_up_to_ten():
    for part, most in ICE_PART_MAXIMA.items():
        limits = [v.limit_value for v in CheckIn._meta.get_field(part).validators if isinstance(v, MaxValueValidator)]
        assert limits == [most], part
    assert sum(ICE_PART_MAXIMA.values()) == 10
