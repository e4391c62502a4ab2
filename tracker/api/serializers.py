"""Check-in input and output. The patient page validates through the same input serializer, so the
page and the API give the same answer for the same values."""

import copy
import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import SkipField, get_error_detail

from tracker.models import CheckIn, Patient, Therapy, TreatmentCourse, User
from tracker.models import checkins as limits
from tracker.models.checkins import AbdominalPain, Consciousness, TemperatureUnit
from tracker.questions import (
    CLINICAL_FIELDS,
    ICE_PART_MAXIMA,
    ICE_PARTS,
    YES_NO_FIELDS,
    celsius_to_fahrenheit,
    fahrenheit_to_celsius,
)

# A phone's clock may run a little ahead of the server's.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# Nothing is dated before this (far older values also overflow time-zone arithmetic: year 1, 9999). The
# window a check-in must fall in is narrower still: tracker.checkin_time.
EARLIEST_RECORDED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
C_MIN, C_MAX = Decimal(f"{limits.TEMPERATURE_C_MIN:.1f}"), Decimal(f"{limits.TEMPERATURE_C_MAX:.1f}")
F_MIN, F_MAX = celsius_to_fahrenheit(C_MIN), celsius_to_fahrenheit(C_MAX)
LB_PER_KG = Decimal("2.20462")
LB_MIN, LB_MAX = Decimal(44), Decimal(771)  # tracker.models.checkins WEIGHT_KG_MIN, WEIGHT_KG_MAX (20-350 kg) in lb


def pounds_to_kilograms(pounds: Decimal) -> Decimal:
    """lb -> kg to 0.1 kg (154.3 lb -> 70.0 kg)."""
    return (pounds / LB_PER_KG).quantize(Decimal("0.1"))


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming each, instead of silently dropping them."""

    def refuse_unknown(self, data) -> None:
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("Unknown field.")] for name in unknown})

    def to_internal_value(self, data):
        self.refuse_unknown(data)
        return super().to_internal_value(data)


class BoundedDateTimeField(serializers.DateTimeField):
    """DRF's, except that a time at the ends of the calendar (year 1, 9999) is invalid input: DRF's own
    time-zone checks on such a value can raise OverflowError (a 500)."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


_SKIP = object()  # a field left out that gives nothing


class FieldsBoundOnceSerializer(StrictSerializer):
    """An input serializer's ~45 fields built and bound once per class and process, instead of deep-copied on
    every request: DRF fields keep no state between validations (what a validation needs is on the serializer
    instance, e.g. `initial_data`), and messages stay lazy, so each error is in the reader's language."""

    _absent_once: ClassVar[dict[str, object] | None] = None

    @cached_property
    def fields(self):
        cls = type(self)
        shared = cls.__dict__.get("_fields_bound_once")
        if shared is None:
            shared = serializers.Serializer.fields.func(cls())  # bound to a serializer without data
            cls._fields_bound_once = shared
        return shared

    def _absent_values(self) -> dict[str, object]:
        """What each writable field gives when a JSON body leaves it out, where that needs no call: a constant
        default (SKIP: nothing) for a field that is not required and has no `validate_<name>` method. Fields not
        listed (required ones, callable defaults, validate methods) go through DRF's own steps."""
        cls = type(self)
        absent = cls.__dict__.get("_absent_once")
        if absent is None:
            absent = {}
            for field in self._writable_fields:
                name = field.field_name
                if field.required or hasattr(self, f"validate_{name}") or callable(field.default):
                    continue
                if field.default is serializers.empty:
                    absent[name] = _SKIP
                elif field.default is None or isinstance(field.default, str | int | bool):
                    absent[name] = field.default
            cls._absent_once = absent
        return absent

    def to_internal_value(self, data):
        """DRF's, except that for a JSON object the fields it leaves out take their constant default at once
        (most of a check-in's ~60 answers are usually absent): the same result, with less work per field."""
        if type(data) is not dict:  # form data (checkboxes absent mean False), or not an object at all
            return super().to_internal_value(data)
        self.refuse_unknown(data)
        absent = self._absent_values()
        ret, errors = {}, {}
        for field in self._writable_fields:
            name = field.field_name
            if name not in data and name in absent:
                if absent[name] is not _SKIP:
                    self.set_value(ret, field.source_attrs, absent[name])
                continue
            validate_method = getattr(self, f"validate_{name}", None)
            try:
                value = field.run_validation(field.get_value(data))
                if validate_method is not None:
                    value = validate_method(value)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
            except DjangoValidationError as exc:
                errors[name] = get_error_detail(exc)
            except SkipField:
                pass
            else:
                self.set_value(ret, field.source_attrs, value)
        if errors:
            raise serializers.ValidationError(errors)
        return ret


