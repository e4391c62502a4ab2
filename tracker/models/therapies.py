import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TherapyClass(models.TextChoices):
    CAR_T = "car_t", _("CAR T-cell therapy")
    CHECKPOINT = "checkpoint", _("Immune checkpoint inhibitor")
    T_CELL_ENGAGER = "t_cell_engager", _("T-cell engager (bispecific antibody)")
    TCR_TIL = "tcr_til", _("TCR or TIL cell therapy")
    CYTOKINE = "cytokine", _("Cytokine (interleukin-2, interferon)")
    IMMUNOMODULATOR = "immunomodulator", _("Immunomodulatory drug")
    ONCOLYTIC_VIRUS = "oncolytic_virus", _("Oncolytic virus")
    INTRAVESICAL_BCG = "intravesical_bcg", _("BCG in the bladder")
    ANTIBODY = "antibody", _("Monoclonal antibody")
    CELL_VACCINE = "cell_vaccine", _("Cell-based vaccine")


class Therapy(models.Model):
    """A product in the catalogue, with the label facts of clinical-rules §3 and §4."""

    code = models.SlugField(max_length=40, unique=True)
    brand_name = models.CharField(max_length=100)
    generic_name = models.CharField(max_length=200)
    therapy_class = models.CharField(max_length=20, choices=TherapyClass.choices)
    target = models.CharField(max_length=50)
    driving_restriction_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Label no-driving period after infusion (clinical-rules §3)."
    )
    proximity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Label stay-near-the-center period after infusion (clinical-rules §3)."
    )
    label_facts_unverified = models.BooleanField(
        default=False, help_text="The label periods are marked unverified in clinical-rules §3."
    )
    median_crs_onset_day = models.PositiveIntegerField(null=True, blank=True)
    median_neuro_onset_day = models.PositiveIntegerField(null=True, blank=True)
    label_facts = models.TextField(help_text="Staff-facing label facts with their clinical-rules section.")
    patient_summary = models.TextField(help_text="What to watch for, in plain words, for patients.")
    source = models.CharField(max_length=100)
    # Clinical-rules §8: the label copy's date, which facts are unverified or center policy, and the dose schedule.
    label_date = models.CharField(
        max_length=40, blank=True, help_text="When the label copy the facts were read from was made (clinical-rules §8)."
    )
    label_markers = models.JSONField(
        default=list, blank=True,
        help_text='Facts marked unverified or policy: [{"topic", "status": "unverified"|"policy", "note"}].',
    )
    dose_schedule = models.JSONField(
        default=dict, blank=True,
        help_text="The dose schedule template (tracker.catalogue.DoseSchedule.as_json); empty: no template.",
    )

    class Meta:
        ordering = ["therapy_class", "brand_name"]
        verbose_name_plural = "therapies"

    def __str__(self) -> str:
        return self.brand_name

    @property
    def is_car_t(self) -> bool:
        return self.therapy_class == TherapyClass.CAR_T


class CourseStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Monitoring completed")
    STOPPED = "stopped", _("Stopped")


class TreatmentCourse(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("tracker.Patient", on_delete=models.CASCADE, related_name="courses")
    therapy = models.ForeignKey(Therapy, on_delete=models.PROTECT, related_name="courses")
    care_team = models.ForeignKey("tracker.CareTeam", on_delete=models.PROTECT, related_name="courses")
    start_date = models.DateField(help_text="Infusion date for CAR T; first dose for checkpoint inhibitors.")
    last_dose_date = models.DateField(null=True, blank=True, help_text="Most recent infusion (checkpoint inhibitors).")
    status = models.CharField(max_length=20, choices=CourseStatus.choices, default=CourseStatus.ACTIVE)
    tocilizumab_or_steroids_on = models.DateField(
        null=True, blank=True,
        help_text="When tocilizumab or steroids were given: after them, fever is no longer required for CRS (clinical-rules §1).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Interleukin-2 capillary leak (clinical-rules §9): the weight gain counts from this when staff entered it,
    # else from the first weight the patient reported in the course. Who and when are kept (and an audit row).
    baseline_weight_kg = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        help_text="Staff-entered weight before interleukin-2 (kg); empty: the first weight reported.")
    baseline_weight_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                           related_name="+")
    baseline_weight_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["patient", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_dose_date__isnull=True) | models.Q(last_dose_date__gte=models.F("start_date")),
                name="course_last_dose_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.therapy} for {self.patient} from {self.start_date}"
