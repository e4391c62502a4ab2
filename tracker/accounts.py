"""Two-factor sign-in for staff (TOTP, RFC 6238): set up on first sign-in, then a code at each sign-in."""

import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.security import confirmed_totp_device


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
def two_factor(request: HttpRequest) -> HttpResponse:
    if not request.user.is_staff_member:
        raise Http404  # two-factor is for staff accounts
    device = confirmed_totp_device(request.user)
    setting_up = device is None
    if setting_up:
        device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first() or TOTPDevice.objects.create(
            user=request.user, name="Authenticator app", confirmed=False)
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "").strip()
        if code and device.verify_token(code):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            return redirect(_next(request))
        error = "That code did not match. Check the time on your phone and try the newest code."
    context = {"setting_up": setting_up, "error": error, "next": _next(request)}
    if setting_up:
        context.update({"secret": base64.b32encode(device.bin_key).decode(), "qr": _qr_svg(device.config_url)})
    return render(request, "registration/two_factor.html", context, status=400 if error else 200)
