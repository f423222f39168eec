"""Rows folded per customer: exact per-component sums and per-status row counts.

One group per customer (most rows), one per conflicting row (its file and line, for
rejects.csv) and one per unmapped code. Sums are Int64 with a float check that
proves they did not overflow (``needs_wide``); the caller folds again with 128-bit
sums when it might have. The rows come from ``row_status``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import polars.selectors as cs

from .fx import FX_DAYS, FX_FORWARD
from .joint import JOINT, SHARE
from .overdraft import OVERDRAWN, counted_balance
from .plan import Plan
from .row_status import (
    BALANCE_KEY,
    BROKEN,
    CODE,
    CODE_INDEX,
    CODE_ROWS,
    COMPONENT,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    DUPLICATE,
    EXCLUDED,
    FORWARD_DATED,
    FORWARD_DAYS,
    OUTSIDE,
    REJECTED,
    STATUS,
    TXN_KEY,
    UNMAPPED,
    USED,
    balance_rows,
    code_table,
    conflict_column,
    count_column,
    forward_column,
    transaction_rows,
)
from .sources import FILE_COL, LINE_COL

MAGNITUDE = "_magnitude"
INT64_SAFE = 2.0**62  # a float sum below this proves the Int64 sums did not overflow
# A customer measure this large (yuan) must fit a fast fold's 64 bits; where it would not
# (--fx rates to many decimals, "split" shares), the fold is 128 bits from the start
# rather than folded twice (``starts_wide``).
LIKELY_YUAN = 10**10


def starts_wide(plan: Plan, source: str) -> bool:
    """Whether a source's fold is 128 bits from the start: its values carry so fine a
    unit (``Plan.scale``) that a customer of ``LIKELY_YUAN`` would overflow 64 bits,
    and the float check would send nearly every run through a second fold."""
    return plan.per_yuan(source) * LIKELY_YUAN >= INT64_SAFE


GROUP_ROWS = "_group_rows"  # rows a fold group has, on the fast path (see ``_packed``)
PACK_BITS = 21  # rows of one status per customer a packed count holds exactly


def _fold(
    plan: Plan,
    source: str,
    rows: pl.LazyFrame,
    code_col: str,
    value: pl.Expr,
    key: tuple[str, ...],
    magnitude: pl.Expr | None,
    alone: bool = False,
    seen: tuple[str, ...] = (),
    forward: pl.Expr | None = None,
) -> pl.LazyFrame:
    """One group per customer, one per conflicting row (with its file and line), and
    one per unmapped code (``CODE`` and ``CODE_ROWS``, no customer: the run reports
    unmapped codes in all, so they are counted apart from the customers).

    ``alone``: only the customers' group-by, every row in it (the others' columns
    empty). Three group-bys of rows read as they stream make polars hold the rows
    for all three (its common-subplan cache), which costs a third more than one;
    ``_one_pass`` counts rejected rows in the one, and unmapped rows per code
    (``seen``, see ``_tallies``), and finds the few that need more by queries of
    their own.

    ``value`` is Int64 on the fast path (128-bit group sums are several times
    slower); then ``magnitude``, the same value computed in floats, is summed
    as ``MAGNITUDE`` to tell the caller whether any Int64 product or sum could
    have overflowed, in which case it folds again with 128-bit values.
    """
    status = pl.col(STATUS)
    conflict = status == REJECTED
    ids = [c.id for c in plan.components]
    used = status == USED
    # Per-row columns first, plain sums in the group-by: several times faster than
    # conditional expressions inside ``agg``.
    columns = [
        pl.when(used & (pl.col(COMPONENT) == ids.index(c.id))).then(value).otherwise(0).alias(c.id)
        for c in plan.of_source(source)
    ]
    if forward is not None:  # rows outside the run's window may count towards the rating day
        live = status.is_in([USED, OUTSIDE])
        columns += [
            pl.when(live & (pl.col(COMPONENT) == ids.index(c.id)))
            .then(forward)
            .otherwise(0)
            .alias(forward_column(c.id))
            for c in plan.of_source(source)
        ]
    if magnitude is not None:  # over the rows either sum counts (``fold_*``: both terms)
        measured = used if forward is None else status.is_in([USED, OUTSIDE])
        columns.append(pl.when(measured).then(magnitude).otherwise(0.0).alias(MAGNITUDE))
    names = rows.collect_schema().names()
    summed_too = [c for c in (BROKEN, *OVERDRAWN, *JOINT) if c in names]  # sums of their own
    values = [c.meta.output_name() for c in columns] + summed_too
    counts = [(status == s).cast(pl.UInt32).alias(count_column(s)) for s in range(6)]
    summed = [*values, *(c.meta.output_name() for c in counts)]
    # Most rows group by customer alone (one string key is far cheaper than three);
    # conflicting rows, usually few, group with their file and line. Rows held
    # without file and line (``folded_from``) are known to have none.
    lines = FILE_COL in names
    usual = rows.filter(~conflict) if lines and not alone else rows
    if magnitude is None:
        common = (
            usual.with_columns(*columns, *counts).group_by("customer_id").agg(pl.col(summed).sum())
        )
    else:
        tally = (code_table(plan, source, seen), seen) if alone else None
        common = _packed(
            usual.with_columns(*columns), values, REJECTED if alone else DUPLICATE, tally
        )
    if alone:  # the others from no rows, for their columns (not from ``rows``: no cache)
        rows = pl.LazyFrame(schema=rows.collect_schema())
    special = (
        (rows if lines else _without_rows(rows))
        .filter(conflict)
        .with_columns(
            *columns,
            *counts,
            pl.col(FILE_COL).alias(CONFLICT_FILE),
            pl.col(LINE_COL).alias(CONFLICT_LINE),
        )
        .group_by("customer_id", CONFLICT_FILE, CONFLICT_LINE)
        .agg(
            pl.col(summed).sum(),
            pl.col(conflict_column(key)).first().cast(pl.String).alias(CONFLICT_VALUE),
        )
    )
    return pl.concat([special, common, per_code(rows, code_col)], how="diagonal")


def per_code(rows: pl.LazyFrame, code: str) -> pl.LazyFrame:
    """Unmapped rows per code, as a fold's code groups (``CODE``, ``CODE_ROWS``)."""
    unmapped = rows.filter(pl.col(STATUS) == UNMAPPED)
    return unmapped.group_by(pl.col(code).alias(CODE)).agg(pl.len().cast(pl.Int64).alias(CODE_ROWS))


