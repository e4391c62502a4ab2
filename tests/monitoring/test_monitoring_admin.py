"""The monitoring admin: alerts are read-only audit rows; center policy is set through policy_set, which
validates the value and keeps the windows in line with it."""

import datetime as dt

import pytest
from django.urls import reverse

from monitoring.models import Alert, PolicySetting, Window
from tests.monitoring.support import CAR_T_NORMAL, post_checkin, signed_in


@pytest.fixture
def alert(as_user, patient):
    post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "temperature": "38.4", "dizzy_or_fainting": True})
    return Alert.objects.get()


def test_alert_changelist_and_detail_load_for_the_admin(admin_user, alert):
    client = signed_in(admin_user)
    changelist = client.get(reverse("admin:monitoring_alert_changelist"))
    assert changelist.status_code == 200
    assert alert.title in changelist.content.decode()
    detail = client.get(reverse("admin:monitoring_alert_change", args=[alert.pk]))
    assert detail.status_code == 200
    body = detail.content.decode()
    assert "crs.fever_with_dizziness" in body
    assert "Opened" in body  # the event inline
    search = client.get(reverse("admin:monitoring_alert_changelist"), {"q": alert.patient.mrn})
    assert search.status_code == 200


def test_alerts_cannot_be_edited_or_added_in_the_admin(admin_user, alert):
    client = signed_in(admin_user)
    assert client.get(reverse("admin:monitoring_alert_add")).status_code == 403
    response = client.post(reverse("admin:monitoring_alert_change", args=[alert.pk]), {"status": "resolved"})
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


def test_policy_setting_changelist_and_add_page_load(admin_user, patient):
    from monitoring.services.policy import policy_set

    policy_set(center=patient.center, name="spo2_min", value="91", user=admin_user)
    client = signed_in(admin_user)
    changelist = client.get(reverse("admin:monitoring_policysetting_changelist"))
    assert changelist.status_code == 200
    assert "spo2_min" in changelist.content.decode()
    assert client.get(reverse("admin:monitoring_policysetting_add")).status_code == 200
    setting = PolicySetting.objects.get()
    assert client.get(reverse("admin:monitoring_policysetting_change", args=[setting.pk])).status_code == 200


def test_adding_a_policy_setting_in_the_admin_saves_it_through_policy_set(admin_user, patient, as_user):
    """clinical-rules §1: SpO2 < 92 % is center policy; a center may set 90."""
    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_add"), {
        "center": patient.center.pk, "name": "spo2_min", "value": "90", "reason": "Local consensus",
    })
    assert response.status_code == 302, response.content.decode()
    setting = PolicySetting.objects.get()
    assert (setting.center, setting.name, setting.value) == (patient.center, "spo2_min", "90")
    assert setting.changed_by == admin_user  # set only by policy_set, not by the form
    assert setting.reason == "Local consensus"
    assert response["Location"] == reverse("admin:monitoring_policysetting_changelist")
    # The rules now use 90 for this center: 91 % without fever is no longer a sign.
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "spo2": 91}).json()
    assert body["urgency"] == "none"
    body = post_checkin(as_user(patient.user), **{**CAR_T_NORMAL, "spo2": 89}).json()
    assert body["urgency"] == "urgent"
    assert "< 90 %" in body["findings"][0]["staff_rationale"]


def test_admin_add_logs_history_for_and_links_to_the_saved_setting(admin_user, patient):
    """The admin's history (LogEntry) and its "was added successfully" link must name the row that
    policy_set saved, not the unsaved form instance."""
    from django.contrib.admin.models import ADDITION, LogEntry

    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_add"), {
        "center": patient.center.pk, "name": "spo2_min", "value": "90", "reason": "",
    }, follow=True)
    assert response.status_code == 200
    setting = PolicySetting.objects.get()
    entry = LogEntry.objects.get(action_flag=ADDITION)
    assert entry.object_id == str(setting.pk)
    message = str(list(response.context["messages"])[0])
    assert reverse("admin:monitoring_policysetting_change", args=[setting.pk]) in message
    assert "/None/" not in message


def test_center_driving_policy_set_in_the_admin_lengthens_windows(admin_user, patient):
    """clinical-rules §3: a center may lengthen the no-driving period."""
    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_add"), {
        "center": patient.center.pk, "name": "center_driving_days", "value": "30", "reason": "Keep 30 days",
    })
    assert response.status_code == 302
    window = Window.objects.get(course__patient=patient, kind="driving")
    assert window.ends_on == window.starts_on + dt.timedelta(days=30)
    assert window.events.last().kind == "policy"
    assert window.events.last().actor == admin_user


def test_changing_a_policy_value_in_the_admin_updates_the_same_row(admin_user, patient):
    from monitoring.services.policy import policy_set

    setting = policy_set(center=patient.center, name="spo2_min", value="91", user=None)
    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_change", args=[setting.pk]), {
        "center": patient.center.pk, "name": "spo2_min", "value": "90", "reason": "Lowered",
    })
    assert response.status_code == 302
    assert PolicySetting.objects.count() == 1
    setting.refresh_from_db()
    assert (setting.value, setting.changed_by, setting.reason) == ("90", admin_user, "Lowered")


@pytest.mark.parametrize(("name", "value", "message"), [
    ("spo2_min", "abc", "spo2_min needs a number."),
    ("spo2_min", "-1", "Must not be negative."),
    ("spo2_min", "90.5", "spo2_min needs a whole number."),
    ("trend_urgency", "soon", "unknown urgency"),
])
def test_invalid_policy_value_shows_a_form_error_and_saves_nothing(admin_user, patient, name, value, message):
    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_add"), {
        "center": patient.center.pk, "name": name, "value": value, "reason": "",
    })
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "value" in form.errors
    assert message in " ".join(form.errors["value"])
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not PolicySetting.objects.exists()


def test_renaming_a_policy_setting_in_the_admin_does_not_leave_the_old_value_in_force(admin_user, patient):
    """Editing a row must change that row, never add a second setting beside the old one: the policy name
    is read-only once saved, so a posted name is ignored and only the value changes."""
    from monitoring.services.policy import policy_set

    setting = policy_set(center=patient.center, name="spo2_min", value="91", user=None)
    client = signed_in(admin_user)
    response = client.post(reverse("admin:monitoring_policysetting_change", args=[setting.pk]), {
        "center": patient.center.pk, "name": "heart_rate_max", "value": "90", "reason": "Back to 90",
    })
    assert response.status_code == 302
    assert list(PolicySetting.objects.values_list("pk", "name", "value")) == [(setting.pk, "spo2_min", "90")]
