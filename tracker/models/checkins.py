import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Plausibility limits for home readings: values outside are refused as input errors, not graded.
TEMPERATURE_C_MIN, TEMPERATURE_C_MAX = 30.0, 45.0
HEART_RATE_MIN, HEART_RATE_MAX = 20, 250
SPO2_MIN, SPO2_MAX = 1, 100
SYSTOLIC_MIN, SYSTOLIC_MAX = 40, 300
DIASTOLIC_MIN, DIASTOLIC_MAX = 20, 200
WEIGHT_KG_MIN, WEIGHT_KG_MAX = 20, 350
FLU_LIKE_HOURS_MAX = 24 * 60


class EnteredRole(models.TextChoices):
    PATIENT = "patient", _("Patient")
    CAREGIVER = "caregiver", _("Caregiver")
    STAFF = "staff", _("Staff (phone report)")


class Channel(models.TextChoices):
    WEB = "web", _("Patient page")
    API = "api", _("API")
    PHONE = "phone", _("Phone report entered by staff")


class TemperatureUnit(models.TextChoices):
    CELSIUS = "C", "°C"
    FAHRENHEIT = "F", "°F"


class Consciousness(models.TextChoices):
    """Level of consciousness in the ASTCT ICANS scale (clinical-rules §2)."""

    ALERT = "alert", _("Awake and alert as usual")
    DROWSY_WAKES_ON_OWN = "drowsy_wakes_on_own", _("Drowsy, but wakes up on their own")
    WAKES_TO_VOICE = "wakes_to_voice", _("Only wakes when you speak to them")
    WAKES_TO_TOUCH = "wakes_to_touch", _("Only wakes when you touch or shake them")
    UNROUSABLE = "unrousable", _("Cannot be woken up")


class AbdominalPain(models.TextChoices):
    NONE = "none", _("No belly pain")
    MILD = "mild", _("Some belly pain")
    SEVERE = "severe", _("Severe belly pain")


def _yes_no_field():
    return models.BooleanField(null=True, blank=True)


class CheckInQuerySet(models.QuerySet):
    def amendments_of(self, checkin) -> "CheckInQuerySet":
        """The check-ins that correct `checkin` (a check-in, its id, or an OuterRef to one)."""
        return self.filter(amends=checkin)

    def current(self) -> "CheckInQuerySet":
        """The current versions: check-ins no later check-in corrects (a correction stands in for the original)."""
        return self.filter(~models.Exists(self.model.objects.amendments_of(models.OuterRef("pk"))))


