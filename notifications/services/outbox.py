"""The outbox: every message is a Notification row written in the transaction that decided to send it,
then handed to Celery after commit. If the broker is down, the row waits and the sweep sends it later."""

import datetime as dt
import json
import logging
import uuid
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.utils import timezone

from notifications.models import ChannelKind, DeliveryAttempt, Notification, NotificationStatus
from notifications.services.enqueue import publish_on_commit

logger = logging.getLogger(__name__)


def enqueue(notification_id: int) -> None:
    """Hand one row to a worker after commit. If the broker is down the row stays pending and the outbox
    sweep sends it."""
    publish_on_commit("notifications.tasks.notification_deliver_task", notification_id,
                      what=f"notification {notification_id}")


def delivered_by_writing(fields: dict, now: dt.datetime) -> dict:
    """An in-app message is delivered by being written: its row is stored as sent (with one attempt)."""
    return {**fields, "status": NotificationStatus.SENT, "sent_at": now, "attempts": 1, "claimed_at": now}


def notification_create(*, dedup_key: str, enqueue_after_commit: bool = True, **fields) -> Notification | None:
    """Create the row unless one with the same de-duplication key exists, and hand it to a worker after
    commit (unless the caller sends it itself). An in-app message is delivered by being written: it is
    stored as sent, with its attempt. Returns the new row, or None when it was already there."""
    inapp = fields.get("channel") == ChannelKind.INAPP
    now = timezone.now()
    if inapp:
        fields = delivered_by_writing(fields, now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(dedup_key=dedup_key, **fields)
        except IntegrityError:
            if Notification.objects.filter(dedup_key=dedup_key).exists():
                return None
            raise
        if inapp:
            DeliveryAttempt.objects.create(notification=notification, started_at=now, finished_at=now,
                                           outcome=DeliveryAttempt.Outcome.SENT)
        elif enqueue_after_commit:
            enqueue(notification.pk)
    return notification


INSERT_CHUNK = 5000  # rows per INSERT statement (sent as one JSON document)


def notifications_create_many(rows: Iterable[dict], *, enqueue_after_commit: bool = True) -> dict[str, int]:
    """`notification_create` for many rows, for the scans: one INSERT per 5,000 rows and one for the in-app
    rows' attempts. Each dict holds `dedup_key` and the fields (related objects or `<name>_id`). A row
    whose de-duplication key exists already (or comes twice in `rows`) is skipped, exactly as
    notification_create skips it: `ON CONFLICT (dedup_key) DO NOTHING`, so any other constraint still
    raises. In-app rows are stored as sent with their attempt; every other new row is handed to a worker
    after commit, one `enqueue` each. Returns {dedup_key: id} of the new rows."""
    now = timezone.now()
    unique: dict[str, dict] = {}
    for fields in rows:
        if fields["dedup_key"] not in unique:
            if fields.get("channel") == ChannelKind.INAPP:
                fields = delivered_by_writing(fields, now)
            unique[fields["dedup_key"]] = fields
    if not unique:
        return {}
    todo = list(unique.values())
    created: dict[str, int] = {}
    with transaction.atomic(savepoint=False):  # all or nothing with the caller's transaction
        for start in range(0, len(todo), INSERT_CHUNK):
            created.update(_insert_skipping_duplicates(todo[start:start + INSERT_CHUNK]))
        inapp = [pk for key, pk in created.items() if unique[key].get("channel") == ChannelKind.INAPP]
        if inapp:
            _attempts_sent(inapp, now)
        if enqueue_after_commit:
            for key, pk in created.items():
                if unique[key].get("channel") != ChannelKind.INAPP:
                    enqueue(pk)
    return created


def _json_default(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()  # with microseconds and offset, read back exactly
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot go into the notification INSERT")


def _insert_skipping_duplicates(rows: list[dict]) -> dict[str, int]:
    """INSERT ... SELECT FROM jsonb_populate_recordset(the table's row type, one JSON document of the rows):
    one parameter however many rows, typed by the table itself. Fields not given take their defaults."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        return _insert_skipping_duplicates_elsewhere(rows)
    opts = Notification._meta
    qn = conn.ops.quote_name
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    names = {name: f for f in fields for name in (f.name, f.attname)}
    unknown = set().union(*(given.keys() for given in rows)) - names.keys()
    if unknown:
        raise TypeError(f"Notification has no field(s) {', '.join(sorted(unknown))}")
    records = []
    for given in rows:
        record = {}
        for field in fields:
            if field.attname in given:
                value = given[field.attname]
            elif field.name in given:
                value = given[field.name]
                if field.is_relation and value is not None:
                    value = value.pk
            else:
                value = field.get_default()
            record[field.column] = value
        records.append(record)
    table, key, columns = qn(opts.db_table), qn(opts.get_field("dedup_key").column), ", ".join(
        qn(f.column) for f in fields)
    # Only the model's own table and column names are formatted in; the rows are the one parameter.
    sql = (f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, %s) "  # noqa: S608
           f"ON CONFLICT ({key}) DO NOTHING RETURNING {qn(opts.pk.column)}, {key}")
    with conn.cursor() as cursor:
        cursor.execute(sql, [json.dumps(records, default=_json_default)])
        new = {key: pk for pk, key in cursor.fetchall()}
    return {given["dedup_key"]: new[given["dedup_key"]] for given in rows if given["dedup_key"] in new}


def _insert_skipping_duplicates_elsewhere(rows: list[dict]) -> dict[str, int]:
    """The same on SQLite (the quick start), where a write transaction holds the whole database, so the keys
    read here cannot be taken before the insert: skip the stored keys, bulk_create the rest."""
    stored = set(Notification.objects.filter(dedup_key__in=[r["dedup_key"] for r in rows])
                 .values_list("dedup_key", flat=True))
    new = Notification.objects.bulk_create([Notification(**r) for r in rows if r["dedup_key"] not in stored])
    return {n.dedup_key: n.pk for n in new}


def _attempts_sent(notification_ids: list[int], at) -> None:
    """The finished attempt of each in-app row (delivered by being written), in one INSERT."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(notification_id=pk, started_at=at, finished_at=at, outcome=DeliveryAttempt.Outcome.SENT)
            for pk in notification_ids)
        return
    table = connections[DEFAULT_DB_ALIAS].ops.quote_name(DeliveryAttempt._meta.db_table)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (notification_id, started_at, finished_at, outcome, error, worker) "  # noqa: S608
            "SELECT id, %s, %s, %s, '', '' FROM unnest(%s::bigint[]) AS id",
            [at, at, DeliveryAttempt.Outcome.SENT, notification_ids])
