"""Fixtures shared by the notification tests."""

import pytest

from notifications.models import PagingWebhook
from tests.notifications.notif_support import HOOK_SECRET, HOOK_URL, reachable


@pytest.fixture
def staff(nurse, charge_nurse, physician, team_a):
    """The team's escalation chain, each reachable by email and SMS, and the team's paging webhook."""
    for user in (nurse, charge_nurse, physician):
        reachable(user)
    PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)
    return nurse, charge_nurse, physician