def _without_rows(rows: pl.LazyFrame) -> pl.LazyFrame:
    """No rows, with the file and line a conflicting row would have: the conflicts'
    group-by then has its columns, though nothing to fold."""
    return rows.head(0).with_columns(
        pl.lit(None, pl.UInt16).alias(FILE_COL), pl.lit(None, pl.Int64).alias(LINE_COL)
    )


def _packed(
    rows: pl.LazyFrame,
    values: list[str],
    third: int = DUPLICATE,
    tally: tuple[list[str], tuple[str, ...]] | None = None,
) -> pl.LazyFrame:
    """The usual rows' group-by with the status counts packed in one sum: excluded,
    outside and ``third`` (duplicate, or rejected where those are in the rows) rows
    in 21 bits each of one integer, unmapped rows in a plain count, used rows the
    rest of the group's rows (a third of the time of six count sums). Exact while no
    customer has 2**21 rows of a status; ``GROUP_ROWS`` lets the caller check that
    (``pipeline.exact_folds`` folds again with plain counts otherwise).

    ``tally`` (``code_table`` and the codes seen unmapped): unmapped rows are counted
    per code instead (``_tallies``), in columns kept in the result.
    """
    shifts = {EXCLUDED: 0, OUTSIDE: PACK_BITS, third: 2 * PACK_BITS}
    units = pl.Series([1 << shifts[s] if s in shifts else 0 for s in range(6)], dtype=pl.UInt64)
    packed = pl.lit(units).gather(pl.col(STATUS)).alias("_packed")
    unmapped = count_column(UNMAPPED)
    if tally is None:
        counted = [(pl.col(STATUS) == UNMAPPED).cast(pl.UInt32).alias(unmapped)]
    else:
        counted = _tallies(*tally)
    names = [c.meta.output_name() for c in counted]
    summed = (
        rows.with_columns(packed, *counted)
        .group_by("customer_id")
        .agg(pl.col(*values, "_packed", *names).sum(), pl.len().cast(pl.Int64).alias(GROUP_ROWS))
    )
    unpacked = {s: _field(pl.col("_packed"), n).cast(pl.UInt32) for s, n in shifts.items()}
    unpacked[UNMAPPED] = pl.col(unmapped) if tally is None else _tally_sum(len(tally[1]))
    used = pl.col(GROUP_ROWS) - pl.sum_horizontal(*unpacked.values()).cast(pl.Int64)
    absent = REJECTED if third == DUPLICATE else DUPLICATE  # the status not packed
    counts = {USED: used.cast(pl.UInt32), **unpacked, absent: pl.lit(0, pl.UInt32)}
    kept = [] if tally is None else names
    return summed.select(
        "customer_id",
        *values,
        *(counts[s].alias(count_column(s)) for s in range(6)),
        GROUP_ROWS,
        *kept,
    )


