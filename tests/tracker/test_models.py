"""Database constraints (held by PostgreSQL, not only by Python), the therapy catalogue, the demo data
command and the production settings."""

import contextlib
import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring.management.commands import seed_demo
from tests.factories import CareTeamFactory, CenterFactory, PatientFactory
from tracker.catalogue import all_therapies
from tracker.models import CareTeam, CheckIn, Patient, Role, Therapy, TreatmentCourse, User

BASE_DIR = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def refused():
    """IntegrityError from the database, inside a savepoint so the test's transaction stays usable."""
    with pytest.raises(IntegrityError), transaction.atomic():
        yield


# --- Patients and teams ---------------------------------------------------------------------------------------

def test_mrn_is_unique_within_a_center(team_a):
    PatientFactory(care_team=team_a, mrn="RCC-1")
    duplicate = Patient(center=team_a.center, care_team=team_a, mrn="RCC-1", first_name="A", last_name="B",
                        date_of_birth=dt.date(1970, 1, 1))
    with refused():
        Patient.objects.bulk_create([duplicate])


def test_the_same_mrn_is_allowed_in_two_centers(team_a):
    other_center = CenterFactory(name="Lakeside Hospital", phone_24_7="(555) 010-0200")
    other_team = CareTeamFactory(center=other_center, name="Cellular Therapy")
    PatientFactory(care_team=team_a, mrn="RCC-1")
    PatientFactory(care_team=other_team, mrn="RCC-1")
    assert Patient.objects.filter(mrn="RCC-1").count() == 2


def test_care_team_names_are_unique_within_a_center(team_a):
    with refused():
        CareTeam.objects.bulk_create([CareTeam(center=team_a.center, name=team_a.name)])


def test_user_role_must_be_a_known_role(db):
    with refused():
        User.objects.bulk_create([User(username="ghost", role="wizard")])


def test_course_last_dose_cannot_precede_the_start(patient):
    course = patient.courses.get()
    with refused():
        TreatmentCourse.objects.filter(pk=course.pk).update(last_dose_date=course.start_date - dt.timedelta(days=1))


# --- Check-ins --------------------------------------------------------------------------------------------------

def checkin_row(patient, **values) -> CheckIn:
    now = timezone.now()
    return CheckIn(patient=patient, entered_by=patient.user, entered_role="patient", channel="api",
                   recorded_at=now, local_date=now.date(), **values)


@pytest.mark.parametrize(
    "values",
    [
        {"temperature_c": Decimal("29.9")},
        {"temperature_c": Decimal("45.1")},
        {"heart_rate": 19},
        {"heart_rate": 251},
        {"spo2": 0},
        {"spo2": 101},
        {"systolic_bp": 80, "diastolic_bp": 80},
        {"systolic_bp": 80, "diastolic_bp": 95},
        {"ice_score": 11},
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()),
)
def test_implausible_readings_are_refused_by_the_database(patient, values):
    with refused():
        CheckIn.objects.bulk_create([checkin_row(patient, **values)])
    assert not CheckIn.objects.exists()


@pytest.mark.parametrize(
    "values",
    [
        {"temperature_c": Decimal("30.0")},
        {"temperature_c": Decimal("45.0")},
        {"heart_rate": 20},
        {"heart_rate": 250},
        {"spo2": 1},
        {"spo2": 100},
        {"systolic_bp": 81, "diastolic_bp": 80},
        {"ice_score": 10},
        {},
    ],
    ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) or "nothing",
)
def test_readings_at_the_limits_are_accepted_by_the_database(patient, values):
    CheckIn.objects.bulk_create([checkin_row(patient, **values)])
    assert CheckIn.objects.count() == 1


@pytest.mark.parametrize("values", [{"systolic_bp": 120}, {"diastolic_bp": 80}], ids=["systolic-only", "diastolic-only"])
def test_half_a_blood_pressure_is_refused_by_the_database(patient, values):
    """The pair constraint (checkin_bp_pair_valid) is meant as both numbers or neither, as the API insists."""
    with refused():
        CheckIn.objects.bulk_create([checkin_row(patient, **values)])


def test_diastolic_not_below_systolic_is_refused_by_a_raw_update(patient):
    CheckIn.objects.bulk_create([checkin_row(patient, systolic_bp=120, diastolic_bp=80)])
    with refused():
        CheckIn.objects.update(diastolic_bp=130)
    assert CheckIn.objects.get().diastolic_bp == 80


