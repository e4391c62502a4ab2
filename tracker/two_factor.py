"""The second factor everywhere: a staff session that has not given its TOTP code reaches nothing but the
pages that let it sign in (the checks themselves are in tracker.security; this middleware applies them to
every route and puts each stopped request in the audit trail)."""

from urllib.parse import quote

from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from tracker.audit import audit
from tracker.security import TwoFactorRequired, two_factor_pending

# What a staff session without its second factor may still reach: signing in and out and the two-factor
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
