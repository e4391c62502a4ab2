"""Center policy for the rules engine: published defaults, overridden per center in the admin. Reading a
center's policy is a selector (`monitoring.selectors.policy_for_center`); setting one value is here."""

from django.db import transaction
from django.utils import timezone

from monitoring.models import PolicySetting
from monitoring.services.windows import windows_apply_center_policy
from tracker.models import Center, User


@transaction.atomic
def policy_set(*, center: Center, name: str, value: str, user: User | None, reason: str = "") -> PolicySetting:
    """Set one policy value for a center, then bring its windows in line with it."""
    setting, _ = PolicySetting.objects.get_or_create(center=center, name=name, defaults={"value": value})
    setting.value, setting.changed_by, setting.changed_at, setting.reason = value, user, timezone.now(), reason
    setting.full_clean()
    setting.save()
    windows_apply_center_policy(center=center, user=user)
    return setting