def test_temperature_out_of_range_is_refused_by_raw_sql(patient):
    from django.db import connection

    CheckIn.objects.bulk_create([checkin_row(patient, temperature_c=Decimal("37.0"))])
    with refused(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {CheckIn._meta.db_table} SET temperature_c = 46.0")
    assert CheckIn.objects.get().temperature_c == Decimal("37.0")


def test_an_amendment_needs_a_reason(patient):
    (original,) = CheckIn.objects.bulk_create([checkin_row(patient)])
    with refused():
        CheckIn.objects.bulk_create([checkin_row(patient, amends=original, amendment_reason="")])
    CheckIn.objects.bulk_create([checkin_row(patient, amends=original, amendment_reason="Typo in pulse")])
    assert CheckIn.objects.filter(amends=original).count() == 1


def test_check_in_uuid_is_unique(patient):
    (first,) = CheckIn.objects.bulk_create([checkin_row(patient)])
    with refused():
        CheckIn.objects.bulk_create([checkin_row(patient, uuid=first.uuid)])


# --- Therapy catalogue (clinical-rules §3, §4) ---------------------------------------------------------------

CAR_T_CODES = {"kymriah", "yescarta", "tecartus", "breyanzi", "abecma", "carvykti", "aucatzyl"}
CHECKPOINT_CODES = {"pembrolizumab", "nivolumab", "cemiplimab", "atezolizumab", "avelumab", "durvalumab",
                    "ipilimumab", "tremelimumab", "nivolumab_relatlimab"}
# clinical-rules §9 monitoring profiles, by therapy class.
PROFILE_CODES = {
    "antibody": {"rituximab", "trastuzumab", "cetuximab", "bevacizumab"},
    "cytokine": {"aldesleukin", "interferon_alfa_2b"},
    "immunomodulator": {"lenalidomide", "pomalidomide", "thalidomide"},
    "oncolytic_virus": {"talimogene_laherparepvec"},
    "intravesical_bcg": {"bcg"},
    "cell_vaccine": {"sipuleucel_t"},
}
ALL_PROFILE_CODES = set().union(*PROFILE_CODES.values())


def test_catalogue_has_exactly_the_seven_car_t_products_and_nine_checkpoint_inhibitors(db):
    assert set(Therapy.objects.filter(therapy_class="car_t").values_list("code", flat=True)) == CAR_T_CODES
    assert set(Therapy.objects.filter(therapy_class="checkpoint").values_list("code", flat=True)) == CHECKPOINT_CODES
    assert Therapy.objects.filter(therapy_class__in=["car_t", "checkpoint"]).count() == 16


def test_catalogue_has_the_section_9_products_by_class_citing_section_9(db):
    for therapy_class, codes in PROFILE_CODES.items():
        assert set(Therapy.objects.filter(therapy_class=therapy_class).values_list("code", flat=True)) == codes
    for therapy in Therapy.objects.filter(code__in=ALL_PROFILE_CODES):
        assert therapy.source == "clinical-rules §9 (US labels, late 2025 copies)"
        assert "clinical-rules §9" in therapy.label_facts
        assert therapy.patient_summary
        assert (therapy.driving_restriction_days, therapy.proximity_days) == (None, None)


@pytest.mark.parametrize("code", sorted(CAR_T_CODES - {"aucatzyl"}))
def test_car_t_products_after_rems_removal_have_14_days_driving_and_proximity(db, code):
    therapy = Therapy.objects.get(code=code)
    assert (therapy.driving_restriction_days, therapy.proximity_days) == (14, 14)
    assert therapy.label_facts_unverified is False
    assert "14 days" in therapy.label_facts


def test_aucatzyl_has_56_days_driving_28_days_proximity_marked_unverified(db):
    therapy = Therapy.objects.get(code="aucatzyl")
    assert (therapy.driving_restriction_days, therapy.proximity_days) == (56, 28)
    assert therapy.label_facts_unverified is True
    assert "unverified" in therapy.label_facts


@pytest.mark.parametrize("code", sorted(CHECKPOINT_CODES))
def test_checkpoint_inhibitors_have_no_driving_or_proximity_period(db, code):
    therapy = Therapy.objects.get(code=code)
    assert therapy.driving_restriction_days is None
    assert therapy.proximity_days is None
    assert therapy.patient_summary


def test_sync_catalogue_command_is_idempotent_and_restores_edited_facts(db):
    Therapy.objects.filter(code="yescarta").update(driving_restriction_days=56)
    call_command("sync_catalogue", stdout=open(os.devnull, "w"))
    call_command("sync_catalogue", stdout=open(os.devnull, "w"))
    assert Therapy.objects.filter(therapy_class__in=["car_t", "checkpoint"]).count() == 16
    assert Therapy.objects.get(code="yescarta").driving_restriction_days == 14


def test_therapies_api_lists_the_catalogue(as_user, nurse):
    body = as_user(nurse).get("/api/v1/therapies/").json()
    assert {row["code"] for row in body} == {entry["code"] for entry in all_therapies()}
    assert {row["code"] for row in body} >= CAR_T_CODES | CHECKPOINT_CODES


# --- seed_demo --------------------------------------------------------------------------------------------------

DEMO_LOGINS = {
    "nurse.cell": Role.NURSE, "nurse.thor": Role.NURSE, "charge.cell": Role.CHARGE_NURSE,
    "dr.cell": Role.PHYSICIAN, "admin": Role.ADMIN, "maria": Role.PATIENT, "robert": Role.PATIENT,
    "david": Role.CAREGIVER, "coord.cell": Role.COORDINATOR, "grace": Role.PATIENT, "luis": Role.PATIENT,
}


def project_row_counts() -> dict[str, int]:
    """Rows per model of the project's apps and the third-party apps it writes to."""
    labels = {"tracker", "monitoring", "notifications", "django_celery_beat"}
    return {
        model._meta.label: model._default_manager.count()
        for config in apps.get_app_configs() if config.label in labels
        for model in config.get_models()
    }


def run_seed():
    call_command("seed_demo", "--force", stdout=open(os.devnull, "w"))


def test_seed_demo_is_idempotent(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the dose windows follow the doses on commit
        run_seed()
    first = project_row_counts()
    assert first["tracker.User"] == len(DEMO_LOGINS)
    assert first["tracker.Patient"] == 4
    assert first["tracker.CheckIn"] == 7
    # Grace (teclistamab): step-up doses 1 and 2, each with its monitoring window, and no driving since SU1.
    assert first["tracker.DoseAdministration"] == 2
    assert first["monitoring.DoseWindow"] == 3
    run_seed()
    assert project_row_counts() == first


def test_seed_demo_creates_the_demo_logins_with_their_roles(db):
    run_seed()
    for username, role in DEMO_LOGINS.items():
        user = User.objects.get(username=username)
        assert user.check_password(seed_demo.DEMO_PASSWORD), username
        assert user.role == role, username
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    maria = Patient.objects.get(user__username="maria")
    assert list(maria.caregivers.values_list("username", flat=True)) == ["david"]
    assert maria.care_team.name == "Cellular Therapy"
    assert Patient.objects.get(user__username="robert").care_team.name == "Thoracic Oncology"
    for username, _first, _last, _role, team in seed_demo.STAFF:
        assert list(User.objects.get(username=username).care_teams.values_list("name", flat=True)) == [team]


def test_seed_demo_history_checkins_are_complete_quiet_days(db):
    run_seed()
    assert CheckIn.objects.count() == 7
    assert all(CheckIn.objects.values_list("is_complete", flat=True))


def test_seed_demo_does_not_reset_a_changed_demo_password(db):
    run_seed()
    nurse = User.objects.get(username="nurse.cell")
    nurse.set_password("a-new-long-password-2026")
    nurse.save()
    run_seed()
    assert User.objects.get(username="nurse.cell").check_password("a-new-long-password-2026")


def test_seed_demo_refuses_to_run_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=open(os.devnull, "w"))
    assert not User.objects.exists()


def test_demo_login_works_through_the_token_api(api, db):
    run_seed()
    response = api.post("/api/v1/auth/token/", {"username": "maria", "password": seed_demo.DEMO_PASSWORD},
                        format="json")
    assert response.status_code == 200


# --- Production settings fail closed -----------------------------------------------------------------------------

def import_production(**env) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(BASE_DIR), **env}
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", "import config.settings.production as s; print('DEBUG', s.DEBUG)"],
        cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60, check=False,
    )


def test_production_settings_refuse_to_load_without_a_secret_key():
    result = import_production(DATABASE_URL="postgres://db/x", REDIS_URL="redis://r:6379/0",
                               DJANGO_ALLOWED_HOSTS="tracker.example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_refuse_an_empty_secret_key():
    result = import_production(DJANGO_SECRET_KEY="", DATABASE_URL="postgres://db/x", REDIS_URL="redis://r:6379/0",
                               DJANGO_ALLOWED_HOSTS="tracker.example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_production_settings_refuse_to_load_without_a_database_url():
    result = import_production(DJANGO_SECRET_KEY="x" * 50, REDIS_URL="redis://r:6379/0",
                               DJANGO_ALLOWED_HOSTS="tracker.example.org")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL" in result.stderr


def test_production_settings_load_with_a_secret_key_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 50 + "\n")
    result = import_production(DJANGO_SECRET_KEY_FILE=str(key_file), DATABASE_URL="postgres://db/x",
                               REDIS_URL="redis://r:6379/0", DJANGO_ALLOWED_HOSTS="tracker.example.org")
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout
