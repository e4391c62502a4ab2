from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from monitoring.rules.policy import POLICY_FIELDS, Policy


class PolicySetting(models.Model):
    """A center's value for one rules-engine policy (monitoring.rules.policy.Policy); unset means the
    published default. The default, its source and whether it is policy or guideline are shown beside it."""

    center = models.ForeignKey("tracker.Center", on_delete=models.CASCADE, related_name="policy_settings")
    name = models.CharField(max_length=60, choices=[(name, name) for name in POLICY_FIELDS])
    value = models.CharField(max_length=40, help_text="A number; an urgency label for trend_urgency; a time like 20:00 for the *_local_time policies.")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["center", "name"], name="policy_setting_unique")]

    def __str__(self) -> str:
        return f"{self.center}: {self.name} = {self.value}"

    @property
    def published_default(self):
        return POLICY_FIELDS.get(self.name, (None, "", ""))[0]

    @property
    def source(self) -> str:
        return POLICY_FIELDS.get(self.name, (None, "", ""))[1]

    def typed_value(self):
        default = self.published_default
        if isinstance(default, str):
            return self.value.strip()
        try:
            number = float(self.value)
        except ValueError:
            raise ValidationError({"value": f"{self.name} needs a number."}) from None
        if isinstance(default, float):
            return number
        if not number.is_integer():
            raise ValidationError({"value": f"{self.name} needs a whole number."})
        return int(number)

    def clean(self):
        if self.name not in POLICY_FIELDS:
            raise ValidationError({"name": "Unknown policy."})
        value = self.typed_value()
        if isinstance(value, (int, float)) and value < 0:
            raise ValidationError({"value": "Must not be negative."})
        if isinstance(value, str):
            try:
                Policy(**{self.name: value})
            except ValueError as exc:
                raise ValidationError({"value": str(exc)}) from None
