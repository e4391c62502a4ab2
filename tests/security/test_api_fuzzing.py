"""Fuzz every operation of the API's own OpenAPI schema with Schemathesis, inside pytest.

The schema is the one the project serves (GET /api/schema/), loaded with `schemathesis.openapi.from_wsgi`
against the project's WSGI application, which runs in-process on the test's database connection. The
fuzzer signs in as a nurse of team A with a real API token; team A has a patient, a check-in, an alert and
a no-driving window. Each operation that names a record (an `{id}` in the path, a `patient` in the query or
body, credentials) is fuzzed both with generated values and with team A's real ones, so the generated bodies
and queries reach the views' logic and not only their 404 or 400.

Per operation: positive and negative data, a fixed budget of examples, derandomized (the same examples on
every run), no deadline, no shrinking. Each example runs in a savepoint that is rolled back, so every
example sees the same records (an alert acknowledged by one example is open again for the next) and a
database error in one cannot poison the rest. Checks: no 5xx, and the response conforms to the schema
(status code documented, content type, headers and body as described). Every distinct failure of an
operation is collected and reported together, with the first example that showed it.

Nothing is excluded: `DELETE /api/v1/auth/token/` revokes the token the fuzzer signs in with, but the
rollback undoes the revocation; its effect is checked on its own below, with the other responses the fuzzer
cannot reach (a second acknowledgement, a physician's clearance, the patient's own export). Rate limits are
raised so that a 429 does not mask what the fuzzer finds. Two kinds of input the generators do not reach are
sent through the same checks: JSON nested far deeper than the parser takes, to every write, and `recorded_at`
at the ends of the calendar (year 1, 9999), far back, or before the patient's course started.
"""

import datetime as dt
import re
from contextlib import contextmanager

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

from config.wsgi import application
from tests.security.authz_support import PASSWORD, team_a_records
from tracker.models import ApiToken

SCHEMA_URL = "/api/schema/"
EXAMPLES_PER_BRANCH = 20  # per operation: positive and negative, each with generated and with real ids
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
RATES = {"login": "100000/min", "checkin": "100000/min", "amend": "100000/min", "readings": "100000/min"}

# The operations to fuzz, from the same generator the schema view uses (no database needed at collection).
# `test_the_served_schema_has_exactly_the_fuzzed_operations` keeps this list honest against GET /api/schema/.
_GENERATED = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = sorted(
    (method.upper(), path) for path, item in _GENERATED["paths"].items() for method in item
    if method in ("get", "post", "put", "patch", "delete")
)
# `{id}` names the record of the path segment before it.
RECORD_OF_SEGMENT = {"patients": "patient", "checkins": "checkin", "alerts": "alert", "windows": "window",
                     "courses": "course", "dose-windows": "dose_window"}
# Query and body fields that name a record or an identity: the "real" branch puts team A's values in them.
REAL_FIELDS = ("patient", "username", "password")