def _yes_no(field: str) -> serializers.BooleanField:
    return serializers.BooleanField(required=False, allow_null=True, default=None)


class CheckInInputSerializer(FieldsBoundOnceSerializer):
    id = serializers.UUIDField(
        required=False,
        help_text="The check-in's own id, made by the client (a UUID). A check-in sent again with the same id is "
                  "stored once: the retry gets the first answer (it is the Idempotency-Key when no header is sent).",
    )
    patient = serializers.UUIDField(
        required=False, help_text="The patient's id. Optional for a patient checking in for themselves."
    )
    recorded_at = BoundedDateTimeField(
        required=False, help_text="When the readings were taken (ISO 8601 with offset). Defaults to now."
    )
    temperature = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    temperature_unit = serializers.ChoiceField(choices=TemperatureUnit.choices, default=TemperatureUnit.CELSIUS)
    heart_rate = serializers.IntegerField(
        required=False, allow_null=True, min_value=limits.HEART_RATE_MIN, max_value=limits.HEART_RATE_MAX
    )
    systolic_bp = serializers.IntegerField(
        required=False, allow_null=True, min_value=limits.SYSTOLIC_MIN, max_value=limits.SYSTOLIC_MAX
    )
    diastolic_bp = serializers.IntegerField(
        required=False, allow_null=True, min_value=limits.DIASTOLIC_MIN, max_value=limits.DIASTOLIC_MAX
    )
    spo2 = serializers.IntegerField(required=False, allow_null=True, min_value=limits.SPO2_MIN, max_value=limits.SPO2_MAX)
    consciousness = serializers.ChoiceField(choices=Consciousness.choices, required=False, allow_blank=True)
    capd_score = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=32)
    extra_stools = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=50)
    abdominal_pain = serializers.ChoiceField(choices=AbdominalPain.choices, required=False, allow_blank=True)
    rash_percent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    weight_kg = serializers.DecimalField(
        max_digits=4, decimal_places=1, required=False, allow_null=True, min_value=Decimal(limits.WEIGHT_KG_MIN),
        max_value=Decimal(limits.WEIGHT_KG_MAX),
        help_text="Weight today in kg (interleukin-2: weight gain, clinical-rules §9).",
    )
    weight_lb = serializers.DecimalField(
        max_digits=4, decimal_places=1, required=False, allow_null=True, min_value=LB_MIN, max_value=LB_MAX,
        help_text="Weight today in lb instead of weight_kg (stored in kg). Send one of the two.",
    )
    flu_like_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=limits.FLU_LIKE_HOURS_MAX,
        help_text="How many hours the flu-like symptoms have lasted (BCG in the bladder, clinical-rules §9).",
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def get_fields(self):
        fields = super().get_fields()
        for name in YES_NO_FIELDS:
            fields[name] = _yes_no(name)
        for part, most in ICE_PART_MAXIMA.items():  # the ICE sub-scores (tracker.questions.ICE_ITEMS)
            fields[part] = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=most)
        return fields

    def validate_temperature(self, value: Decimal | None) -> Decimal | None:
        """The plausible range depends on the unit sent alongside (checked here so every bad field is named at once)."""
        if value is None:
            return value
        unit = self.initial_data.get("temperature_unit") or TemperatureUnit.CELSIUS
        if unit == TemperatureUnit.FAHRENHEIT:
            low, high, symbol = F_MIN, F_MAX, "F"
        else:
            low, high, symbol = C_MIN, C_MAX, "C"
        if not low <= value <= high:
            raise serializers.ValidationError(
                _("Enter a temperature between %(low)s and %(high)s °%(unit)s. Check the thermometer and try again.")
                % {"low": low, "high": high, "unit": symbol}
            )
        return value

    def validate_recorded_at(self, value: dt.datetime) -> dt.datetime:
        if value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError(_("A check-in cannot be dated in the future."))
        if value < EARLIEST_RECORDED_AT:
            raise serializers.ValidationError(_("Enter a real date and time."))
        return value

    def to_internal_value(self, data):
        """Name every bad answer at once: when single fields fail, still report the cross-field checks."""
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict) or not hasattr(data, "get"):
                raise
            errors = dict(exc.detail)
            for name, messages in cross_field_errors(data).items():
                errors.setdefault(name, messages)
            raise serializers.ValidationError(errors) from exc

    def validate(self, attrs: dict) -> dict:
        temperature = attrs.pop("temperature", None)
        unit = attrs.pop("temperature_unit", TemperatureUnit.CELSIUS)
        if temperature is not None:
            attrs["temperature_entered"] = temperature
            attrs["temperature_unit"] = unit
            attrs["temperature_c"] = (
                fahrenheit_to_celsius(temperature) if unit == TemperatureUnit.FAHRENHEIT else temperature
            )

        errors = cross_field_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        pounds = attrs.pop("weight_lb", None)
        if pounds is not None:
            attrs["weight_kg"] = pounds_to_kilograms(pounds)
        if all(attrs.get(name) is not None for name in ICE_PARTS):
            attrs["ice_score"] = sum(attrs[name] for name in ICE_PARTS)
        return attrs


