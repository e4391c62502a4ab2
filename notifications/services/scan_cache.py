"""What many rows of one scan share, read once per scan: each center's policy, who is on call per team and
chain role at the scan's moment, each person's notification preferences. A scan takes a few seconds, so
a value read at its start is as current as one read per row (the per-row code read each one at some
moment during the scan too)."""

import datetime as dt
from collections.abc import Iterable

from monitoring.rules.policy import Policy
from monitoring.selectors import policies_for_centers
from notifications.models import NotificationPreference, PagingWebhook
from notifications.services.routing import on_call_by_team, preferences_by_user, webhooks_by_team
from tracker.models import User


class ScanCache:
    """Lookups memoised for one scan at one moment `at`. Each method reads only what it has not read yet,
    in a fixed number of queries however many keys it is asked for."""

    def __init__(self, at: dt.datetime):
        self.at = at
        self._policies: dict[int, Policy] = {}
        self._on_call: dict[tuple[int, str], list[User]] = {}
        self._preferences: dict[int, NotificationPreference | None] = {}
        self._webhooks: dict[int, list[PagingWebhook]] = {}

    def policies(self, center_ids: Iterable[int]) -> dict[int, Policy]:
        ids = set(center_ids)
        missing = ids - self._policies.keys()
        if missing:
            self._policies.update(policies_for_centers(missing))
        return {center_id: self._policies[center_id] for center_id in ids}

    def on_call(self, team_ids: Iterable[int], role: str) -> dict[int, list[User]]:
        ids = set(team_ids)
        missing = {team_id for team_id in ids if (team_id, role) not in self._on_call}
        if missing:
            for team_id, users in on_call_by_team(missing, role, self.at).items():
                self._on_call[team_id, role] = users
        return {team_id: self._on_call[team_id, role] for team_id in ids}

    def preferences(self, user_ids: Iterable[int]) -> dict[int, NotificationPreference | None]:
        """The returned mapping holds every person asked for so far (pass it as `preferences=`)."""
        missing = set(user_ids) - self._preferences.keys()
        if missing:
            self._preferences.update(preferences_by_user(missing))
        return self._preferences

    def webhooks(self, team_ids: Iterable[int]) -> dict[int, list[PagingWebhook]]:
        ids = set(team_ids)
        missing = ids - self._webhooks.keys()
        if missing:
            self._webhooks.update(webhooks_by_team(missing))
        return {team_id: self._webhooks[team_id] for team_id in ids}
