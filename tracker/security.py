"""Account and request security: the client's address, expiring API tokens, idle session expiry, two-factor
for staff on every route, login lockout responses, rate limits, and no caching of authenticated responses.
Settings: TRUSTED_PROXY_COUNT, SESSION_IDLE_MINUTES, API_TOKEN_DAYS, REQUIRE_STAFF_2FA, LOGIN_FAILURE_LIMIT,
LOGIN_LOCKOUT_HOURS, RATE_LIMIT_LOGIN, RATE_LIMIT_CHECKIN, RATE_LIMIT_AMEND."""

import ipaddress
import logging
import time
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.throttling import SimpleRateThrottle

from tracker.models import ApiToken, Patient, TwoFactorState
from tracker.models.users import hash_key

logger = logging.getLogger(__name__)

LAST_ACTIVITY = "last_activity"


# What a request did with patient data, for the audit trail: tracker.audit.AuditMiddleware writes the row after the
# response. Defined here, below the audit module, so the checks of this module put the requests they stop on record.
def audit(request, action: str, *, patient: Patient | None = None, patients=None) -> None:
    """Record what this request did with patient data (written by the middleware after the response).
    Takes a Django request or DRF's wrapper around one."""
    request = getattr(request, "_request", request)
    request._audit = {
        "action": action,
        "patient": patient,
        "patient_ids": sorted({p.pk if hasattr(p, "pk") else p for p in (patients or [])}),
    }


def _ip_or_none(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip())) if value else None
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of the client, as one helper for rate limits, django-axes and the audit trail.

    With TRUSTED_PROXY_COUNT = 0 it is REMOTE_ADDR. Behind N trusted proxies, each appending the address it
    saw to X-Forwarded-For, it is the N-th entry from the right: whatever a client wrote further left is
    not trusted. A missing or malformed forwarded address falls back to REMOTE_ADDR. Takes a Django request
    or DRF's wrapper around one."""
    request = getattr(request, "_request", request)
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            forwarded = _ip_or_none(hops[-min(count, len(hops))])
            if forwarded:
                return forwarded
    return _ip_or_none(request.META.get("REMOTE_ADDR"))


def two_factor_pending(user) -> bool:
    """A staff member signed in with a password whose session has not given a second factor yet."""
    return bool(settings.REQUIRE_STAFF_2FA and user is not None and user.is_authenticated
                and user.is_staff_member and not (hasattr(user, "is_verified") and user.is_verified()))


class TwoFactorRequired(exceptions.PermissionDenied):
    error_type = "two_factor_required"
    default_detail = ("Staff accounts confirm each sign-in with a code from their authenticator app: "
                      "complete two-factor sign-in at /accounts/2fa/, or ask for a token with your code (otp).")
    default_code = "two_factor_required"


def two_factor_state(request, user) -> str:
    """What the audit trail records about the request's second factor."""
    if user is None or not user.is_authenticated or not user.is_staff_member:
        return TwoFactorState.NOT_APPLICABLE
    token = getattr(request, "api_token", None)
    if token is not None:
        return TwoFactorState.VERIFIED if token.two_factor else TwoFactorState.NOT_VERIFIED
    verified = hasattr(user, "is_verified") and user.is_verified()
    return TwoFactorState.VERIFIED if verified else TwoFactorState.NOT_VERIFIED


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against hashed, expiring, revocable ApiToken rows. With REQUIRE_STAFF_2FA,
    a staff member's token counts only if it was issued with a two-factor code."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            request._request.api_token = result[1]  # the audit trail records how this request signed in
        return result

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.is_valid():
            raise exceptions.AuthenticationFailed("This token has expired or was revoked; sign in again.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if settings.REQUIRE_STAFF_2FA and token.user.is_staff_member and not token.two_factor:
            raise TwoFactorRequired("This token was issued without a two-factor code: ask for a new one with the "
                                    "code from your authenticator app (otp).")
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token


class TwoFactorSessionAuthentication(SessionAuthentication):
    """DRF's session sign-in (the API docs page, the site's own scripts), refused for a staff session that has
    not given its second factor. StaffTwoFactorMiddleware already stops such requests; this holds even where
    the middleware is not in front (a header that makes token authentication pass falls through to here)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and two_factor_pending(request._request.user):
            raise TwoFactorRequired()
        return result


def _is_htmx_poll(request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.method == "GET"


class IdleTimeoutMiddleware:
    """Sign a session out after SESSION_IDLE_MINUTES without activity. An open dashboard's automatic
    refreshes are not activity, so an unattended ward screen signs itself out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and LAST_ACTIVITY in request.session:
            idle = time.time() - request.session[LAST_ACTIVITY]
            if idle > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = reverse(settings.LOGIN_URL)
                    return response
                if request.path.startswith("/api/"):
                    return JsonResponse({"type": "not_authenticated", "detail": "The session expired.", "fields": {}},
                                        status=401)
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.path}")
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and hasattr(request, "session")
                and request.session.get(SESSION_KEY) and not _is_htmx_poll(request)):
            request.session[LAST_ACTIVITY] = time.time()  # session sign-ins only; API tokens carry no session
        return response


