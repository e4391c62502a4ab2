"""Center policy for the rules engine: published defaults, overridden per center in the admin."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from monitoring.models import PolicySetting
from monitoring.rules.policy import Policy
from tracker.models import Center, User


def policy_for_center(center: Center) -> Policy:
    return policies_for_centers([center.pk])[center.pk]


def policy_from_settings(rows: Iterable[dict]) -> Policy:
    """The Policy of a center's settings given as {"name", "value"} rows (published defaults for the rest)."""
    return Policy(**{row["name"]: PolicySetting(name=row["name"], value=row["value"]).typed_value() for row in rows})


def policies_for_centers(center_ids: Iterable[int]) -> dict[int, Policy]:
    """`policy_for_center` for many centers in one query: center id -> Policy."""
    ids = set(center_ids)
    values: dict[int, dict] = {center_id: {} for center_id in ids}
    if ids:
        for setting in PolicySetting.objects.filter(center_id__in=ids):
            values[setting.center_id][setting.name] = setting.typed_value()
    return {center_id: Policy(**named) for center_id, named in values.items()}


@transaction.atomic
def policy_set(*, center: Center, name: str, value: str, user: User | None, reason: str = "") -> PolicySetting:
    """Set one policy value for a center, then bring its windows in line with it."""
    setting, _ = PolicySetting.objects.get_or_create(center=center, name=name, defaults={"value": value})
    setting.value, setting.changed_by, setting.changed_at, setting.reason = value, user, timezone.now(), reason
    setting.full_clean()
    setting.save()
    from monitoring.services.windows import windows_apply_center_policy

    windows_apply_center_policy(center=center, user=user)
    return setting
