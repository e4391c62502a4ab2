from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The first answer to a write sent with an `Idempotency-Key` (or a check-in's own `id`), kept so that a
    retry of the same request gets the same answer and changes nothing (tracker/idempotency.py). Written in
    the transaction of the write itself: if one is stored, so is the other."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    route = models.CharField(max_length=200, help_text="The method and path the key was first used with.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body as parsed.")
    status_code = models.PositiveSmallIntegerField(default=0)
    response = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]

    def __str__(self) -> str:
        return f"{self.route} ({self.key})"