class NoStoreMiddleware:
    """Responses to a signed-in user (session or token) carry patient data: browsers and proxies must not
    keep them (`Cache-Control: no-store`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


def lockout_response(request, credentials, *args, **kwargs):
    """django-axes: too many failed sign-ins for this username."""
    hours = settings.AXES_COOLOFF_TIME
    message = (f"Too many failed sign-in attempts. Try again in {int(hours * 60)} minutes, or call your care "
               "team or the help desk.")
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "throttled", "detail": message, "fields": {}}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


# What a cache that is down or hung raises (Django's Redis backend lets redis-py's errors through).
CACHE_ERRORS = (RedisError, OSError)


class RateThrottle(SimpleRateThrottle):
    """The project's throttles: keyed on `client_ip` (never on a forwarded address nobody vouches for), and
    failing open: when the cache that keeps the counters does not answer (down, or hung past
    CACHE_SOCKET_TIMEOUT), the request goes through with a warning instead of failing with a 500. Axes
    (in the database) still locks out repeated sign-in failures meanwhile."""

    def get_ident(self, request):
        return client_ip(request) or "unknown"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            logger.warning("Rate-limit cache unavailable (%s: %s); letting this %s request through unlimited.",
                           type(exc).__name__, exc, self.scope)
            return True


class LoginRateThrottle(RateThrottle):
    """Sign-in attempts per client address (RATE_LIMIT_LOGIN): the sign-in page and the token endpoint."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CheckinRateThrottle(RateThrottle):
    """Check-in submissions per user (RATE_LIMIT_CHECKIN), from the page and the API alike."""

    scope = "checkin"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AmendRateThrottle(CheckinRateThrottle):
    """Corrections of check-ins per user (RATE_LIMIT_AMEND; the check-in rate where none is set)."""

    scope = "amend"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope) or self.THROTTLE_RATES["checkin"]


def confirmed_totp_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_code_ok(user, code: str) -> bool:
    device = confirmed_totp_device(user)
    return bool(device and code and device.verify_token(code.strip()))


# The second factor everywhere: a staff session that has not given its TOTP code reaches nothing but the
# pages that let it sign in; each stopped request is in the audit trail. What a staff session without its second factor may still reach: signing in and out and the two-factor
# page itself, static files, the language switch, the token endpoint (which asks for the code), liveness
# and health (counts only, for load balancers and monitoring).
TWO_FACTOR_EXEMPT = ("/accounts/", "/static/", "/i18n/", "/api/v1/auth/token/", "/api/v1/ping/", "/health/")


class StaffTwoFactorMiddleware:
    """With REQUIRE_STAFF_2FA, every request of a staff session needs the session verified with a TOTP code
    (set up on first sign-in with an enrolment code), whatever the route: pages are sent to the two-factor
    page, the API answers 403 {"type": "two_factor_required"} and htmx gets an HX-Redirect. API tokens are
    issued to staff only with the code (ExpiringTokenAuthentication refuses others). Every stopped request
    is in the audit trail."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if two_factor_pending(getattr(request, "user", None)) and not request.path.startswith(TWO_FACTOR_EXEMPT):
            audit(request, "two_factor_required")
            target = reverse("two-factor")
            if request.path.startswith("/api/"):
                return JsonResponse({"type": TwoFactorRequired.error_type,
                                     "detail": str(TwoFactorRequired.default_detail), "fields": {}}, status=403)
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=401)
                response["HX-Redirect"] = target
                return response
            if request.method in ("GET", "HEAD"):
                target = f"{target}?next={quote(request.get_full_path(), safe='/')}"
            return redirect(target)
        return self.get_response(request)
