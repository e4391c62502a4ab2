"""The client's address, and rate limits that neither trust a forged one nor fail when their cache does.

One helper (`tracker.security.client_ip`) names the client: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT
proxies the address the outermost trusted one saw (X-Forwarded-For counted from the right). The token
endpoint's and the sign-in page's per-address limits, django-axes' lockout and the audit rows all use it. The
counters live in the cache; when Redis is down or hung, check-ins still go through (a warning is logged) and
the short socket timeouts of the settings keep a hung Redis from holding a web thread."""

import contextlib
import logging
import socket
import threading

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from config.settings import base as base_settings
from tests.monitoring.support import CAR_T_NORMAL
from tests.security.authz_support import PASSWORD, token_client
from tracker.models import ApiToken, AuditEvent, CheckIn
from tracker.security import client_ip

TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
PROXY = "10.0.0.1"
RATES = {"login": "3/min", "checkin": "30/min", "amend": "30/min"}


@pytest.fixture
def low_login_rate(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def token_attempt(username, *, forwarded=None, remote="198.51.100.4", password=PASSWORD):
    client = APIClient(REMOTE_ADDR=remote, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}))
    return client.post(TOKEN, {"username": username, "password": password}, format="json")


def page_attempt(username, *, forwarded=None, remote="198.51.100.4", password=PASSWORD):
    client = Client(REMOTE_ADDR=remote, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}))
    return client.post(LOGIN, {"username": username, "password": password})


# --- Which address ----------------------------------------------------------------------------------------------

class FakeRequest:
    def __init__(self, remote, forwarded=None):
        self.META = {"REMOTE_ADDR": remote, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {})}


