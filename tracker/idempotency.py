"""Idempotent writes: a client that did not hear the answer (a timeout, a dropped connection, a phone
that sends twice) sends the same request again with the same `Idempotency-Key` header and gets the first
answer back, with nothing changed a second time. A check-in's own `id` (made by the client) is its key when
no header is given. The same key with a different body, or on another endpoint, answers 422.

The key and the first answer are stored in the transaction of the write itself (IdempotencyRecord), so
either both are there or neither: a request that failed (validation, a lost database connection) left no
record and may simply be sent again. A second request with the key while the first is still running waits
for it at the unique index and then answers what the first answered. Records are kept for
IDEMPOTENCY_KEY_HOURS (48; at least the 24 hours clients are promised) and purged by a daily task."""

import datetime as dt
import functools
import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tracker.errors import InputError
from tracker.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="A key the client makes for this write (a UUID). Sent again with the same body within 24 hours "
                "(48 by default), the first answer comes back (header Idempotent-Replayed: true) and nothing is "
                "changed twice; with a different body it answers 422.")


class KeyReusedError(InputError):
    status_code = 422
    type = "idempotency_key_reused"


def _key(request, implicit_key) -> str:
    key = request.headers.get(HEADER, "").strip()
    if not key and implicit_key is not None:
        key = implicit_key(request) or ""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InputError(f"The {HEADER} header must be at most {MAX_KEY_LENGTH} printable characters.",
                         fields={HEADER: [f"At most {MAX_KEY_LENGTH} printable characters, such as a UUID."]})
    return key


def fingerprint(data) -> str:
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _retention() -> dt.timedelta:
    return dt.timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)


def _replay(record: IdempotencyRecord, route: str, print_: str) -> Response:
    if record.route != route or record.fingerprint != print_:
        raise KeyReusedError(
            f"This {HEADER} was already used for a different request; use a new key for a new request.",
            fields={HEADER: [f"Already used with another request ({record.route})."]})
    response = Response(record.response, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(implicit_key=None):
    """Decorate an APIView's `post(self, request, ...)`. `implicit_key(request)` may name a key taken from
    the body (a check-in's client-made `id`) when the header is absent."""

    def decorate(post):
        @functools.wraps(post)
        def wrapper(self, request, *args, **kwargs):
            key = _key(request, implicit_key)
            if not key or not request.user.is_authenticated:
                return post(self, request, *args, **kwargs)
            route = f"{request.method} {request.path}"[:200]
            print_ = fingerprint(request.data)
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        record = IdempotencyRecord.objects.create(user=request.user, key=key, route=route,
                                                                  fingerprint=print_)
                except IntegrityError:
                    record = IdempotencyRecord.objects.get(user=request.user, key=key)
                    if record.created_at >= timezone.now() - _retention():
                        return _replay(record, route, print_)
                    record.delete()  # expired: the key starts again
                    record = IdempotencyRecord.objects.create(user=request.user, key=key, route=route,
                                                              fingerprint=print_)
                response = post(self, request, *args, **kwargs)
                if 200 <= response.status_code < 300:
                    record.status_code = response.status_code
                    record.response = json.loads(JSONRenderer().render(response.data))
                    record.save(update_fields=["status_code", "response"])
                else:
                    transaction.set_rollback(True)  # an answer that changed nothing is not kept
            return response

        return wrapper

    return decorate


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_KEY_HOURS. Returns how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - _retention()).delete()
    return deleted
