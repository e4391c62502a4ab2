"""Sign-in and two-factor sign-in for staff (TOTP, RFC 6238).

The sign-in page is rate-limited per client address (RATE_LIMIT_LOGIN, shared with the token endpoint).
A staff member's first authenticator is set up only after an enrolment code proves a second channel: a
single-use code that expires (TWO_FACTOR_ENROLMENT_MINUTES), emailed to the address on file (unless
TWO_FACTOR_ENROL_BY_EMAIL is off) or issued by an administrator (admin action, or `manage.py
issue_enrolment_code` for the first administrator). The password alone never shows an authenticator key.
Then a code at each sign-in."""

import base64
import datetime as dt
import io
import math
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.audit import audit
from tracker.http import SignedInRequest
from tracker.language import reader_language
from tracker.models import EnrolmentCode, User
from tracker.models.users import EnrolmentChannel
from tracker.security import LoginRateThrottle, confirmed_totp_device

ENROLLED = "two_factor_enrolment_user"  # session key: this session proved a second channel for setup
EMAIL_RESEND_SECONDS = 60


class SignInView(auth_views.LoginView):
    """Django's sign-in page, with a limit on attempts per client address (django-axes also locks a
    username after LOGIN_FAILURE_LIMIT failures from one address)."""

    def post(self, request, *args, **kwargs):
        throttle = LoginRateThrottle()
        if not throttle.allow_request(request, None):
            wait = math.ceil(throttle.wait() or 60)
            message = _("Too many sign-in attempts from this address. Try again in %(seconds)s seconds, or call "
                        "your care team or the help desk.") % {"seconds": wait}
            response = render(request, "registration/locked_out.html", {"message": message}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


def enrolment_code_issue(*, user: User, channel: str, issued_by: User | None = None) -> str:
    """A new single-use enrolment code for a staff member (the raw code: show or send it once)."""
    if not user.is_staff_member:
        raise ValueError("Enrolment codes are for staff accounts.")
    _code, raw = EnrolmentCode.issue(user, channel=channel, issued_by=issued_by)
    return raw


def _masked(address: str) -> str:
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


def _email_code(user: User) -> str:
    """Email a code to the address on file; '' on success, else why not."""
    if not settings.TWO_FACTOR_ENROL_BY_EMAIL:
        return _("Ask an administrator for an enrolment code.")
    if not user.email:
        return _("There is no email address on your account: ask an administrator for an enrolment code.")
    recent = EnrolmentCode.objects.filter(
        user=user, channel=EnrolmentChannel.EMAIL,
        created_at__gt=timezone.now() - dt.timedelta(seconds=EMAIL_RESEND_SECONDS)).exists()
    if recent:
        return _("A code was sent a moment ago: check your email, or try again in a minute.")
    raw = enrolment_code_issue(user=user, channel=EnrolmentChannel.EMAIL)
    send_mail(
        subject="Your CAR T Tracker enrolment code",
        message=(f"Your enrolment code is {raw}. It sets up two-factor sign-in on your account and expires in "
                 f"{settings.TWO_FACTOR_ENROLMENT_MINUTES} minutes.\n\nIf you did not ask for it, someone has "
                 "your password: call the help desk."),
        from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email],
    )
    return ""


def _enrolment_step(request: SignedInRequest) -> HttpResponse:
    """Before the first authenticator: prove a second channel with an enrolment code."""
    user = request.user
    error, notice, status = "", "", 200
    if request.method == "POST" and "send_email" in request.POST:
        error = _email_code(user)
        if not error:
            notice = _("We emailed a code to %(address)s.") % {"address": _masked(user.email)}
        status = 400 if error else 200
    elif request.method == "POST":
        if EnrolmentCode.redeem(user, request.POST.get("enrolment_code", "")):
            with transaction.atomic():
                # A fresh key: one shown before (to anyone holding only the password) is never confirmed.
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
            request.session[ENROLLED] = user.pk
            return redirect(f"{request.path}?next={quote(_next(request), safe='/')}")
        audit(request, "two_factor_enrolment_failed")
        error, status = _("That enrolment code is not valid. It may have expired or been used; ask for a new one."), 400
    context = {"enrolling": True, "error": error, "notice": notice, "next": _next(request),
               "email_allowed": settings.TWO_FACTOR_ENROL_BY_EMAIL and bool(user.email)}
    return render(request, "registration/two_factor.html", context, status=status)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


@login_required
def two_factor(request: SignedInRequest) -> HttpResponse:
    if not request.user.is_staff_member:
        raise Http404  # two-factor is for staff accounts
    with translation.override(reader_language(request)):  # the staff member's language, like the staff pages
        return _two_factor(request)


def _two_factor(request: SignedInRequest) -> HttpResponse:
    device = confirmed_totp_device(request.user)
    setting_up = device is None
    if setting_up:
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
        if device is None or request.session.get(ENROLLED) != request.user.pk:
            return _enrolment_step(request)
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        if code and device.verify_token(code):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                request.session.pop(ENROLLED, None)
            otp_login(request, device)
            return redirect(_next(request))
        audit(request, "two_factor_failed")
        error = _("That code did not match. Check the time on your phone and try the newest code.")

    context = {"setting_up": setting_up, "error": error, "next": _next(request)}
    if setting_up:
        context.update({"secret": base64.b32encode(device.bin_key).decode(), "qr": _qr_svg(device.config_url)})
    return render(request, "registration/two_factor.html", context, status=400 if error else 200)
