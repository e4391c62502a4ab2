"""Setting a password: from an invitation (tracker/invitations.py), and "Forgot your password?" for everyone.

The reset is Django's (its token is an HMAC of the account's state, stored nowhere, single-use because it
changes with the password, expiring after PASSWORD_RESET_TIMEOUT), with three changes:
  * the answer is the same whether or not an account uses the address; a matching account gets (through
    `password_reset_requested`) an email outbox row, and a worker makes the link and sends the email, so the
    slow part (the mail server) is not in the request: what is left to time is one insert and a hand-off to
    the broker, milliseconds, behind the rate limits below;
  * requests are limited per client address (RATE_LIMIT_PASSWORD_RESET, 429) and per address asked for
    (RATE_LIMIT_PASSWORD_RESET_ACCOUNT: beyond it nothing more is sent, and the answer is the same), with the
    project's throttles (tracker.security.RateThrottle: client_ip, failing open when the cache is down);
  * a reset never signs anyone in: staff then sign in with the new password and their authenticator code,
    and the account's API tokens are revoked.
"""

import logging

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from tracker.audit import audit
from tracker.invitations import SESSION_TOKEN, SET_PASSWORD_SLUG, invitation_accept, invitation_for_token
from tracker.models import ApiToken, Role, User
from tracker.models.users import hash_key
from tracker.security import RateThrottle
from tracker.signals import password_reset_requested

logger = logging.getLogger(__name__)
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _use_language_of(request: HttpRequest, user: User) -> None:
    """Pages reached from a message speak the person's language unless they picked one (footer switch)."""
    if not request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) and user.preferred_language:
        translation.activate(user.preferred_language)
        request.LANGUAGE_CODE = user.preferred_language


# --- Invitations -----------------------------------------------------------------------------------------------

@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an invitation: moves to a URL without the token (kept in the session), then asks for a new
    password twice (Django's validators), uses the invitation up, signs the person in and goes home."""
    if token != SET_PASSWORD_SLUG:
        invitation = invitation_for_token(token)
        if invitation is None:
            return render(request, "registration/invitation_invalid.html")
        request.session[SESSION_TOKEN] = token
        return redirect("invitation-accept", token=SET_PASSWORD_SLUG)
    invitation = invitation_for_token(request.session.get(SESSION_TOKEN, ""))
    if invitation is None:
        request.session.pop(SESSION_TOKEN, None)
        return render(request, "registration/invitation_invalid.html")
    user = invitation.user
    _use_language_of(request, user)
    form = SetPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        accepted = invitation_accept(invitation=invitation, form=form)
        request.session.pop(SESSION_TOKEN, None)
        if accepted is None:  # used a moment ago, from another tab
            return render(request, "registration/invitation_invalid.html")
        login(request, accepted, backend=MODEL_BACKEND)
        audit(request, "invitation_accepted", patient=invitation.patient)
        return redirect("home")
    return render(request, "registration/invitation_set_password.html",
                  {"form": form, "invited": user, "is_caregiver": user.role == Role.CAREGIVER},
                  status=400 if form.errors else 200)


# --- Forgot your password? ---------------------------------------------------------------------------------------

class PasswordResetRateThrottle(RateThrottle):
    """Reset requests per client address (RATE_LIMIT_PASSWORD_RESET)."""

    scope = "password_reset"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PasswordResetAccountThrottle(RateThrottle):
    """Reset requests per email address asked for (RATE_LIMIT_PASSWORD_RESET_ACCOUNT), whether or not an account
    uses it (so the limit itself tells nothing). The counter's key holds the address's hash, not the address."""

    scope = "password_reset_account"

    def __init__(self, address: str):
        super().__init__()
        self.address = address.strip().lower()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": hash_key(self.address)}


class ResetRequestForm(PasswordResetForm):
    """Django's form; instead of sending mail in the request, a matching account gets an outbox row."""

    def request_reset(self) -> list[User]:
        users = [user for user in self.get_users(self.cleaned_data["email"]) if user.email]
        for user in users:
            password_reset_requested.send(sender=User, user=user)
        return users


def password_reset_link(user: User) -> str | None:
    """At send time: the path of a reset link for an account that may still reset, or None."""
    if not user.is_active or not user.has_usable_password():
        return None
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(user)})


class ForgotPasswordView(auth_views.PasswordResetView):
    form_class = ResetRequestForm
    template_name = "registration/password_reset_form.html"
    success_url = reverse_lazy("password_reset_done")

    def post(self, request, *args, **kwargs):
        throttle = PasswordResetRateThrottle()
        if not throttle.allow_request(request, None):
            wait = int(throttle.wait() or 60) + 1
            minutes = max(1, round(wait / 60))
            message = _("Too many requests from this address. Try again in %(minutes)s minutes, or ask your care "
                        "team for help.") % {"minutes": minutes}
            response = render(request, "registration/locked_out.html", {"message": message}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        address = form.cleaned_data["email"]
        if PasswordResetAccountThrottle(address).allow_request(self.request, None):
            users = form.request_reset()
        else:
            users = []
            logger.warning("Password reset: the per-address limit was reached; nothing more sent for now.")
        audit(self.request, "password_reset_requested")
        if users:
            self.request._audit["username"] = users[0].get_username()
        return redirect(self.success_url)


class ForgotPasswordSentView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "minutes": settings.PASSWORD_RESET_TIMEOUT // 60}


class ResetPasswordView(auth_views.PasswordResetConfirmView):
    """Django's confirm page (the token leaves the URL for the session first). Never signs in."""

    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    post_reset_login = False

    def get_form_kwargs(self):
        # Before the form is built: its labels and errors in the person's language (a valid link only).
        if self.validlink and self.user is not None:
            _use_language_of(self.request, self.user)
        return super().get_form_kwargs()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.validlink:
            context["reset_user"] = self.user
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.user
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        audit(self.request, "password_reset")
        self.request._audit["username"] = user.get_username()
        return response


class ResetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
