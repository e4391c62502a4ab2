"""The check-in input serializer reads a JSON object's absent fields from their constant defaults at once
(tracker.api.serializers.FieldsBoundOnceSerializer): whatever is sent, the result and every error are those of
DRF's own field-by-field validation (which it still uses for form data and other mappings)."""

import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.api.serializers import CheckInInputSerializer
from tracker.questions import ICE_PARTS, YES_NO_FIELDS

NAMES = sorted({*CheckInInputSerializer().fields, *YES_NO_FIELDS, *ICE_PARTS, "unknown_answer", "temperature_c"})
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 400), st.sampled_from(["", "37.2", "101.3", "abc", "true", "alert",
                                                                     "celsius", "fahrenheit", "mild", "2026-12-01T10:00:00Z"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.lists(st.integers(), max_size=2),
)


def outcome(data) -> tuple[bool, object]:
    serializer = CheckInInputSerializer(data=data)
    valid = serializer.is_valid()
    return valid, (dict(serializer.validated_data) if valid else serializer.errors)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=12))
def test_a_json_object_gets_what_drf_field_by_field_validation_gives(payload):
    assert outcome(payload) == outcome(types.MappingProxyType(payload))


def test_typical_bodies_match_too():
    quiet = {"temperature": "37.0", "heart_rate": 80, **{name: False for name in YES_NO_FIELDS[:10]},
             "consciousness": "alert"}
    for payload in (quiet, {}, {"temperature": "45"}, {**quiet, "temperature_unit": "fahrenheit", "temperature": "99.1"},
                    {"seizure": "maybe", "unknown_answer": 1}, {"ice_orientation": 5}):
        assert outcome(payload) == outcome(types.MappingProxyType(payload))