class CheckIn(models.Model):
    """One symptom check. Rows are never updated or deleted: a correction is a new row that amends it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("tracker.Patient", on_delete=models.PROTECT, related_name="checkins")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="entered_checkins")
    entered_role = models.CharField(max_length=20, choices=EnteredRole.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recorded_at = models.DateTimeField(help_text="When the readings were taken.")
    local_date = models.DateField(help_text="The patient's local date of recorded_at, in their time zone.")
    submitted_at = models.DateTimeField(auto_now_add=True)
    is_complete = models.BooleanField(default=False, help_text="Every question for the patient's therapies answered.")
    amends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amendments",
        help_text="The check-in this one corrects.",
    )
    amendment_reason = models.TextField(blank=True)

    # Vitals. Temperature is stored in °C; what was typed is kept as entered.
    temperature_c = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(TEMPERATURE_C_MIN), MaxValueValidator(TEMPERATURE_C_MAX)],
    )
    temperature_entered = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    temperature_unit = models.CharField(max_length=1, choices=TemperatureUnit.choices, blank=True)
    heart_rate = models.PositiveSmallIntegerField(null=True, blank=True)
    systolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    diastolic_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    spo2 = models.PositiveSmallIntegerField("SpO2 (%)", null=True, blank=True)

    # Yes/no questions (tracker.questions): None means not asked or not answered.
    on_oxygen = _yes_no_field()
    chills = _yes_no_field()
    short_of_breath = _yes_no_field()
    dizzy_or_fainting = _yes_no_field()
    severe_nausea_vomiting_diarrhea = _yes_no_field()
    fast_heartbeat = _yes_no_field()
    severe_fatigue = _yes_no_field()
    severe_muscle_joint_pain = _yes_no_field()
    confusion = _yes_no_field()
    agitation = _yes_no_field()
    speech_trouble = _yes_no_field()
    balance_loss = _yes_no_field()
    tremor = _yes_no_field()
    seizure = _yes_no_field()
    seizure_prolonged = _yes_no_field()
    focal_weakness = _yes_no_field()
    handwriting_change = _yes_no_field()
    slowed_movement = _yes_no_field()
    personality_change = _yes_no_field()
    coordination_loss = _yes_no_field()
    facial_numbness_droop = _yes_no_field()
    leg_numbness_weakness = _yes_no_field()
    stool_blood_mucus = _yes_no_field()
    diarrhea_limits_selfcare = _yes_no_field()
    rash_blisters_or_sores = _yes_no_field()
    cough = _yes_no_field()
    breathless = _yes_no_field()
    breathless_at_rest = _yes_no_field()
    chest_pain = _yes_no_field()
    yellow_skin_or_dark_urine = _yes_no_field()
    right_belly_pain = _yes_no_field()
    easy_bruising = _yes_no_field()
    severe_headache = _yes_no_field()
    vision_change = _yes_no_field()
    extreme_thirst_urination = _yes_no_field()
    muscle_weakness = _yes_no_field()
    flushing_itching = _yes_no_field()
    wheezing = _yes_no_field()
    # Monitoring profiles of clinical-rules §9 (tracker.questions).
    less_urine = _yes_no_field()
    very_drowsy = _yes_no_field()
    low_mood = _yes_no_field()
    harm_thoughts = _yes_no_field()
    swollen_painful_limb = _yes_no_field()
    hands_feet_numbness = _yes_no_field()
    painful_blisters = _yes_no_field()
    eye_pain_light = _yes_no_field()
    flu_like = _yes_no_field()
    unusual_bleeding = _yes_no_field()
    drove_since_last = _yes_no_field()

    consciousness = models.CharField(max_length=24, choices=Consciousness.choices, blank=True)

    # Caregiver-run ICE screen (clinical-rules §2): a screen, not validated for home use.
    ice_orientation = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(4)])
    ice_naming = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(3)])
    ice_command = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(1)])
    ice_writing = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(1)])
    ice_counting = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(1)])
    ice_score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(10)])
    capd_score = models.PositiveSmallIntegerField(
        "CAPD score", null=True, blank=True, validators=[MaxValueValidator(32)],
        help_text="Children 12 and under: CAPD delirium score instead of ICE (clinical-rules §2).",
    )

    # Checkpoint inhibitor signs (clinical-rules §4).
    extra_stools = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(50)], help_text="Stools per day above the usual."
    )
    abdominal_pain = models.CharField(max_length=10, choices=AbdominalPain.choices, blank=True)
    rash_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)],
        help_text="Body surface with rash, in % (the palm with fingers is about 1 %).",
    )

    # Monitoring profiles of clinical-rules §9: the weight (interleukin-2 capillary leak, in kg) and how many
    # hours flu-like symptoms have lasted (BCG in the bladder: more than 72 h is urgent).
    weight_kg = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        validators=[MinValueValidator(WEIGHT_KG_MIN), MaxValueValidator(WEIGHT_KG_MAX)],
    )
    flu_like_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(FLU_LIKE_HOURS_MAX)],
        help_text="How many hours the flu-like symptoms have lasted (clinical-rules §9, BCG).",
    )

    note = models.TextField(blank=True, max_length=2000)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [
            models.Index(fields=["patient", "-recorded_at"], name="checkin_patient_recent"),
            models.Index(fields=["patient", "local_date"], name="checkin_patient_day"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(temperature_c__isnull=True)
                | models.Q(temperature_c__gte=TEMPERATURE_C_MIN, temperature_c__lte=TEMPERATURE_C_MAX),
                name="checkin_temperature_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(heart_rate__isnull=True)
                | models.Q(heart_rate__gte=HEART_RATE_MIN, heart_rate__lte=HEART_RATE_MAX),
                name="checkin_heart_rate_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(spo2__isnull=True) | models.Q(spo2__gte=SPO2_MIN, spo2__lte=SPO2_MAX),
                name="checkin_spo2_plausible",
            ),
            models.CheckConstraint(
                condition=models.Q(systolic_bp__isnull=True, diastolic_bp__isnull=True)
                | models.Q(systolic_bp__isnull=False, diastolic_bp__isnull=False, systolic_bp__gt=models.F("diastolic_bp")),
                name="checkin_bp_pair_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(ice_score__isnull=True) | models.Q(ice_score__lte=10),
                name="checkin_ice_score_range",
            ),
            models.CheckConstraint(
                condition=models.Q(amends__isnull=True) | ~models.Q(amendment_reason=""),
                name="checkin_amendment_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.uuid} for patient {self.patient_id} on {self.local_date}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Check-ins are never changed; store a correction as an amendment.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Check-ins are never deleted.")