def _as_int(value) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _as_bool(value) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return {"true": True, "1": True, "false": False, "0": False}.get(str(value).lower())


def cross_field_errors(values) -> dict[str, list[str]]:
    """Checks that span fields. Works on clean values and on raw input alike (unparseable values are skipped)."""
    errors: dict[str, list[str]] = {}
    systolic, diastolic = _as_int(values.get("systolic_bp")), _as_int(values.get("diastolic_bp"))
    sent_systolic = values.get("systolic_bp") not in (None, "")
    sent_diastolic = values.get("diastolic_bp") not in (None, "")
    if sent_systolic != sent_diastolic:
        missing = "systolic_bp" if sent_diastolic else "diastolic_bp"
        errors[missing] = [_("Enter both blood pressure numbers (top and bottom), or neither.")]
    elif systolic is not None and diastolic is not None and diastolic >= systolic:
        errors["diastolic_bp"] = [_("The bottom number must be lower than the top number.")]

    given = [name for name in ICE_PARTS if values.get(name) not in (None, "")]
    if given and len(given) != len(ICE_PARTS):
        for name in ICE_PARTS:
            if name not in given:
                errors[name] = [_("Answer all five parts of the screen, or none.")]

    if values.get("weight_lb") not in (None, "") and values.get("weight_kg") not in (None, ""):
        errors["weight_lb"] = [_("Send the weight in kg or in lb, not both.")]
    if _as_bool(values.get("seizure_prolonged")) and _as_bool(values.get("seizure")) is False:
        errors["seizure_prolonged"] = [_("A long seizure was reported, but 'seizure' was answered no.")]
    if _as_bool(values.get("breathless_at_rest")) and _as_bool(values.get("breathless")) is False:
        errors["breathless_at_rest"] = [_("Short of breath at rest was reported, but 'short of breath' was answered no.")]
    return errors


class AmendmentInputSerializer(CheckInInputSerializer):
    reason = serializers.CharField(max_length=1000, help_text="Why the check-in is corrected.")

    def get_fields(self):
        fields = super().get_fields()
        fields.pop("patient")
        return fields


class FieldsBuiltOnceMixin:
    """A ModelSerializer works out its fields from the model on every use; this builds them once per class
    and gives each serializer fresh copies (deep copies, as DRF gives its declared fields)."""

    def get_fields(self):
        cls = type(self)
        template = cls.__dict__.get("_fields_template")
        if template is None:
            template = super().get_fields()
            cls._fields_template = template
        return copy.deepcopy(template)