TALLY = "_tally"  # unmapped rows per code, packed (``_tallies``)


def _tallies(codes: list[str], seen: tuple[str, ...]) -> list[pl.Expr]:
    """Unmapped rows per code in a group-by's sums, packed like the status counts:
    a 21-bit field for each code in ``seen`` and a last one for any other code,
    three fields to a column, by ``CODE_INDEX`` in ``codes`` (``code_table`` with
    ``seen``). Counting them in the customers' group-by costs less than a group-by
    by code beside it, which makes polars hold the rows (see ``_fold``); ``seen``
    comes from a first look at the input."""
    field = [seen.index(c) if c in seen else len(seen) for c in [*codes, None]]
    unmapped = pl.col(STATUS) == UNMAPPED
    columns = []
    for first in range(0, len(seen) + 1, 3):
        units = [1 << PACK_BITS * (f - first) if first <= f < first + 3 else 0 for f in field]
        unit = pl.lit(pl.Series(units, dtype=pl.UInt64)).gather(pl.col(CODE_INDEX))
        columns.append(pl.when(unmapped).then(unit).otherwise(0).alias(f"{TALLY}{first // 3}"))
    return columns


def _field(packed: pl.Expr, shift: int) -> pl.Expr:
    """The ``PACK_BITS`` field at ``shift`` of a packed sum."""
    return packed // (1 << shift) % (1 << PACK_BITS)


def tally_field(index: int) -> pl.Expr:
    """One code's unmapped rows in a group, out of ``_tallies``' packed sums."""
    packed = pl.col(f"{TALLY}{index // 3}")
    return _field(packed, PACK_BITS * (index % 3)).cast(pl.Int64)


def _tally_sum(seen: int) -> pl.Expr:
    return pl.sum_horizontal(tally_field(f) for f in range(seen + 1)).cast(pl.UInt32)


