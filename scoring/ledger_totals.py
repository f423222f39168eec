"""Running totals of the ledger's folds, as a core system keeps its 积数 to date.

Each month entry holds, beside its own folds, their running total: every ledger month
from the first through this one added up per customer (and per unmapped code). A
window of months is then two totals apart, ``total(last) - total(month before the
window)``, and what a direct run sees of the months before the window is linear in
their rows (``ledger_score._outside_only``), so it comes from the earlier total as
well: scoring reads two totals instead of every month's folds, whatever the window's
length.

A total says which entries it adds up (``TOTAL_OF``: their ``ENTRY_ID``s, month by
month). Re-accumulating a month gives it a new id, so the totals of the months after
it no longer match the ledger; scoring then adds the months up one by one, as
before, with the same result, until those months are accumulated again.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from .ledger import Entry
from .row_status import CODE, CODE_ROWS, CONFLICT_FILE, CONFLICT_LINE, CONFLICT_VALUE

TOTALS = {"balances": "total_balances.parquet", "transactions": "total_transactions.parquet"}
ENTRY_ID = "entry_id"  # the manifest's id of one accumulation of a month
TOTAL_OF = "total_of"  # the manifest's ids of the entries its totals add up
_LINES = (CONFLICT_FILE, CONFLICT_LINE, CONFLICT_VALUE)
_KEPT = {*_LINES, CODE, CODE_ROWS, "customer_id"}  # not summed per customer


def added_up(folded: pl.DataFrame, wide: bool = False) -> pl.DataFrame:
    """Folds as one row per customer (one of no customer, for the rows counted apart)
    and one per unmapped code with rows. Their conflicts' file and line are in the
    months' rejects, so no group needs its own row. ``wide``: integer sums in 128
    bits (else in the folds' own dtypes, which a sum past 64 bits would wrap)."""
    summed = [c for c in folded.columns if c not in _KEPT]
    lazy = folded.lazy()
    sums = [
        (pl.col(c).cast(pl.Int128) if wide and folded.schema[c].is_integer() else pl.col(c)).sum()
        for c in summed
    ]
    customers = lazy.filter(pl.col(CODE).is_null()).group_by("customer_id").agg(sums)
    codes = (
        lazy.filter(pl.col(CODE).is_not_null())
        .group_by(CODE)
        .agg(pl.col(CODE_ROWS).sum())
        .filter(pl.col(CODE_ROWS) != 0)  # a direct run lists only codes with rows
    )
    nulls = [pl.lit(None, folded.schema[c]).alias(c) for c in _LINES]
    return pl.concat([customers, codes], how="diagonal").with_columns(nulls).collect()


def running_total(before: pl.DataFrame | None, folded: pl.DataFrame) -> pl.DataFrame:
    """The total through a month: the total through the month before it (None: it is
    the ledger's first) plus the month's fold. Sums are 128-bit: a total grows with
    every month, and a large customer's transactions near 64 bits within years."""
    parts = [folded] if before is None else [before, folded]
    return added_up(pl.concat(parts, how="diagonal_relaxed"), wide=True)


def total_of(entries: dict[date, Entry], month: date) -> list[str] | None:
    """The ids a total through ``month`` must add up: every ledger month through it
    (None: one of them has no id, accumulated before totals were kept)."""
    ids = [e.manifest.get(ENTRY_ID) for m, e in entries.items() if m <= month]
    return None if None in ids else [str(i) for i in ids]


def current(entries: dict[date, Entry], month: date) -> bool:
    """Whether ``month``'s totals add up the ledger's months as they are now."""
    entry = entries.get(month)
    wanted = total_of(entries, month)
    return entry is not None and wanted is not None and entry.manifest.get(TOTAL_OF) == wanted


def negated(total: pl.DataFrame) -> pl.DataFrame:
    """A total taken away: every summed column, and the codes' rows, negative."""
    signed = [
        (pl.lit(0, pl.Int64) - pl.col(c).cast(pl.Int64 if t.is_unsigned_integer() else t)).alias(c)
        for c, t in total.schema.items()
        if c not in _KEPT - {CODE_ROWS}
    ]
    return total.with_columns(signed)


def as_schema(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` in the dtypes the months' folds added up would have: a total's wider
    sums back to them, where they fit (a sum that does not stays 128-bit, as a fold
    that might overflow 64 bits is folded again in 128: ``folds.needs_wide``)."""
    return frame.select(_fitted(frame, c, t) for c, t in schema.items())


_RANGE = {  # the integers a dtype holds: [low, high)
    pl.Int32: (-(1 << 31), 1 << 31), pl.Int64: (-(1 << 63), 1 << 63),
    pl.UInt32: (0, 1 << 32), pl.UInt64: (0, 1 << 64),
}  # fmt: skip


def _fitted(frame: pl.DataFrame, column: str, dtype: pl.DataType) -> pl.Expr:
    if column not in frame.columns:
        return pl.lit(None, dtype).alias(column)
    bounds = _RANGE.get(dtype.base_type())
    values = frame[column]
    known = bounds is not None and values.dtype.is_integer() and values.null_count() < values.len()
    if known and (values.min() < bounds[0] or values.max() >= bounds[1]):  # type: ignore
        return pl.col(column).cast(pl.Int128)
    return pl.col(column).cast(dtype)
