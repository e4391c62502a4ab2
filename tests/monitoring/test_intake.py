"""monitoring.services.intake: one check-in stored, graded, audited and answered in one transaction, and what
that costs in queries; the answer's fields documented in the OpenAPI schema."""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import yaml
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from monitoring.models import CheckinAssessment
from monitoring.services.intake import IntakeResult, checkin_submit
from tests.monitoring.support import CAR_T_NORMAL, CHECKINS
from tracker.models import ApiToken, AuditEvent, CheckIn

QUIET = {**CAR_T_NORMAL, "heart_rate": 80}
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK")


def _token_client(user) -> APIClient:
    token, raw = ApiToken.issue(user)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())  # steady state: no last-use write
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def _statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if not q["sql"].upper().startswith(TRANSACTION_CONTROL)]


def _earlier_checkins(patient, count: int) -> None:
    now = timezone.now()
    for hours in range(count):
        at = now - dt.timedelta(hours=hours + 1)
        CheckIn.objects.create(patient=patient, entered_by=patient.user, entered_role="patient", channel="api",
                               recorded_at=at, local_date=timezone.localtime(at, patient.tz).date(),
                               temperature_c=Decimal("37.0"))


@pytest.mark.parametrize("history", [0, 30])
def test_a_quiet_checkin_costs_six_queries_with_token_authentication(patient, history):
    """The token; the patient found among those the user may see and locked, with the center, its policy,
    whether a follow-up is open, the active courses with their therapies and the driving windows (one query);
    the check-in INSERT; the recent check-ins; the assessment INSERT; the audit row. Whatever the history."""
    _earlier_checkins(patient, history)
    client = _token_client(patient.user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(CHECKINS, QUIET, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["urgency"] == "none"
    statements = _statements(ctx)
    assert len(statements) == 6, "\n".join(statements)
    assert [sql.split()[0] for sql in statements] == ["SELECT", "SELECT", "INSERT", "SELECT", "INSERT", "INSERT"]
    assert "FOR NO KEY UPDATE" in statements[1] and '"tracker_treatmentcourse"' in statements[1]
    assert AuditEvent.objects.filter(action="create", patient=patient, status_code=201).count() == 1


def test_the_checkin_context_read_with_the_lock_is_what_separate_queries_read(patient, nurse):
    """The courses (with their therapies), driving windows and policy that come as JSON with the lock are the
    rows the plain querysets give."""
    from monitoring.models import PolicySetting, Window, WindowKind
    from monitoring.services.context import checkin_context
    from tracker.selectors import active_courses

    PolicySetting.objects.create(center=patient.center, name="checkin_interval_days", value="2", changed_by=nurse,
                                 reason="test")
    with transaction.atomic():
        context = checkin_context(patient.pk)
    plain = active_courses(patient)
    assert [(c.pk, c.start_date, c.status, c.therapy_id) for c in context.courses] == \
        [(c.pk, c.start_date, c.status, c.therapy_id) for c in plain]
    assert [vars_of(c.therapy) for c in context.courses] == [vars_of(c.therapy) for c in plain]
    windows = Window.objects.filter(course__patient=patient, kind=WindowKind.DRIVING)
    assert windows and sorted(vars_of(w) for w in context.driving_windows) == sorted(vars_of(w) for w in windows)
    assert context.policy.checkin_interval_days == 2


def vars_of(instance) -> str:
    return repr({f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields})


@pytest.mark.django_db(transaction=True)
def test_a_quiet_checkin_is_one_commit_with_its_audit_row(team_a, monkeypatch):
    """The check-in, its assessment and the audit row are written in one transaction: one commit, and no
    write outside it."""
    from tests.factories import CourseFactory, PatientFactory
    from tracker.catalogue import sync_catalogue
    from tracker.models import Therapy

    sync_catalogue(Therapy)  # a transactional test may follow one that emptied the tables
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient)
    client = _token_client(patient.user)
    commits, writes_outside = [], []
    real_commit = connection.commit

    def counting_commit():
        commits.append(1)
        real_commit()

    def watch(execute, sql, params, many, context):
        if not connection.in_atomic_block and not sql.lstrip().upper().startswith("SELECT"):
            writes_outside.append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(connection, "commit", counting_commit)
    with connection.execute_wrapper(watch):
        response = client.post(CHECKINS, QUIET, format="json")
    assert response.status_code == 201, response.json()
    assert len(commits) == 1
    assert writes_outside == []
    assert AuditEvent.objects.filter(action="create", patient=patient, status_code=201).count() == 1
    assert CheckinAssessment.objects.filter(checkin__patient=patient).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_quiet_checkin_from_the_page_is_one_commit_with_its_audit_row(team_a, monkeypatch):
    """The check-in page stores, grades and audits in one transaction too, with the unit the person used: one
    commit for all of it, no write outside it. (The session's own commit, its last-activity time, is the
    sign-in's business and the only other one.)"""
    from django.test import Client

    from tests.factories import CourseFactory, PatientFactory
    from tests.monitoring.support import form_post
    from tracker.catalogue import sync_catalogue
    from tracker.models import Therapy

    sync_catalogue(Therapy)
    patient = PatientFactory(care_team=team_a)
    CourseFactory(patient=patient)
    client = Client()
    client.force_login(patient.user)
    url = f"/patients/{patient.uuid}/checkin/"
    form = client.get(url).content.decode()
    transactions: list[list[str]] = [[]]
    writes_outside = []
    real_commit = connection.commit

    def counting_commit():
        transactions.append([])
        real_commit()

    def watch(execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(("SELECT", *TRANSACTION_CONTROL)):
            (transactions[-1] if connection.in_atomic_block else writes_outside).append(sql)
        return execute(sql, params, many, context)

    monkeypatch.setattr(connection, "commit", counting_commit)
    with connection.execute_wrapper(watch):
        response = client.post(url, form_post(form, temperature="37.0", temperature_unit="C", heart_rate="80"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert writes_outside == []
    committed = [" ".join(sqls) for sqls in transactions[:-1]]
    with_checkin = [sqls for sqls in committed if 'INSERT INTO "tracker_checkin"' in sqls]
    assert len(with_checkin) == 1
    for table in ("tracker_auditevent", "monitoring_checkinassessment"):
        assert f'INSERT INTO "{table}"' in with_checkin[0]
    assert 'UPDATE "tracker_patient" SET "temperature_unit"' in with_checkin[0]
    others = [sqls for sqls in committed if sqls is not with_checkin[0]]
    assert all("django_session" in sqls and "tracker_" not in sqls and "monitoring_" not in sqls for sqls in others)
    assert AuditEvent.objects.filter(action="create", patient=patient, status_code=302).count() == 1
    assert CheckinAssessment.objects.filter(checkin__patient=patient).count() == 1


def test_a_refused_checkin_is_still_audited_by_the_middleware(as_user, patient):
    """The audit row written with the check-in goes when the transaction rolls back; the middleware writes
    the one for the answer given."""
    response = as_user(patient.user).post(CHECKINS, {**QUIET, "recorded_at": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    assert not CheckIn.objects.exists()
    assert list(AuditEvent.objects.values_list("status_code", flat=True)) == [400]


def test_the_service_answers_a_frozen_result(patient):
    result = checkin_submit(patient=patient, entered_by=patient.user, channel="api",
                            values={"temperature_c": Decimal("38.5"), "heart_rate": 90})
    assert isinstance(result, IntakeResult)
    assert result.urgency == "urgent" and result.instruction
    assert [a.condition for a in result.alerts] == [f["condition"] for f in result.findings]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.urgency = "none"  # type: ignore[misc]


def test_the_schema_documents_what_a_checkin_answers(client):
    """urgency, instruction, findings and alerts are in the 201 answer of POST /api/v1/checkins/ and of a
    correction, as the server sends them."""
    schema = yaml.safe_load(client.get("/api/schema/").content)
    components = schema["components"]["schemas"]
    for path in ("/api/v1/checkins/", "/api/v1/checkins/{id}/amend/"):
        created = schema["paths"][path]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
        body = components[created["$ref"].rsplit("/", 1)[-1]]
        properties = body["properties"]
        for name in ("urgency", "instruction", "findings", "alerts", "id", "temperature_c"):
            assert name in properties, (path, name)
            assert name in body["required"], (path, name)
    result = components["CheckInResult"]["properties"]
    assert components[result["urgency"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]]["enum"] == [
        "none", "routine", "same-day", "urgent", "emergency"]
    finding = components[result["findings"]["items"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert {"condition", "urgency", "rule_id", "source", "evidence"} <= set(finding)
    alert = components[result["alerts"]["items"]["$ref"].rsplit("/", 1)[-1]]["properties"]
    assert set(alert) == {"id", "condition", "urgency", "status"}
