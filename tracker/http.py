"""The request of a view that only signed-in people reach (`login_required`, `staff_page`, the two-factor
page): its `user` is a User, never the anonymous one. For type checking; at run time it is an HttpRequest."""

from django.http import HttpRequest

from tracker.models import User


class SignedInRequest(HttpRequest):
    user: User