class CheckInOutputSerializer(FieldsBuiltOnceMixin, serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    patient = serializers.UUIDField(source="patient.uuid", read_only=True)
    entered_by = serializers.UUIDField(source="entered_by.uuid", read_only=True)
    amends = serializers.UUIDField(source="amends.uuid", read_only=True, allow_null=True, default=None)
    superseded_by = serializers.SerializerMethodField()
    temperature_f = serializers.SerializerMethodField()
    # Unanswered choice questions are stored blank: the schema says so.
    temperature_unit = serializers.ChoiceField(choices=TemperatureUnit.choices, allow_blank=True, read_only=True)
    consciousness = serializers.ChoiceField(choices=Consciousness.choices, allow_blank=True, read_only=True)
    abdominal_pain = serializers.ChoiceField(choices=AbdominalPain.choices, allow_blank=True, read_only=True)

    class Meta:
        model = CheckIn
        fields = [
            "id", "patient", "entered_by", "entered_role", "channel", "recorded_at", "local_date", "submitted_at",
            "is_complete", "amends", "amendment_reason", "superseded_by",
            *CLINICAL_FIELDS, "temperature_f",
        ]
        read_only_fields = fields

    def get_superseded_by(self, obj) -> str | None:
        value = getattr(obj, "superseded_by_uuid", None)
        return str(value) if value else None

    def get_temperature_f(self, obj) -> Decimal | None:
        return None if obj.temperature_c is None else celsius_to_fahrenheit(obj.temperature_c)


class TherapySerializer(serializers.ModelSerializer):
    class Meta:
        model = Therapy
        fields = [
            "code", "brand_name", "generic_name", "therapy_class", "target", "driving_restriction_days",
            "proximity_days", "label_facts_unverified", "median_crs_onset_day", "median_neuro_onset_day",
            "label_facts", "patient_summary", "source", "label_date", "label_markers", "dose_schedule",
        ]


class CourseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    therapy = serializers.CharField(source="therapy.code")
    therapy_class = serializers.CharField(source="therapy.therapy_class")
    care_team = serializers.CharField(source="care_team.name")

    class Meta:
        model = TreatmentCourse
        fields = ["id", "therapy", "therapy_class", "start_date", "last_dose_date", "status", "care_team"]


class PatientSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    center = serializers.CharField(source="center.name")
    center_phone_24_7 = serializers.CharField(source="center.phone_24_7")
    care_team = serializers.CharField(source="care_team.name")
    courses = CourseSerializer(many=True)

    class Meta:
        model = Patient
        fields = [
            "id", "mrn", "first_name", "last_name", "date_of_birth", "time_zone", "preferred_language",
            "phone", "email", "center", "center_phone_24_7", "care_team", "courses",
        ]


class MeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    name = serializers.CharField(source="get_full_name")
    care_teams = serializers.SerializerMethodField()
    patients = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role", "preferred_language", "care_teams", "patients"]

    def get_care_teams(self, obj) -> list[str]:
        return [team.name for team in obj.care_teams.all()]

    def get_patients(self, obj) -> list[dict]:
        """The patients this user checks in for (their own record, or linked patients)."""
        return [{"id": str(p.uuid), "name": p.full_name} for p in self.context.get("own_patients", [])]


class TokenInputSerializer(StrictSerializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"}, trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True, max_length=8,
                                help_text="Staff, when two-factor is required: the code from the authenticator app.")


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once; send as `Authorization: Token <token>`.")
    expires_at = serializers.DateTimeField()


def amendment_changes(supplied: set[str], validated: dict) -> dict:
    """Only the values the caller actually sent (defaults of unsent fields must not erase the original)."""
    changes = {name: value for name, value in validated.items() if name in supplied}
    if "weight_lb" in supplied:
        changes["weight_kg"] = validated.get("weight_kg")
    if "temperature" in supplied:
        changes["temperature_c"] = validated.get("temperature_c")
        changes["temperature_entered"] = validated.get("temperature_entered")
        changes["temperature_unit"] = validated.get("temperature_unit", "")
    if supplied & set(ICE_PARTS):
        for name in (*ICE_PARTS, "ice_score"):
            changes[name] = validated.get(name)
    return changes
