"""Account and request security: expiring API tokens, idle session expiry, two-factor for staff, login
lockout responses and rate limits. Settings: SESSION_IDLE_MINUTES, API_TOKEN_DAYS, REQUIRE_STAFF_2FA,
LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_HOURS, RATE_LIMIT_LOGIN, RATE_LIMIT_CHECKIN."""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import SimpleRateThrottle

from tracker.models import ApiToken
from tracker.models.tokens import hash_key

LAST_ACTIVITY = "last_activity"


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` against hashed, expiring, revocable ApiToken rows."""

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.is_valid():
            raise exceptions.AuthenticationFailed("This token has expired or was revoked; sign in again.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token


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


TWO_FACTOR_EXEMPT = ("/accounts/", "/static/", "/i18n/", "/api/")


class StaffTwoFactorMiddleware:
    """With REQUIRE_STAFF_2FA, staff pages need a session verified with a TOTP code (set up on first
    sign-in). The API asks staff for the code when a token is issued instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (settings.REQUIRE_STAFF_2FA and user is not None and user.is_authenticated and user.is_staff_member
                and not user.is_verified() and not request.path.startswith(TWO_FACTOR_EXEMPT)):
            return redirect(f"{reverse('two-factor')}?next={request.get_full_path()}")
        return self.get_response(request)


def lockout_response(request, credentials, *args, **kwargs):
    """django-axes: too many failed sign-ins for this username."""
    hours = settings.AXES_COOLOFF_TIME
    message = (f"Too many failed sign-in attempts. Try again in {int(hours * 60)} minutes, or call your care "
               "team or the help desk.")
    if request.path.startswith("/api/"):
        return JsonResponse({"type": "throttled", "detail": message, "fields": {}}, status=429)
    return render(request, "registration/locked_out.html", {"message": message}, status=429)


class LoginRateThrottle(SimpleRateThrottle):
    """Sign-in attempts per client address (RATE_LIMIT_LOGIN)."""

    scope = "login"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CheckinRateThrottle(SimpleRateThrottle):
    """Check-in submissions per user (RATE_LIMIT_CHECKIN), from the page and the API alike."""

    scope = "checkin"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


def confirmed_totp_device(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def two_factor_code_ok(user, code: str) -> bool:
    device = confirmed_totp_device(user)
    return bool(device and code and device.verify_token(code.strip()))