@pytest.mark.parametrize(("count", "remote", "forwarded", "expected"), [
    (0, "203.0.113.9", None, "203.0.113.9"),
    (0, "203.0.113.9", "1.2.3.4", "203.0.113.9"),  # nobody vouches for the header
    (1, PROXY, "203.0.113.9", "203.0.113.9"),
    (1, PROXY, "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # the client wrote 1.2.3.4 itself
    (2, PROXY, "1.2.3.4, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
    (1, PROXY, None, PROXY),  # no header: the proxy's own request
    (1, PROXY, "not-an-address", PROXY),
    (1, PROXY, " 2001:db8::1 ", "2001:db8::1"),
    (0, "not-an-address", None, None),
])
def test_client_ip_counts_trusted_proxies_from_the_right(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(FakeRequest(remote, forwarded)) == expected


def test_the_project_uses_one_helper_everywhere():
    assert django_settings.AXES_CLIENT_IP_CALLABLE == "tracker.security.client_ip"
    assert django_settings.REST_FRAMEWORK["NUM_PROXIES"] == django_settings.TRUSTED_PROXY_COUNT
    from tracker import audit

    assert audit.client_ip is client_ip


# --- The token endpoint -------------------------------------------------------------------------------------------

def test_a_forged_forwarded_address_does_not_buy_more_token_attempts(db, low_login_rate, patient):
    for n in range(3):
        assert token_attempt(patient.user.username, forwarded=f"192.0.2.{n}").status_code == 200
    response = token_attempt(patient.user.username, forwarded="192.0.2.99")
    assert response.status_code == 429
    assert response.json()["type"] == "throttled"


def test_behind_a_proxy_each_client_has_its_own_token_limit(db, low_login_rate, behind_one_proxy, patient):
    for _ in range(3):
        assert token_attempt(patient.user.username, remote=PROXY, forwarded="203.0.113.7").status_code == 200
    # The same client, prepending a forged hop, is still itself.
    assert token_attempt(patient.user.username, remote=PROXY, forwarded="1.1.1.1, 203.0.113.7").status_code == 429
    # Another client through the same proxy is not held back.
    assert token_attempt(patient.user.username, remote=PROXY, forwarded="203.0.113.8").status_code == 200


# --- The sign-in page ---------------------------------------------------------------------------------------------

def test_the_sign_in_page_is_limited_per_address(db, low_login_rate, patient):
    for _ in range(3):
        assert page_attempt(patient.user.username, password="wrong-password-1").status_code == 200
    response = page_attempt(patient.user.username)
    assert response.status_code == 429
    assert "Too many sign-in attempts from this address" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert page_attempt(patient.user.username, remote="198.51.100.5").status_code == 302


def test_the_page_and_the_token_endpoint_share_the_limit(db, low_login_rate, patient):
    assert page_attempt(patient.user.username).status_code == 302
    assert token_attempt(patient.user.username).status_code == 200
    assert page_attempt(patient.user.username).status_code == 302
    assert token_attempt(patient.user.username).status_code == 429
    assert page_attempt(patient.user.username).status_code == 429


def test_the_sign_in_page_limit_is_per_client_behind_a_proxy(db, low_login_rate, behind_one_proxy, patient):
    for _ in range(3):
        page_attempt(patient.user.username, remote=PROXY, forwarded="203.0.113.7", password="wrong-password-1")
    assert page_attempt(patient.user.username, remote=PROXY, forwarded="203.0.113.7").status_code == 429
    assert page_attempt(patient.user.username, remote=PROXY, forwarded="203.0.113.8").status_code == 302


# --- The lockout (django-axes) --------------------------------------------------------------------------------------

def test_behind_a_proxy_nobody_can_lock_a_nurse_out_from_elsewhere(db, behind_one_proxy, nurse):
    attacker = "203.0.113.66"
    for n in range(django_settings.AXES_FAILURE_LIMIT + 1):
        # Rotating a forged hop in front does not make the attacker someone new.
        page_attempt(nurse.username, remote=PROXY, forwarded=f"192.0.2.{n}, {attacker}", password="guess-guess-1")
    assert page_attempt(nurse.username, remote=PROXY, forwarded=f"192.0.2.250, {attacker}").status_code == 429
    assert token_attempt(nurse.username, remote=PROXY, forwarded=attacker).status_code == 429
    # The nurse, on the ward's own address behind the same proxy, signs in.
    assert page_attempt(nurse.username, remote=PROXY, forwarded="198.51.100.20").status_code == 302
    assert token_attempt(nurse.username, remote=PROXY, forwarded="198.51.100.20").status_code == 200


# --- The audit trail ----------------------------------------------------------------------------------------------

def test_audit_rows_name_the_client_not_the_proxy_nor_a_forged_hop(db, behind_one_proxy, patient):
    _token, raw = ApiToken.issue(patient.user)
    client = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get(f"/api/v1/patients/{patient.uuid}/").status_code == 200
    assert AuditEvent.objects.get().ip_address == "203.0.113.9"


def test_without_trusted_proxies_audit_rows_ignore_the_forwarded_header(db, patient):
    client = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="6.6.6.6")
    client.force_login(patient.user)
    assert client.get(f"/patients/{patient.uuid}/").status_code == 200
    assert AuditEvent.objects.get().ip_address == "203.0.113.9"


# --- A cache that is down or hung -------------------------------------------------------------------------------

def test_the_redis_cache_has_short_socket_timeouts():
    redis_cache = base_settings.CACHES["default"]
    assert redis_cache["BACKEND"] == "config.cache.RedisCache"  # REDIS_URL is set in tests: Django's, one client per pool
    options = redis_cache["OPTIONS"]
    assert 0 < options["socket_connect_timeout"] <= 0.5
    assert 0 < options["socket_timeout"] <= 0.5


def test_the_redis_cache_keeps_one_client_per_pool_and_still_works():
    """config.cache keeps redis-py's client instead of making one per call; values go through as before."""
    from config.cache import RedisCache

    config = base_settings.CACHES["default"]
    cache = RedisCache(config["LOCATION"], {"OPTIONS": config["OPTIONS"]})
    client = cache._cache  # the backend's RedisCacheClient
    assert client.get_client(write=True) is client.get_client(write=False) is client.get_client("k")
    cache.set("one-client", {"n": 1}, 30)
    assert cache.get("one-client") == {"n": 1}
    assert cache.add("one-client-count", 1, 30) and cache.incr("one-client-count") == 2


def redis_cache_at(port: int) -> dict:
    """The production cache settings (socket timeouts included), pointed at a local port."""
    config = dict(base_settings.CACHES["default"])
    config["LOCATION"] = f"redis://127.0.0.1:{port}/0"
    return {"default": config}


@contextlib.contextmanager
def cache_settings(config):
    with override_settings(CACHES=config):  # Django drops its cache connections on the change
        yield
    caches["default"]  # noqa: B018 (back on the test cache for the fixtures' clean-up)


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


GIVE_UP_SECONDS = 10  # a guard, not a measure: without client timeouts the test fails instead of hanging


@contextlib.contextmanager
def silent_server():
    """A loopback TCP server that accepts connections and never answers: a hung Redis. Should a client wait
    past GIVE_UP_SECONDS (no socket timeout), it closes the connection: the client then sees a closed
    connection, not a timeout, and the test says so."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted, stop = [], threading.Event()

    def serve():
        server.settimeout(0.05)
        while not stop.wait(0):
            try:
                connection, _ = server.accept()
                accepted.append(connection)
                guard = threading.Timer(GIVE_UP_SECONDS, connection.close)
                guard.daemon = True
                guard.start()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        server.close()


def checkin(patient):
    return token_client(patient.user).post("/api/v1/checkins/", {**CAR_T_NORMAL, "temperature": "38.4"},
                                           format="json")


def cache_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "tracker.security" and r.levelno == logging.WARNING and "Rate-limit cache" in r.getMessage()]


def test_a_checkin_is_stored_when_redis_is_down(db, patient, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.security")
    with cache_settings(redis_cache_at(free_port())):  # nothing listens there
        response = checkin(patient)
    assert response.status_code == 201, response.content[:300]
    assert CheckIn.objects.filter(uuid=response.json()["id"]).exists()
    assert response.json()["alerts"]  # graded as usual: the fever raised its alert
    assert any("ConnectionError" in message for message in cache_warnings(caplog))


def test_a_checkin_is_stored_when_redis_hangs_and_the_socket_timeout_ends_the_wait(db, patient, caplog):
    caplog.set_level(logging.WARNING, logger="tracker.security")
    with silent_server() as (port, accepted), cache_settings(redis_cache_at(port)):
        response = checkin(patient)
        assert accepted, "the check-in never reached the hung server"
    assert response.status_code == 201, response.content[:300]
    assert CheckIn.objects.filter(uuid=response.json()["id"]).exists()
    # The server never answered nor closed: only the socket timeout could end the wait.
    assert any("TimeoutError" in message for message in cache_warnings(caplog)), cache_warnings(caplog)


def test_signing_in_works_when_redis_is_down(db, patient):
    with cache_settings(redis_cache_at(free_port())):
        assert page_attempt(patient.user.username).status_code == 302
        assert token_attempt(patient.user.username).status_code == 200