@contextmanager
def on_the_test_connection():
    """Django's WSGI handler closes the database connection around each request (request_started and
    request_finished); inside a test that would drop the test's transaction. Like the test client, keep the
    connection for the duration of a call (the test client reconnects the handlers after each of its own)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def unthrottled(settings, monkeypatch):
    """DRF copies the rates into SimpleRateThrottle when imported: set the setting and the class attribute."""
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)


@pytest.fixture
def fuzz_target(db, unthrottled, patient, other_patient, nurse):
    """The served schema; team A's records; the nurse's token. Team B (other_patient) exists too."""
    records = team_a_records(patient)
    with on_the_test_connection():
        schema = schemathesis.openapi.from_wsgi(
            SCHEMA_URL, application, headers={"Accept": "application/vnd.oai.openapi+json"})
    real = {"patient": str(records.patient.uuid), "username": nurse.username, "password": PASSWORD}
    return schema, records, real, token_header(nurse)


def token_header(user) -> dict:
    _token, raw = ApiToken.issue(user)
    return {"Authorization": f"Token {raw}"}


def _describe(case) -> str:
    """The request, as sent (with the signed-in token in place of any generated Authorization header)."""
    parts = [f"{case.method} {case.formatted_path}"]
    for name in ("query", "headers", "cookies", "body"):
        value = getattr(case, name, None)
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k.lower() != "authorization"}
        if value not in (None, {}) and type(value).__name__ != "NotSet":
            parts.append(f"{name}={value!r}"[:300])
    return " ".join(parts)


def _input_fields(method: str, path: str) -> tuple[set[str], set[str]]:
    """Names of the operation's query parameters and of its JSON body's properties, from the schema."""
    operation = _GENERATED["paths"][path][method.lower()]
    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = _GENERATED["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    return query, set(body.get("properties", {}))


def _with_real_values(real: dict, query_fields: set[str], body_fields: set[str]):
    """Steer a case to team A's records: fill the fields that name one (a `patient`, credentials) with the
    real values, and keep a JSON object body to the properties the schema names (the serializers refuse
    unknown fields, which the schema does not say), so that valid cases can succeed."""
    def put(case):
        if isinstance(case.query, dict):
            case.query.update({name: real[name] for name in query_fields & set(REAL_FIELDS) if name in case.query})
        if isinstance(case.body, dict):
            case.body = {k: v for k, v in case.body.items() if k in body_fields}
            case.body.update({name: real[name] for name in body_fields & set(REAL_FIELDS)})
        return case

    return put


def _other_parameters(path: str, records) -> dict:
    """Team A's values for the path parameters after `{id}`: her dose, her patch, its key's prefix."""
    parameters = {}
    if "{dose_id}" in path:
        parameters["dose_id"] = str(records.dose.uuid)
    if "{device_id}" in path:
        parameters["device_id"] = str(records.device.uuid)
    if "{prefix}" in path:
        parameters["prefix"] = records.device_key_prefix
    return parameters


# Device readings are sent with a device's key, not a person's token (monitoring/api/readings.py).
DEVICE_PATHS = {"/api/v1/readings/"}


def auth_for(path: str, records, auth: dict) -> dict:
    return {"Authorization": f"Device {records.device_key}"} if path in DEVICE_PATHS else auth


def _branches(operation, records, real: dict):
    """(label, generation mode, fixed path parameters, strategy transform): positive and negative data,
    each with generated values and, when the operation names a record (an `{id}` in the path, a `patient`
    or credentials in the query or body), with team A's real ones. Negative data needs something to break: a
    branch whose only input is a fixed id, or an operation without input, has no negative cases."""
    branches = [("generated values", None, None)]
    fixed = None
    if "{id}" in operation.path:
        segment = operation.path.split("{id}")[0].rstrip("/").rsplit("/", 1)[-1]
        record = RECORD_OF_SEGMENT.get(segment)
        assert record is not None, f"{operation.path}: no team A record for its {{id}}; add one to RECORD_OF_SEGMENT"
        fixed = {"id": str(getattr(records, record).uuid)}
        fixed.update(_other_parameters(operation.path, records))
    query_fields, body_fields = _input_fields(operation.method, operation.path)
    named = (query_fields | body_fields) & set(REAL_FIELDS)
    if fixed or named:
        branches.append(("team A's " + ", ".join(["id"] * bool(fixed) + sorted(named)), fixed,
                         _with_real_values(real, query_fields, body_fields)))
    for label, parameters, transform in branches:
        yield f"positive, {label}", GenerationMode.POSITIVE, parameters, transform
    for label, parameters, transform in branches:
        if operation.query or operation.body or (operation.path_parameters and parameters is None):
            yield f"negative, {label}", GenerationMode.NEGATIVE, parameters, transform


def _failure_key(failure: Failure, status: int) -> tuple:
    """Distinct failures: by kind, status code and, for a body mismatch, the schema location it breaks."""
    where = re.search(r"Schema at (\S+?):?\n", failure.message)
    return failure.title, status, where.group(1) if where else ""


def _record(failures: dict, exc: BaseException, status: int, context: str) -> None:
    for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
        failures.setdefault(_failure_key(failure, status),
                            f"{failure.title} (HTTP {status}) {context}\n      {failure.message.strip()[:500]}")


def call_and_check(case, auth: dict, failures: dict, label: str, *, rollback: bool = True):
    """One request (in a rolled-back savepoint unless asked otherwise); every failed check is recorded once,
    with the first example that showed it."""
    with on_the_test_connection(), transaction.atomic():
        response = case.call(headers=auth)
        transaction.set_rollback(rollback)
    try:
        case.validate_response(response, checks=CHECKS, headers=auth)
    except (Failure, FailureGroup) as exc:
        _record(failures, exc, response.status_code, f"[{label}] after {_describe(case)}")
    return response


def _report(title: str, failures: dict) -> str:
    return f"{title}: {len(failures)} distinct failure(s):\n" + "\n".join(f"  - {f}" for f in failures.values())


def fuzz_branch(operation, mode, parameters, transform, auth: dict, failures: dict, label: str) -> None:
    strategy = operation.as_strategy(mode, path_parameters=parameters)
    if transform is not None:
        strategy = strategy.map(transform)

    @hypothesis_settings(max_examples=EXAMPLES_PER_BRANCH, derandomize=True, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate],
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                HealthCheck.data_too_large])
    @given(case=strategy)
    def fuzz(case):
        call_and_check(case, auth, failures, label)

    fuzz()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_api_operation_survives_fuzzing_and_matches_its_schema(fuzz_target, method, path):
    schema, records, real, auth = fuzz_target
    auth = auth_for(path, records, auth)
    operation = schema[path][method]
    failures: dict[tuple, str] = {}
    for label, mode, parameters, transform in _branches(operation, records, real):
        fuzz_branch(operation, mode, parameters, transform, auth, failures, label)
    assert not failures, _report(f"{method} {path}", failures)


# --- What the rollback or the nurse's role keeps the fuzzer from reaching ---------------------------------------

RESOLVE_NOTE = {"note": "Called the patient; fever settled with paracetamol."}
# name -> (who, method, path, the record its {id} is, body, expected statuses of successive calls)
SEQUENCES = {
    "acknowledging twice": ("nurse", "POST", "/api/v1/alerts/{id}/acknowledge/", "alert", {}, [200, 409]),
    "resolving twice": ("nurse", "POST", "/api/v1/alerts/{id}/resolve/", "alert", RESOLVE_NOTE, [200, 409]),
    "a physician clears the window": ("physician", "POST", "/api/v1/windows/{id}/clear/", "window",
                                      {"reason": "Neurology review: no deficits."}, [200]),
    "the patient exports their record": ("patient", "GET", "/api/v1/patients/{id}/export/", "patient", None, [200]),
    "the token is revoked": ("nurse", "DELETE", "/api/v1/auth/token/", None, None, [204, 401]),
}


@pytest.mark.parametrize("name", SEQUENCES)
def test_responses_the_fuzzer_cannot_reach_answer_as_the_schema_says(request, fuzz_target, name):
    who, method, path, record, body, expected = SEQUENCES[name]
    schema, records, _real, _auth = fuzz_target
    user = request.getfixturevalue(who)
    auth = token_header(user.user if who == "patient" else user)
    operation = schema[path][method]
    failures: dict[tuple, str] = {}
    statuses = []
    for attempt in range(1, len(expected) + 1):
        case = operation.Case(
            path_parameters={"id": str(getattr(records, record).uuid)} if record else {},
            **({"body": body, "media_type": "application/json"} if body is not None else {}),
        )
        response = call_and_check(case, auth, failures, f"{who}, call {attempt}", rollback=False)
        statuses.append(response.status_code)
    assert statuses == expected
    assert not failures, _report(f"{name} ({method} {path})", failures)


def test_the_served_schema_has_exactly_the_fuzzed_operations(fuzz_target):
    """Nothing is left out: the operations parametrized above are those GET /api/schema/ describes."""
    schema, _records, _real, _auth = fuzz_target
    served = sorted((op.method.upper(), op.path) for op in (r.ok() for r in schema.get_all_operations()))
    assert served == OPERATIONS


def test_deleting_the_token_revokes_it_and_the_next_call_is_401(db, nurse):
    """DELETE /api/v1/auth/token/ is fuzzed inside rolled-back savepoints; here its effect stays."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=token_header(nurse)["Authorization"])
    assert client.get("/api/v1/me/").status_code == 200
    assert client.delete("/api/v1/auth/token/").status_code == 204
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["type"] == "authentication_failed"
    assert client.delete("/api/v1/auth/token/").status_code == 401


# --- Inputs the generators do not reach: very deep JSON, times at the ends of the calendar ------------------------

WRITES = [(method, path) for method, path in OPERATIONS if method in ("POST", "PUT", "PATCH")]
TOO_DEEP = 500  # far past the parser's limit (tracker.api.parsers.MAX_DEPTH), still encodable by the client


def _deep(depth: int):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _path_parameters(path: str, records) -> dict:
    if "{id}" not in path:
        return {}
    segment = path.split("{id}")[0].rstrip("/").rsplit("/", 1)[-1]
    return {"id": str(getattr(records, RECORD_OF_SEGMENT[segment]).uuid), **_other_parameters(path, records)}


@pytest.mark.parametrize(("method", "path"), WRITES, ids=[f"{m} {p}" for m, p in WRITES])
def test_deeply_nested_json_is_400_as_the_schema_says(fuzz_target, method, path):
    schema, records, _real, auth = fuzz_target
    auth = auth_for(path, records, auth)
    operation = schema[path][method]
    failures: dict[tuple, str] = {}
    for label, body in (("nested lists", _deep(TOO_DEEP)), ("nested in a field", {"note": _deep(TOO_DEEP)}),
                        ("nested objects", {"reason": {"a": {"b": {"c": _deep(TOO_DEEP)}}}})):
        case = operation.Case(path_parameters=_path_parameters(path, records), body=body,
                              media_type="application/json")
        response = call_and_check(case, auth, failures, label)
        assert response.status_code == 400, f"{label}: {response.status_code}"
        assert response.json()["type"] == "parse_error"
    assert not failures, _report(f"{method} {path}", failures)


