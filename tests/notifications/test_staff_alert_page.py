"""/staff/alerts/<uuid>/: where every message links. It shows who was told, on which channel, with what
status and how many attempts; a team nurse acknowledges and resolves there (a resolution note is required);
other teams and patients get 404. Through the full stack with the test client."""


import pytest

from monitoring.models import Alert, AlertEvent
from notifications.channels import DeliveryError
from notifications.models import PagingWebhook
from tests.notifications.notif_support import (
    FEVER_AND_DIZZY,
    HOOK_SECRET,
    HOOK_URL,
    post_checkin,
    reachable,
    signed_in,
)


@pytest.fixture
def alert(as_user, patient, nurse, team_a, outside_calls, eager_tasks, django_capture_on_commit_callbacks):
    """An emergency alert (clinical-rules §1: fever plus dizziness after CAR T) whose page was refused."""
    reachable(nurse, first="Nina", last="Park", email="nina@example.test")
    PagingWebhook.objects.create(team=team_a, url=HOOK_URL, secret=HOOK_SECRET)
    outside_calls.fail_for_url[HOOK_URL] = DeliveryError(f"HTTP 400 from {HOOK_URL}", permanent=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_checkin(as_user(patient.user), **FEVER_AND_DIZZY).status_code == 201
    return Alert.objects.get()


def url(alert, action=""):
    return f"/staff/alerts/{alert.uuid}/" + (f"{action}/" if action else "")


def _rows(html: str) -> list[str]:
    section = html.split("Who was notified", 1)[1].split("</table>", 1)[0]
    return [row for row in section.split("<tr>")[2:]]


def test_page_shows_who_was_notified_on_which_channel_with_status_and_attempts(alert, nurse):
    response = signed_in(nurse).get(url(alert))
    assert response.status_code == 200
    html = response.content.decode()
    rows = _rows(html)
    assert len(rows) == 4
    by_channel = {}
    for row in rows:
        for label in ("In-app inbox", "Email", "SMS", "Paging webhook"):
            if f"<td>{label}</td>" in row:
                by_channel[label] = row
    assert set(by_channel) == {"In-app inbox", "Email", "SMS", "Paging webhook"}
    for label in ("In-app inbox", "Email", "SMS"):
        assert "Nina Park" in by_channel[label]
        assert "<td>Sent</td>" in by_channel[label]
        assert "<td>1</td>" in by_channel[label]  # attempts
    hook_row = by_channel["Paging webhook"]
    assert "paging webhook" in hook_row
    assert "<td>Failed</td>" in hook_row and "HTTP 400" in hook_row and "<td>1</td>" in hook_row


def test_page_says_nobody_was_notified_when_no_row_exists(as_user, patient, nurse):
    post_checkin(as_user(patient.user), **FEVER_AND_DIZZY)  # the fast path never ran
    html = signed_in(nurse).get(url(Alert.objects.get())).content.decode()
    assert "Nobody has been notified yet." in html


def test_team_nurse_acknowledges_then_resolves_through_the_page(alert, nurse):
    client = signed_in(nurse)
    response = client.post(url(alert, "acknowledge"), {"note": "Calling the patient"})
    assert response.status_code == 302 and response["Location"] == url(alert)
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == nurse
    assert alert.next_escalation_at is None
    html = client.get(url(alert)).content.decode()
    assert "acknowledged by Nina Park" in html

    response = client.post(url(alert, "resolve"), {"note": "Sent to the emergency department by ambulance"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_by == nurse
    assert alert.resolution_note == "Sent to the emergency department by ambulance"
    kinds = list(alert.events.values_list("kind", flat=True))
    assert kinds[-2:] == [AlertEvent.Kind.ACKNOWLEDGED, AlertEvent.Kind.RESOLVED]


def test_resolving_with_an_empty_note_re_renders_the_page_with_an_error(alert, nurse):
    response = signed_in(nurse).post(url(alert, "resolve"), {"note": "   "})
    assert response.status_code == 400
    html = response.content.decode()
    assert "A resolution note is required." in html
    assert "Who was notified" in html
    alert.refresh_from_db()
    assert alert.status == "open"
    assert not alert.events.filter(kind=AlertEvent.Kind.RESOLVED).exists()


def test_acknowledging_twice_is_a_conflict_shown_on_the_page(alert, nurse, charge_nurse):
    signed_in(nurse).post(url(alert, "acknowledge"))
    response = signed_in(charge_nurse).post(url(alert, "acknowledge"))
    assert response.status_code == 409
    assert "already acknowledged" in response.content.decode()


def test_nurse_of_another_team_gets_404(alert, other_nurse):
    client = signed_in(other_nurse)
    assert client.get(url(alert)).status_code == 404
    assert client.post(url(alert, "acknowledge")).status_code == 404
    assert client.post(url(alert, "resolve"), {"note": "x"}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == "open"


def test_patient_gets_404(alert, patient, caregiver):
    for user in (patient.user, caregiver):
        client = signed_in(user)
        assert client.get(url(alert)).status_code == 404
        assert client.post(url(alert, "acknowledge")).status_code == 404
    assert Alert.objects.get().status == "open"


def test_anonymous_is_sent_to_the_login_page(alert, client):
    response = client.get(url(alert))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_action_is_404(alert, nurse):
    assert signed_in(nurse).post(url(alert, "delete")).status_code == 404