def fold_balances(
    plan: Plan,
    rows: pl.LazyFrame,
    wide: bool = False,
    alone: bool = False,
    seen: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """Balance-days (积数) per customer and component: balance x days held, summed
    (with --fx, balance x the days' rates: see ``fx``)."""
    wide = wide or starts_wide(plan, "balances")
    days, forward_days = (FX_DAYS, FX_FORWARD) if plan.fx is not None else ("_days", FORWARD_DAYS)
    balance = counted_balance(plan)  # below zero counts as 0 where the rule set says so
    exact = balance.cast(pl.Int128 if wide else pl.Int64)
    if plan.shares > 1:  # "split": in shares (a joint holder's, or all of them)
        wide, exact = True, shared_balance(plan, rows)
    value = exact * pl.col(days)
    magnitude = None if wide else balance.cast(pl.Float64) * pl.col(days)
    forward = None
    if FORWARD_DAYS in rows.collect_schema().names():
        forward = exact * pl.col(forward_days)
        if magnitude is not None:
            magnitude = balance.cast(pl.Float64) * (pl.col(days) + pl.col(forward_days))
    return _fold(
        plan, "balances", rows, "product", value, BALANCE_KEY, magnitude, alone, seen, forward
    )


def shared_balance(plan: Plan, rows: pl.LazyFrame) -> pl.Expr:
    """The balance a row counts, in 128 bits; under "split" in ``plan.shares`` of it (a
    joint holder's ``SHARE``, every share of a row held alone), so that the share is
    exact and explain shows what the fold sums."""
    balance = counted_balance(plan).cast(pl.Int128)
    if plan.shares == 1:
        return balance
    share = pl.col(SHARE) if SHARE in rows.collect_schema().names() else pl.lit(plan.shares)
    return balance * share.fill_null(plan.shares)


def measure_balances(plan: Plan, lf: pl.LazyFrame, wide: bool = False) -> pl.LazyFrame:
    return fold_balances(plan, balance_rows(plan, lf), wide)


def fold_transactions(
    plan: Plan,
    rows: pl.LazyFrame,
    wide: bool = False,
    alone: bool = False,
    seen: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """``min(amount, cap) * fee_ratio`` per customer and component, in cent-millionths
    (with --fx, of ``Fx.scale`` parts of a cent, the amount converted before the cap)."""
    wide = wide or starts_wide(plan, "transactions")
    capped = pl.col("_capped")
    if plan.shares > 1:  # "split": balances are in shares of a cent, so transactions too
        wide, capped = True, capped.cast(pl.Int128) * plan.shares
    # (a converted amount past 64 bits is null here, and the float check folds again)
    counted = capped.cast(pl.Int128 if wide else pl.Int64, strict=False) * pl.col("fee_ratio")
    value = pl.when(pl.col("_fee_ok")).then(counted).otherwise(0)
    magnitude = None if wide else capped.cast(pl.Float64) * pl.col("fee_ratio")
    forward = None
    if FORWARD_DATED in rows.collect_schema().names():
        forward = pl.when(pl.col(FORWARD_DATED)).then(value).otherwise(0)
        if magnitude is not None:  # counted twice at most: in the window and forward
            magnitude = magnitude * 2
    return _fold(
        plan, "transactions", rows, "txn_type", value, TXN_KEY, magnitude, alone, seen, forward
    )


def measure_transactions(
    plan: Plan, lf: pl.LazyFrame, repeated: list[int], wide: bool = False
) -> pl.LazyFrame:
    return fold_transactions(plan, transaction_rows(plan, lf, repeated), wide)


# What a fold reads of a row: kept when rows are held in memory between the steps.
ROW_COLUMNS = (FILE_COL, LINE_COL, "customer_id", STATUS, COMPONENT)
FOLDED_FROM = {
    "balances": (*ROW_COLUMNS, "product", "balance", "_days"),
    "transactions": (*ROW_COLUMNS, "txn_type", "txn_id", "_capped", "_fee_ok", "fee_ratio"),
}
# Text a fold reads only of some rows: the code of unmapped rows, the id of conflicting ones.
_RARE_TEXT = {"product": UNMAPPED, "txn_type": UNMAPPED, "txn_id": REJECTED}


def folded_from(source: str, lines: bool = True) -> list[pl.Expr]:
    """``FOLDED_FROM`` as held between the steps: text the fold reads only of unmapped
    or conflicting rows is null in the others, so most rows hold no text but the
    customer's (copying every id and code into the held rows was a third of a step).
    ``lines=False`` where no row can conflict: only a conflict's file and line are read.
    """
    status = pl.col(STATUS)
    return [
        pl.when(status == _RARE_TEXT[c]).then(pl.col(c)).alias(c) if c in _RARE_TEXT else pl.col(c)
        for c in FOLDED_FROM[source]
        if lines or c not in (FILE_COL, LINE_COL)
    ] + [cs.by_name(*OVERDRAWN, *_OPTIONAL, require_all=False)]  # if counted


# read by a fold when present
_OPTIONAL = (FORWARD_DAYS, FORWARD_DATED, FX_DAYS, FX_FORWARD, SHARE, *JOINT)


def without_lines(held: pl.LazyFrame) -> pl.LazyFrame:
    """Held rows of which none conflicts, as the fold needs them (see ``folded_from``)."""
    return held.drop(FILE_COL, LINE_COL)


def fold_of(source: str) -> Callable[..., pl.LazyFrame]:
    return fold_balances if source == "balances" else fold_transactions


def needs_wide(folded: pl.DataFrame) -> bool:
    """Whether a fast fold must be folded again with 128-bit sums and plain counts:
    its float check says an Int64 sum may have overflowed, or a customer has too many
    rows of a status for the packed counts (``_packed``)."""
    if MAGNITUDE not in folded.columns:  # folded wide already (with --fx, always)
        return False
    big = folded.height and (folded[MAGNITUDE].max() or 0) >= INT64_SAFE
    return bool(big or (folded[GROUP_ROWS].max() or 0) >= 1 << PACK_BITS)


def without_checks(folded: pl.DataFrame) -> pl.DataFrame:
    """A fold without the columns ``needs_wide`` reads."""
    return folded.lazy().drop(MAGNITUDE, GROUP_ROWS, strict=False).collect()