def _extreme_times(records) -> dict[str, str]:
    course_start = records.patient.courses.order_by("start_date").first().start_date
    day_before = dt.datetime.combine(course_start - dt.timedelta(days=1), dt.time(12), tzinfo=records.patient.tz)
    return {
        "year 1": "0001-01-01T00:00:00Z", "year 1 with an offset": "0001-01-01T00:00:00+05:00",
        "year 1 without an offset": "0001-01-01T00:00:00",
        "year 9999": "9999-12-31T23:59:59Z", "year 9999 with an offset": "9999-12-31T23:59:59-05:00",
        "far past": "1970-01-01T00:00:00Z", "years back": "2015-06-01T12:00:00+02:00",
        "before the course started": day_before.isoformat(),
    }


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/checkins/"), ("POST", "/api/v1/checkins/{id}/amend/")])
def test_recorded_at_outside_the_window_is_400_naming_it_as_the_schema_says(fuzz_target, method, path):
    schema, records, real, auth = fuzz_target
    operation = schema[path][method]
    failures: dict[tuple, str] = {}
    base = {"patient": real["patient"]} if path == "/api/v1/checkins/" else {"reason": "Wrong time"}
    for label, when in _extreme_times(records).items():
        case = operation.Case(path_parameters=_path_parameters(path, records),
                              body={**base, "temperature": "39.6", "heart_rate": 135, "recorded_at": when},
                              media_type="application/json")
        response = call_and_check(case, auth, failures, label)
        assert response.status_code == 400, f"{label}: {response.status_code} {response.text[:200]}"
        assert list(response.json()["fields"]) == ["recorded_at"], label
    assert not failures, _report(f"{method} {path}", failures)
