"""Balance layouts: the four shapes in which a bank keeps balance history.

``changes`` (a row's balance holds from its date until the account's next row) is
what the measures were written for. A warehouse also keeps balances as a zipper
table (``intervals``: a balance valid from ``start_date`` to ``end_date``), as the
core system's own sums of end-of-day balances (``accumulations``, 积数), or as
the balance after each posting (``postings``, several rows per account and day,
ordered by ``seq``). Which one an input is comes from its columns (``detect_layout``)
or the operator (``--balance-layout``); this module knows the columns of each, and
nothing about polars measures (``layout_measures`` measures them), so that the
readers can ask it before a row is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import polars as pl

from .errors import InputError

LAYOUTS = ("changes", "intervals", "accumulations", "postings")
KEY_COLUMNS = ("customer_id", "account_id", "product")
LAYOUT_COLUMNS = {
    "changes": ("date", "balance"),
    "intervals": ("start_date", "end_date", "balance"),
    "accumulations": ("start_date", "end_date", "accumulated"),
    "postings": ("date", "seq", "balance"),
}
# Every column some layout reads, in a stable order (the columns a mapping may name).
ALL_COLUMNS = tuple(dict.fromkeys(c for cols in LAYOUT_COLUMNS.values() for c in cols))
# End dates that warehouses write for "still valid": read as an open end.
OPEN_ENDS = (date(9999, 12, 31), date(2099, 12, 31))
_PERIOD = ("start_date", "end_date")


def detect_layout(present: set[str], shown: str = "") -> str:
    """The layout an input's columns (canonical names, after ``--columns``) say: an
    ``accumulated`` column makes accumulations, a start or end date intervals, a
    ``seq`` postings, and anything else the change log. Columns of two layouts at
    once are not guessed between: the run stops and asks for ``--balance-layout``.
    A layout whose other columns are missing is still chosen, so that the missing
    column is named (``sources.canonical_columns``)."""
    period = [c for c in (*_PERIOD, "accumulated") if c in present]
    # a daily snapshot may carry a deposit's term as start and end dates
    dated = "seq (postings)" if "seq" in present else "date (change log)"
    if period and ("seq" in present or "date" in present):
        raise InputError(
            f"columns of two balance layouts: {dated} and {', '.join(period)}; "
            "choose one with --balance-layout",
            file=shown or None,
            key="balances",
        )
    if "accumulated" in present:
        return "accumulations"
    if period:
        return "intervals"
    if "seq" in present:
        return "postings"
    return "changes"


def layout_of(columns: Iterable[str]) -> str:
    """The layout of canonical balance columns as read: each layout's are its own, so
    they never hold two layouts' (``detect_layout`` does not stop here)."""
    return detect_layout(set(columns))


def as_of(checked: pl.LazyFrame, day: date) -> pl.LazyFrame:
    """Balance rows as they were known on ``day`` (the service watch carries the last
    end-of-day balance forward from it): a change or posting dated after it is not
    made yet, and an interval still valid on it is open from then on (its end is not
    known yet). An accumulation is known once its period has ended; it carries no
    end-of-day balance, so nothing is carried forward from one."""
    layout = layout_of(checked.collect_schema().names())
    if layout == "accumulations":
        return checked.filter(pl.col("end_date") <= day)
    if layout != "intervals":
        return checked.filter(pl.col("date") <= day)
    end = pl.col("end_date")
    still = pl.when(end.is_null() | (end >= day)).then(None).otherwise(end)
    return checked.filter(pl.col("start_date") <= day).with_columns(still.alias("end_date"))


def one_layout(batches: Sequence[Any]) -> str:
    """The layout of an input's batches (``sources.Batch``: each file, or files read
    together), recorded on each file for the manifest. Files of one input in two
    layouts stop the run: their rows cannot be measured together."""
    layout = None
    for batch in batches:
        found = layout_of(batch.frame.collect_schema().names())
        for info in batch.files:
            info.layout = found
        if layout is not None and found != layout:
            raise InputError(
                f"balances in the {found} layout, but earlier files are {layout}: "
                "one input holds one layout",
                file=batch.files[0].path,
            )
        layout = found
    return layout or "changes"
