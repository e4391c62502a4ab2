"""The product's own error pages in the quick start, where DEBUG is on.

With DEBUG on, Django answers a 404 with its yellow page listing every URL pattern and an error with its
traceback page, and never calls `handler404` / `handler500`. The quick start is also the demo: a patient or
nurse trying it should meet the pages the product shows (templates/404.html, 500.html, 503.html), in their
language, with the site's header. This middleware, added by the local settings only, sends those cases to
the project's handlers (tracker/views.py: the site's page, or the API's JSON shape under /api/) while DEBUG
keeps everything else it gives a developer (template errors, static files from the app folders). The
traceback still goes to the console (the `django.request` logger, as Django logs a 500).

`DJANGO_DEBUG_ERROR_PAGES=on` brings Django's technical pages back. With DEBUG off (tests, production) the
middleware removes itself: Django calls the handlers then.
"""

import logging

from django.conf import settings
from django.core import signals
from django.core.exceptions import BadRequest, MiddlewareNotUsed, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, get_resolver, get_urlconf, resolve

logger = logging.getLogger("django.request")


class ProductErrorPagesMiddleware:
    """Last in MIDDLEWARE, so the page knows who is signed in and their language."""

    def __init__(self, get_response):
        if not settings.DEBUG or getattr(settings, "DEBUG_ERROR_PAGES", False):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A URL nothing matches never reaches a view (nor process_exception): answer it here. A missing
        # trailing slash is still redirected by CommonMiddleware, which sees this 404 on its way out.
        try:
            resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404 as exc:
            return self._handler(404)(request, exc)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404):
            return self._handler(404)(request, exception)
        if isinstance(exception, PermissionDenied | BadRequest | SuspiciousOperation | MultiPartParserError):
            return None  # 403 gets the project's page from Django whatever DEBUG says; a bad request is a developer's
        signals.got_request_exception.send(sender=None, request=request)
        logger.error("Internal Server Error: %s", request.path, exc_info=True,
                     extra={"status_code": 500, "request": request})
        return self._handler(500)(request)

    @staticmethod
    def _handler(status: int):
        return get_resolver(get_urlconf()).resolve_error_handler(status)

