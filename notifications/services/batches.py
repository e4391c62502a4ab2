"""One batch of a periodic scan: claim rows and work them in one transaction; if that fails, roll it back
and work each claimed row in its own transaction, so one bad row costs only its own step. A row that fails
alone is logged at ERROR and stays due for the next scan. If the database itself is gone, the error is
raised: the scan stops and the next tick tries again."""

import logging
from collections.abc import Callable, Sequence

from django.db import connection, transaction


def batch_with_fallback(*, claim: Callable[[], Sequence], work: Callable[[Sequence], dict],
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
