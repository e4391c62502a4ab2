"""The periodic scans' claim-and-work code (the escalation scan and the reminder scan), in one place.

One tick (`scan_in_batches`) takes the due rows in batches, in id order, until nothing more is due or the
tick's budget is spent. One batch (`batch_with_fallback`) claims rows and works them in one transaction; if
that fails, it is rolled back and each claimed row is worked in its own transaction, so one bad row costs
only its own step. A row that fails alone is logged at ERROR and stays due for the next scan. If the
database itself is gone, the error is raised: the scan stops and the next tick tries again."""

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model

RowT = TypeVar("RowT", bound=Model)


def batch_with_fallback(*, claim: Callable[[], list[RowT]], work: Callable[[list[RowT]], dict[int, Any]],
                        one: Callable[[int], object], logger: logging.Logger, batch_name: str, rows_name: str,
                        row_name: str) -> tuple[list[int], dict]:
    """`claim()` locks and returns the batch's rows (inside the transaction), `work(rows)` returns
    {row id: result}, `one(row id)` works one row in its own transaction. Returns (claimed ids in order,
    {row id: result}), with None for a row that failed alone. The names are for the log: "Reminder batch",
    "rows", "Reminder state"."""
    claimed: list[int] = []
    try:
        with transaction.atomic():
            rows = claim()
            claimed = [row.pk for row in rows]
            return claimed, work(rows)
    except Exception:
        if not claimed or not connection.is_usable():
            raise  # nothing claimed, or the database is gone
        logger.exception("%s of %s %s (ids %s to %s) failed; taking them one at a time",
                         batch_name, len(claimed), rows_name, claimed[0], claimed[-1])
    results: dict = {}
    for pk in claimed:
        try:
            results[pk] = one(pk)
        except Exception:
            if not connection.is_usable():
                raise
            logger.exception("%s %s failed; it stays due and is tried again at the next scan", row_name, pk)
            results[pk] = None
    return claimed, results


def scan_in_batches(*, batch: Callable[[int, int], tuple[list[int], dict]], batch_size: int, max_seconds: float,
                    max_rows: int | None = None) -> tuple[dict, int | None]:
    """One tick of a scan: `batch(after, limit)` claims and works up to `limit` due rows with ids above
    `after` and returns (claimed ids in order, {row id: result}). Batches run until one comes back short
    (nothing more is due, or another scan holds it), `max_rows` rows were taken or `max_seconds` have passed;
    at least one runs. Each due row is taken at most once per tick. Returns ({row id: result} of the tick,
    None when nothing was left, else the last id taken: the rest waits for the next tick)."""
    started = time.monotonic()
    results: dict = {}
    after = 0
    while True:
        limit = batch_size if max_rows is None else min(batch_size, max_rows - len(results))
        claimed, done = batch(after, limit)
        results.update(done)
        if not claimed or len(claimed) < limit:
            return results, None
        after = claimed[-1]
        if (max_rows is not None and len(results) >= max_rows) or time.monotonic() - started >= max_seconds:
            return results, after

