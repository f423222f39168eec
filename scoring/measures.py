"""Measures on the polars engine: balance-days (积数) and cumulative amounts.

Each input becomes one stream of rows, every row with a status, folded by
``customer_id`` into exact per-component sums and per-status row counts.
Conflicting rows (usually few) are folded apart, with their file and line as
extra keys, and unmapped rows are also tallied by code alone. ``measure_in_steps`` runs this on one
machine (read and validate once, order balances by account, mark, fold) and in
every Spark task alike. The rule set reaches this module only as a compiled
``Plan`` of integers and code tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl
import polars.selectors as cs

from .overdraft import OVERDRAWN, counted_balance, overdrawn_columns
from .plan import Plan
from .sources import FILE_COL, LINE_COL
from .validate import DETAIL, bad_rows, good_rows

STATUSES = ("used", "excluded", "unmapped", "outside_window", "duplicate", "rejected")
USED, EXCLUDED, UNMAPPED, OUTSIDE, DUPLICATE, REJECTED = range(len(STATUSES))
STATUS = "_status"
COMPONENT = "_component"
CODE = "_code"
CODE_ROWS = "_code_rows"  # rows of an unmapped code, in a fold's code groups
CODE_INDEX = "_code_index"
HASH = "_hash"
NO_CAP = 2**63 - 1  # above any amount in cents (validation allows 15 integer digits)
CONFLICT_FILE = "_conflict_file"
CONFLICT_LINE = "_conflict_line"
CONFLICT_VALUE = "_conflict_value"
MAGNITUDE = "_magnitude"
INT64_SAFE = 2.0**62  # a float sum below this proves the Int64 sums did not overflow
GROUP_ROWS = "_group_rows"  # rows a fold group has, on the fast path (see ``_packed``)
PACK_BITS = 21  # rows of one status per customer a packed count holds exactly
BALANCE_KEY = ("account_id", "date")
BALANCE_CONTENT = ("customer_id", "product", "balance")
TXN_KEY = ("txn_id",)
TXN_CONTENT = ("customer_id", "date", "txn_type", "amount", "fee", "fee_ratio")
_EPOCH = date(1970, 1, 1)
_HASH_SEED = 20260101
# Towards the next rating day (``plan.Forward``), per row: a balance's days of the rating
# window, a transaction's "dated in it"; folded per component as ``forward_column``s.
FORWARD_DAYS = "_days_t"
FORWARD_DATED = "_dated_t"
FORWARD_PREFIX = "_fwd_"


def count_column(status: int) -> str:
    return f"_n_{STATUSES[status]}"


def forward_column(component: str) -> str:
    return f"{FORWARD_PREFIX}{component}"


def _day_of(when: date) -> int:
    return (when - _EPOCH).days


def conflict_reason(key: tuple[str, ...]) -> str:
    return "conflicting rows for the same " + " and ".join(key)


def conflict_column(key: tuple[str, ...]) -> str:
    """The cell a conflict is reported by: the balance, else the key itself (the id)."""
    return "balance" if key == BALANCE_KEY else key[0]


def conflict_rejects(rows: pl.LazyFrame, key: tuple[str, ...]) -> pl.LazyFrame:
    """Rejects lines for marked rows that conflict on ``key``."""
    column = conflict_column(key)
    return rows.filter(pl.col(STATUS) == REJECTED).select(
        pl.col(FILE_COL).alias("file"),
        pl.col(LINE_COL).alias("line"),
        pl.lit(column).alias("column"),
        shown_value(column, pl.col(column).cast(pl.String)).alias("value"),
        pl.lit(conflict_reason(key)).alias("reason"),
    )


def _marks(conflict: pl.Expr, repeat: pl.Expr) -> pl.Expr:
    return (
        pl.when(conflict)
        .then(pl.lit(REJECTED, pl.UInt8))
        .when(repeat)
        .then(pl.lit(DUPLICATE, pl.UInt8))
        .otherwise(pl.lit(None, pl.UInt8))
        .alias(STATUS)
    )


def _changed(column: str) -> pl.Expr:
    return (pl.col(column) != pl.col(column).shift(1)).fill_null(True)


def account_runs(ordered: pl.LazyFrame) -> pl.LazyFrame:
    """Rows in account order numbered by account (``_acct``: later steps compare
    integers), with ``_same_key`` where a row repeats the one before's account and date."""
    rows = ordered.with_columns(pl.col("account_id").rle_id().alias("_acct"))
    return rows.with_columns(((~_changed("_acct")) & (~_changed("date"))).alias("_same_key"))


def mark_balance_rows(lf: pl.LazyFrame, presorted: bool = False) -> pl.LazyFrame:
    """Balance rows sorted by account and date; exact repeats are duplicates, rows of one
    account and date that differ all conflict.

    Which of two conflicting rows is right is unknowable, so none is used. After
    the one sort (skipped when the caller checked that the rows are in order),
    every test compares neighbours (``account_runs``), and a key group conflicts
    when a running count of differing neighbours grows inside it (two fills, no
    hashing). Rows that already have ``_same_key`` are not numbered again.
    """
    ordered = lf if presorted else lf.sort(list(BALANCE_KEY))
    rows = ordered if "_same_key" in lf.collect_schema().names() else account_runs(ordered)
    differs = pl.col("_same_key") & pl.any_horizontal(_changed(c) for c in BALANCE_CONTENT)
    count = differs.cast(pl.UInt32).cum_sum()
    first = pl.when(~pl.col("_same_key")).then(count).forward_fill()
    group_ends = ~pl.col("_same_key").shift(-1).fill_null(False)
    last = pl.when(group_ends).then(count).backward_fill()
    return rows.with_columns(_marks(last > first, pl.col("_same_key")))


def mark_duplicates(
    lf: pl.LazyFrame, key: tuple[str, ...], content: tuple[str, ...]
) -> pl.LazyFrame:
    """The same marks on unsorted rows; meant for the few rows whose key repeats."""
    variants = pl.struct(list(content)).n_unique().over(list(key))
    first = pl.struct(list(key + content)).is_first_distinct()
    return lf.with_columns(_marks(variants > 1, ~first))


def id_hash(column: str = "txn_id", trim: bool = False) -> pl.Expr:
    """The hash that finds repeated transaction ids; ``trim`` for the raw text of CSV
    ids, which validation trims (typed ids are used as they are)."""
    text = pl.col(column).cast(pl.String)
    return (text.str.strip_chars() if trim else text).hash(_HASH_SEED)


def account_hash() -> pl.Expr:
    """The hash balances are ordered (``by_account``) and parted by."""
    return pl.col("account_id").hash(_HASH_SEED)


def repeated_hashes(hashes: pl.LazyFrame) -> pl.LazyFrame:
    """Of ``HASH``es (``id_hash`` of every row's id), those that occur more than once:
    sorting 64-bit hashes is several times faster than a hash table of every id,
    and reads only the id column."""
    ordered = hashes.select(pl.col(HASH).sort())
    return ordered.filter(pl.col(HASH) == pl.col(HASH).shift(1)).unique()


def part_of(source: str, parts: int, repeated: list[int]) -> pl.Expr:
    """Which part a row is measured in when an input is too large to measure at once.

    Balances by account, as an account's rows make its balance-days together;
    transactions by customer (folds stay small), except rows whose id repeats,
    which all go to part 0 so that duplicates and conflicts still meet.
    """
    if source == "balances":
        return account_hash() % parts
    by_customer = pl.col("customer_id").hash(_HASH_SEED) % parts
    if not repeated:
        return by_customer
    return pl.when(id_hash().is_in(repeated)).then(pl.lit(0, pl.UInt64)).otherwise(by_customer)


def mark_transaction_rows(lf: pl.LazyFrame, repeated: list[int]) -> pl.LazyFrame:
    """Transactions with duplicate and conflicting ids marked.

    ``repeated`` (from ``repeated_hashes``, usually empty) names the few ids
    that need a full comparison; every other row is unique without looking.
    """
    if not repeated:
        return lf.with_columns(_bad_marked(lf))
    flagged = lf.with_columns(id_hash().is_in(repeated).alias("_candidate"))
    return pl.concat(
        [
            flagged.filter(~pl.col("_candidate")).with_columns(
                pl.lit(None, pl.UInt8).alias(STATUS)
            ),
            mark_duplicates(flagged.filter(pl.col("_candidate")), TXN_KEY, TXN_CONTENT),
        ]
    ).drop("_candidate")


def _bad_marked(lf: pl.LazyFrame) -> pl.Expr:
    """``STATUS``: rejected for a bad row of a frame that still has them (``DETAIL``), so
    one pass can measure good rows and set bad ones apart (``_one_pass``); else unmarked."""
    if DETAIL not in lf.collect_schema().names():
        return pl.lit(None, pl.UInt8).alias(STATUS)
    return pl.when(pl.col(DETAIL).is_not_null()).then(pl.lit(REJECTED, pl.UInt8)).alias(STATUS)


def code_table(plan: Plan, source: str, seen: tuple[str, ...] = ()) -> list[str]:
    """Every code the rule set names for a source, then the unnamed codes ``seen``
    (their unmapped rows are counted per code, see ``_tallies``). A row's code becomes
    its position here once (one string lookup per row); every per-code property is
    then a gather from a small table, several times cheaper than a string lookup
    per property."""
    named = set(plan.codes[source]) | set(plan.excluded)
    if source == "transactions":
        named |= set(plan.caps)
    return sorted(named) + [c for c in seen if c not in named]


def code_index(plan: Plan, source: str, code: pl.Expr, seen: tuple[str, ...] = ()) -> pl.Expr:
    """The code's position in ``code_table``; any other code gets the position after
    the last."""
    codes = code_table(plan, source, seen)
    # An Enum of the named codes maps a row in about half the time of replace_strict;
    # a code outside it (and a null) becomes null, then the position after the last.
    position = code.cast(pl.Enum(codes), strict=False).to_physical().cast(pl.UInt32)
    return position.fill_null(len(codes)).alias(CODE_INDEX)


def _by_code(
    plan: Plan,
    source: str,
    value: Callable[[str | None], object],
    dtype: pl.DataType,
    seen: tuple[str, ...] = (),
) -> pl.Expr:
    """A per-code property by ``CODE_INDEX``; ``value(None)`` serves other codes."""
    codes = code_table(plan, source, seen)
    table = pl.Series([value(c) for c in codes] + [value(None)], dtype=dtype)
    return pl.lit(table).gather(pl.col(CODE_INDEX))


def _classify(
    plan: Plan, source: str, outside: pl.Expr, seen: tuple[str, ...] = ()
) -> list[pl.Expr]:
    """Status and component index of live rows (marked rows keep their mark); needs
    ``CODE_INDEX``.

    A rule set that scores nothing from a source (e.g. card tiers from balances
    only) excludes that source's rows rather than calling every code unmapped.
    """
    ids = [c.id for c in plan.components]
    mapped = plan.codes[source]
    scored = bool(plan.of_source(source))

    def component_of(code: str | None) -> int:
        return ids.index(mapped[code]) if code in mapped else -1

    component = _by_code(plan, source, component_of, pl.Int16, seen)
    excluded = _by_code(plan, source, lambda c: c in plan.excluded or not scored, pl.Boolean, seen)
    status = (
        pl.when(pl.col(STATUS).is_not_null())
        .then(pl.col(STATUS))
        .when(outside)
        .then(pl.lit(OUTSIDE, pl.UInt8))
        .when(pl.col(COMPONENT) >= 0)
        .then(pl.lit(USED, pl.UInt8))
        .when(excluded)
        .then(pl.lit(EXCLUDED, pl.UInt8))
        .otherwise(pl.lit(UNMAPPED, pl.UInt8))
    )
    return [component.alias(COMPONENT), status.alias(STATUS)]


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
    summed_too = [c for c in (BROKEN, *OVERDRAWN) if c in names]  # per-row sums of their own
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
    return pl.concat([special, common, _per_code(rows, code_col)], how="diagonal")


def _per_code(rows: pl.LazyFrame, code: str) -> pl.LazyFrame:
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
    (``pipeline._exact`` folds again with plain counts otherwise).

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


def _tally_field(index: int) -> pl.Expr:
    """One code's unmapped rows in a group, out of ``_tallies``' packed sums."""
    packed = pl.col(f"{TALLY}{index // 3}")
    return _field(packed, PACK_BITS * (index % 3)).cast(pl.Int64)


def _tally_sum(seen: int) -> pl.Expr:
    return pl.sum_horizontal(_tally_field(f) for f in range(seen + 1)).cast(pl.UInt32)


def balance_rows(
    plan: Plan,
    lf: pl.LazyFrame,
    presorted: bool = False,
    repeats: bool = True,
    seen: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """Each balance row with its status, component and ``_days``: the days of the window
    it holds, from its date until the day before the account's next usable row (or
    through the window's end). So a carry-in row before the window counts from the
    first day, days before an account's first row count nothing, and duplicate or
    conflicting rows are stepped over.

    ``repeats=False``: the caller found ``lf``'s good rows in account order with no
    account and date twice (``account_order``, ``_broken``), so there is nothing
    to mark, and an account's next usable row is the next good row. ``lf`` may still
    hold bad rows (``DETAIL``): they are marked rejected and are no one's next row.
    """
    start = _day_of(plan.window.start)
    stop = _day_of(plan.window.end) + 1  # exclusive
    day = pl.col("date").cast(pl.Int32)
    if repeats:
        marked = mark_balance_rows(lf, presorted)
        live = pl.col(STATUS).is_null()
        next_account = pl.when(live).then(pl.col("_acct")).shift(-1).backward_fill()
        next_day = pl.when(live).then(day).shift(-1).backward_fill()
        same = next_account == pl.col("_acct")
        until = pl.when(same).then(next_day).otherwise(stop)
    else:
        has_bad = DETAIL in lf.collect_schema().names()
        after = _next_good if has_bad else _next
        account, next_account, next_day = (
            pl.col("account_id"),
            pl.col("_next_acct"),
            pl.col("_next_day"),
        )
        marked = lf.with_columns(
            _bad_marked(lf), after(account).alias("_next_acct"), after(day).alias("_next_day")
        )
        # one comparison of the account texts serves the days and the order check
        same = pl.col("_same_acct")
        marked = marked.with_columns((next_account == account).alias("_same_acct"))
        until = pl.when(same).then(next_day).otherwise(stop)
        if has_bad:  # a one pass (``_one_pass``), which checks the order it assumes
            pairs = [(account, next_account), (day, next_day)]
            marked = marked.with_columns(_broken(pairs, same))
    days = (pl.min_horizontal(until, stop) - pl.max_horizontal(day, start)).clip(lower_bound=0)
    component, status = _classify(plan, "balances", pl.col("_days") == 0, seen)
    index = code_index(plan, "balances", pl.col("product"), seen)
    forward = [] if plan.forward is None else [_forward_days(plan, day, same, next_day)]
    rows = (
        marked.with_columns(days.alias("_days"), index, *forward)
        .with_columns(component)
        .with_columns(status)
    )
    overdrawn = overdrawn_columns(plan, pl.col(STATUS) == USED)  # "zero" rule sets only
    return rows.with_columns(overdrawn) if overdrawn else rows


def _forward_days(plan: Plan, day: pl.Expr, same: pl.Expr, next_day: pl.Expr) -> pl.Expr:
    """``FORWARD_DAYS``: the days of the rating window a row holds as the rows dated up
    to the as-of date tell it (a row after it is a change not yet made, so the last
    row on or before it holds through the window's end); what the watch measured in a
    second pass over the rows known on that date, with its own window."""
    forward = plan.forward
    assert forward is not None
    as_of, start, stop = _day_of(forward.as_of), _day_of(forward.start), _day_of(forward.end) + 1
    until = pl.when(same & (next_day <= as_of)).then(next_day).otherwise(stop)
    days = (pl.min_horizontal(until, stop) - pl.max_horizontal(day, start)).clip(lower_bound=0)
    return pl.when(day <= as_of).then(days).otherwise(0).alias(FORWARD_DAYS)


def _next(column: pl.Expr) -> pl.Expr:
    return column.shift(-1)


def _next_good(column: pl.Expr) -> pl.Expr:
    """The column in the next good row (bad rows, ``DETAIL``, are stepped over): two
    fills the streaming engine makes as rows pass, about as cheap as a plain shift."""
    return pl.when(pl.col(DETAIL).is_null()).then(column).shift(-1).backward_fill()


def fold_balances(
    plan: Plan,
    rows: pl.LazyFrame,
    wide: bool = False,
    alone: bool = False,
    seen: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """Balance-days (积数) per customer and component: balance x days held, summed."""
    balance = counted_balance(plan)  # below zero counts as 0 where the rule set says so
    value = balance.cast(pl.Int128 if wide else pl.Int64) * pl.col("_days")
    magnitude = None if wide else balance.cast(pl.Float64) * pl.col("_days")
    forward = None
    if FORWARD_DAYS in rows.collect_schema().names():
        forward = balance.cast(pl.Int128 if wide else pl.Int64) * pl.col(FORWARD_DAYS)
        if magnitude is not None:
            magnitude = balance.cast(pl.Float64) * (pl.col("_days") + pl.col(FORWARD_DAYS))
    return _fold(
        plan, "balances", rows, "product", value, BALANCE_KEY, magnitude, alone, seen, forward
    )


def measure_balances(plan: Plan, lf: pl.LazyFrame, wide: bool = False) -> pl.LazyFrame:
    return fold_balances(plan, balance_rows(plan, lf), wide)


def fee_codes(plan: Plan) -> list[str]:
    """Transaction codes of components that count only rows with a charged fee."""
    return [
        code
        for code, comp in plan.codes["transactions"].items()
        if any(c.id == comp and c.requires_fee for c in plan.components)
    ]


def transaction_rows(
    plan: Plan, lf: pl.LazyFrame, repeated: list[int], seen: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Each transaction with its status, component, ``_capped`` amount (cents) and
    ``_fee_ok``: a component that requires a fee counts a transaction only when its fee
    is known and positive (a missing fee is not evidence of a charged one)."""
    code = pl.col("txn_type")
    outside = ~pl.col("date").is_between(plan.window.start, plan.window.end, closed="both")
    source = "transactions"
    fees = fee_codes(plan)
    component, status = _classify(plan, source, outside, seen)
    cap = _by_code(plan, source, lambda c: plan.caps.get(c, NO_CAP), pl.Int64, seen)
    fee_required = _by_code(plan, source, lambda c: c in fees, pl.Boolean, seen)
    forward = plan.forward
    dated = []
    if forward is not None and forward.transactions:  # (see ``plan.Forward``)
        within = pl.col("date").is_between(forward.start, forward.as_of, closed="both")
        dated = [within.fill_null(False).alias(FORWARD_DATED)]
    return (
        mark_transaction_rows(lf, repeated)
        .with_columns(code_index(plan, source, code, seen))
        .with_columns(
            component,
            pl.min_horizontal(pl.col("amount"), cap).alias("_capped"),
            (~fee_required | (pl.col("fee").fill_null(0) > 0)).alias("_fee_ok"),
            *dated,
        )
        .with_columns(status)
    )


def fold_transactions(
    plan: Plan,
    rows: pl.LazyFrame,
    wide: bool = False,
    alone: bool = False,
    seen: tuple[str, ...] = (),
) -> pl.LazyFrame:
    """``min(amount, cap) * fee_ratio`` per customer and component, in cent-millionths."""
    capped = pl.col("_capped")
    counted = capped.cast(pl.Int128 if wide else pl.Int64) * pl.col("fee_ratio")
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
    ] + [cs.by_name(*OVERDRAWN, FORWARD_DAYS, FORWARD_DATED, require_all=False)]  # if counted


def without_lines(held: pl.LazyFrame) -> pl.LazyFrame:
    """Held rows of which none conflicts, as the fold needs them (see ``folded_from``)."""
    return held.drop(FILE_COL, LINE_COL)


# No common-subplan caching: a shared subplan would be held in memory whole.
NO_CSE = pl.QueryOptFlags(comm_subplan_elim=False)


def account_order(frame: pl.DataFrame) -> tuple[bool, bool]:
    """Whether balance rows already come sorted by account and date, as exports of a
    table clustered by account do (one pass over neighbours, against a sort of string
    keys several times as long), and whether, so sorted, a row repeats the account and
    date of the row before (then rows must be marked; most exports have none)."""
    account, day = pl.col("account_id"), pl.col("date")
    same = account == account.shift(1)
    ordered = (account > account.shift(1)) | (same & (day >= day.shift(1)))
    repeats = same & (day == day.shift(1))
    found = frame.lazy().select(
        ordered.fill_null(True).all().alias("ordered"),
        repeats.fill_null(False).any().alias("repeats"),
    )
    return found.collect().row(0)


def by_account(good: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by a 64-bit hash of the account and the date, in memory: over three
    times faster than a sort on the account text (and the in-memory sort is several
    times faster than the streaming one). Two accounts with one hash would
    interleave; that is checked, and then the rows are sorted by the text.

    Give it one chunk (``rechunk``): a sort gathers every column, and gathering
    from the hundreds of chunks a streaming collect leaves is slower than copying
    them into one first.
    """
    account, hashed = pl.col("account_id"), pl.col(HASH)
    ordered = good.with_columns(account_hash().alias(HASH)).sort(HASH, "date")
    clash = (hashed == hashed.shift(1)) & (account != account.shift(1))
    if ordered.select(clash.any()).item():
        return good.sort(list(BALANCE_KEY))
    return ordered.drop(HASH)


def _split(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Good rows (without a copy when there are no bad ones) and bad rows."""
    bad = bad_rows(frame.lazy()).collect()
    # lazily: the eager drop copies every column into one chunk (about 1 s a 30M rows)
    good = good_rows(frame.lazy()).collect() if bad.height else frame.lazy().drop(DETAIL).collect()
    return good, bad


BROKEN = "_broken"  # good rows out of key order (``_broken``), summed by the fold
IN_RUN = 1 << 32  # in ``BROKEN``: a row out of order within one account's rows
FIRST_ROWS = 100_000  # rows looked at first, to tell an input that needs the long way


def _broken(pairs: list[tuple[pl.Expr, pl.Expr]], same: pl.Expr | None = None) -> pl.Expr:
    """``BROKEN``: for a good row whose key, compared column by column with the next
    good row's (``pairs`` of this row's and the next's), does not sort strictly before
    it, 1, else 0. Summed to 0, the good rows come in key order with no key twice: no
    row repeats another, and an account's next row is its next good row.

    ``same``: the first columns are equal, where the caller has compared them already
    (the account's text, compared once); a row out of order where they are is out of
    order within one account's rows, and counts ``IN_RUN`` too (see ``_in_order``)."""
    after: pl.Expr | None = None
    for index in reversed(range(len(pairs))):
        this, then = pairs[index]
        if after is None:
            after = then > this
            continue
        equal = same if index == 0 and same is not None else then == this
        after = (then > this) | (equal & after)
    assert after is not None
    broken = pl.col(DETAIL).is_null() & ~after.fill_null(True)
    if same is None:
        return broken.cast(pl.UInt64).alias(BROKEN)
    inside = (broken & same.fill_null(False)).cast(pl.UInt64) * IN_RUN
    return (broken.cast(pl.UInt64) + inside).alias(BROKEN)


def _one_pass(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    check: bool,
    wide: bool,
    reread: bool,
    seen: tuple[str, ...] = (),
    hold: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """An input's folds and bad rows from one streaming pass that validates and
    measures every row as it is read, as if no row repeated another (so the next
    row of an account is its next good one); None when that does not hold, as
    ``_in_order`` tells (``check=False``: the caller knows no transaction id repeats),
    or when the rows would have to be held and ``hold`` is False.

    ``reread`` (typed files, cheap to read again): the pass folds the rows, holding
    none, in one group-by (see ``_fold``'s ``alone``) in which bad rows are only
    counted, and unmapped rows counted per code for the codes ``seen``; the few bad
    rows, or rows of unmapped codes not seen, are found after by queries of their
    own (``_counted_apart``). Otherwise (text would be parsed again) the pass holds
    the rows, bad ones apart, and the fold reads them from memory.
    """
    rows = _measured_rows(plan, source, checked, check, seen)  # seen: a code index only
    if reread:
        frame = fold_of(source)(plan, rows, wide, True, seen).collect(engine="streaming")
        if not _in_order(source, checked, frame, again=True):
            return None
        apart = _counted_apart(plan, source, checked, frame, seen)
        if apart is not None or not hold:
            return apart
    kept = [*folded_from(source), DETAIL, *([BROKEN] if check else [])]
    frame = rows.select(kept).collect(engine="streaming", optimizations=NO_CSE)
    if not _in_order(source, checked, frame):
        return None
    held, bad = _split(frame.lazy().drop(BROKEN, strict=False).collect())
    del frame
    folded = fold_of(source)(plan, without_lines(held.lazy()), wide)
    return folded.collect(engine="streaming"), bad


def fold_of(source: str) -> Callable[..., pl.LazyFrame]:
    return fold_balances if source == "balances" else fold_transactions


def _measured_rows(
    plan: Plan, source: str, checked: pl.LazyFrame, check: bool, seen: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Every row (bad ones marked rejected) measured as the one pass does, with
    ``BROKEN`` when ``check``."""
    if source == "balances":  # checks its order as it follows accounts
        return balance_rows(plan, checked, presorted=True, repeats=False, seen=seen)
    rows = transaction_rows(plan, checked, [], seen)
    if not check:
        return rows
    txn_id = pl.col("txn_id")
    return rows.with_columns(_broken([(txn_id, _next_good(txn_id))]))


def _in_order(source: str, checked: pl.LazyFrame, frame: pl.DataFrame, again: bool = False) -> bool:
    """Whether the rows are as the one pass took them: an account's good rows together
    and in date order, no transaction id twice. Rows in key order show it (``BROKEN``
    sums to 0). ``again`` (typed files, cheap to read again): rows out of key order
    only where one account's rows end, or ids out of order, as files each sorted on
    their own come (a cluster writes an export part by part), are read again for what
    the pass needs, instead of taking the long way: an account with two runs of rows
    (``_runs_repeat``), an id twice (``repeated_hashes``)."""
    total = int(frame[BROKEN].cast(pl.UInt64).sum()) if BROKEN in frame.columns else 0
    if not total:
        return True
    if not again or total >= IN_RUN:
        return False
    if source == "balances":
        return not _runs_repeat(checked)
    hashes = good_rows(checked).select(id_hash().alias(HASH))
    return repeated_hashes(hashes).collect(engine="streaming").height == 0


def _runs_repeat(checked: pl.LazyFrame) -> bool:
    """Whether some account's good rows come in more than one run: the account of each
    run's first row, read again (one column), found twice."""
    account = pl.col("account_id")
    good = good_rows(checked).select(account)
    firsts = good.filter(account.ne_missing(account.shift(1))).collect(engine="streaming")
    return bool(firsts.select(account.is_duplicated().any()).item())


def _first_look(
    plan: Plan, source: str, checked: pl.LazyFrame, check: bool
) -> tuple[str, ...] | None:
    """The codes found unmapped in the first ``FIRST_ROWS`` rows, or None when these
    are out of order already (the input is then measured the long way at once)."""
    rows = _measured_rows(plan, source, checked.head(FIRST_ROWS), check)
    code = "product" if source == "balances" else "txn_type"
    unmapped = pl.when(pl.col(STATUS) == UNMAPPED).then(pl.col(code)).unique().drop_nulls()
    found = [unmapped.implode().alias(CODE), *([pl.col(BROKEN).sum()] if check else [])]
    frame = rows.select(found).collect(engine="streaming")
    if not _in_order(source, checked, frame):
        return None
    return tuple(sorted(frame[CODE][0].to_list()))


def _counted_apart(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    frame: pl.DataFrame,
    seen: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The folds and bad rows, from an ``alone`` fold in which bad rows were counted
    as rejected and unmapped rows per code ``seen`` (``_tallies``). Bad rows, if
    any, are read again; so are transactions of a code the rule set does not map,
    if some were of a code not seen (a filter the Parquet reader applies as it
    reads, about a sixth of a full pass), and the accounts that have balances of
    such a code (``_unmapped_products``). None if those do not add up.
    """
    frame = frame.drop(DETAIL, BROKEN, strict=False)
    unmapped = int(frame[count_column(UNMAPPED)].cast(pl.Int64).sum())
    if f"{TALLY}0" in frame.columns:
        fields = range(len(seen) + 1)  # the codes seen, then any other
        found = frame.select(_tally_field(f).sum().alias(str(f)) for f in fields).row(0)
        counted, other = dict(zip(seen, found, strict=False)), found[-1]
    else:  # the wide fold counts unmapped rows, but not per code
        counted, other = {}, unmapped
    codes = _codes_of(counted)
    if other and source == "balances":
        found = _unmapped_products(plan, checked, tuple(counted))
        if int(found[CODE_ROWS].sum()) != other:
            return None
        codes = pl.concat([codes, found])
    elif other:
        codes = _unmapped_codes(plan, checked)
    frame = frame.drop([c for c in frame.columns if c.startswith(TALLY)])
    bad = bad_rows(checked)
    rejected = frame[count_column(REJECTED)].cast(pl.Int64).sum()
    if rejected:  # a bad row's customer (if it has one) was a group key
        count = pl.lit(0, pl.UInt32).alias(count_column(REJECTED))
        frame = frame.filter(pl.col("customer_id").is_not_null()).with_columns(count)
    if unmapped:
        frame = pl.concat([frame, codes], how="diagonal")
    if not rejected:
        return frame, pl.DataFrame(schema=bad.collect_schema())
    return frame, bad.collect(engine="streaming")


def _codes_of(counted: dict[str, int]) -> pl.DataFrame:
    """Rows per unmapped code as a fold's code groups (``CODE``, ``CODE_ROWS``)."""
    rows = {CODE: list(counted), CODE_ROWS: list(counted.values())}
    return pl.DataFrame(rows, schema={CODE: pl.String, CODE_ROWS: pl.Int64}).filter(
        pl.col(CODE_ROWS) > 0
    )


def _unmapped_codes(plan: Plan, checked: pl.LazyFrame) -> pl.DataFrame:
    """Rows per unmapped transaction code, read again: only rows of codes the rule
    set neither maps nor excludes can be unmapped, and a transaction's status
    depends on no other row's."""
    named = sorted(set(plan.codes["transactions"]) | set(plan.excluded))
    some = checked.filter(~pl.col("txn_type").is_in(named))
    rows = transaction_rows(plan, good_rows(some), [])
    return _per_code(rows, "txn_type").collect(engine="streaming")


def _unmapped_products(plan: Plan, checked: pl.LazyFrame, counted: tuple[str, ...]) -> pl.DataFrame:
    """Rows per unmapped balance code not ``counted`` already, read again. A balance
    row's status depends on its account's next good row, whatever that row's
    product, so the accounts with a good row of such a code are found first (a
    filter the Parquet reader applies as it reads), and then all their rows are
    read (another such filter) and measured as the pass measured them: the pass
    found every account's good rows together and in date order, and a filter
    keeps them so."""
    named = sorted(set(code_table(plan, "balances")) | set(counted))
    odd = good_rows(checked).filter(~pl.col("product").is_in(named))
    accounts = odd.select(pl.col("account_id").unique()).collect(engine="streaming")
    rows = checked.filter(pl.col("account_id").is_in(accounts["account_id"].implode()))
    measured = balance_rows(plan, rows, presorted=True, repeats=False)
    unseen = measured.filter(~pl.col("product").is_in(named))
    return _per_code(unseen, "product").collect(engine="streaming")


# How an input is measured (``Strategy.path``): the run records it (manifest.json's
# ``measuring``, the compute stage's line with --verbose), and a test may name one.
ONE_PASS = "one pass"  # rows in key order: validated, measured and folded as they are read
SORTED = "sorted"  # balances out of account order: held, sorted by account and date
SEARCHED = "ids searched"  # transactions out of id order: held, repeated ids found by hash
MARKED = "repeats marked"  # transactions whose repeated ids are known already: held, marked
STRATEGIES = (ONE_PASS, SORTED, SEARCHED, MARKED)


@dataclass(frozen=True)
class Strategy:
    """The path one input took, and why: chosen once from a first look at the rows
    (``choose``), or named by the caller; a one pass that finds rows out of order
    after that look ends on the other path, and says so."""

    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.path} ({self.why})"


def choose(
    plan: Plan, source: str, checked: pl.LazyFrame, repeated: list[int] | None
) -> tuple[Strategy, tuple[str, ...]]:
    """The strategy for an input, from a first look at ``FIRST_ROWS`` rows (and the
    unmapped codes that look found, which the one pass counts per code)."""
    long_way = SORTED if source == "balances" else SEARCHED
    if source == "transactions" and repeated:
        return Strategy(MARKED, "ids known to repeat"), ()
    seen = _first_look(plan, source, checked, source == "balances" or repeated is None)
    if seen is None:
        return Strategy(long_way, "first rows out of key order"), ()
    return Strategy(ONE_PASS, "first rows in key order"), seen


def measure_in_steps(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    wide: bool = False,
    reread: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``measure_how`` without the strategy (the Spark engine's tasks)."""
    folded, bad, _ = measure_how(plan, source, checked, repeated, wide, reread)
    return folded, bad


def measure_how(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    wide: bool = False,
    reread: bool = False,
    strategy: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Strategy]:
    """One input's folds and bad rows on one machine, and the ``Strategy`` that made
    them (``strategy``: a path of ``STRATEGIES`` to take instead of choosing one; the
    one pass still checks the order it assumes). Usually one streaming pass
    (``_one_pass``): balances in account order and transactions with no id twice,
    as exports of tables clustered by their key come. Otherwise each step on the
    polars engine that runs it fastest: balances are read again, put in order in
    memory (``by_account``) and marked; transactions are held, and the ids that
    repeat found (``_repeats_marked``). What ``measure_balances`` and
    ``measure_transactions`` compute, in steps.

    ``repeated`` (transactions): the hashes of ids that repeat (``repeated_hashes``),
    or None when not known yet: the one pass then checks that ids come in order. A
    first look at ``FIRST_ROWS`` rows sends an input in no order the other way at
    once. ``reread``: the input is cheap to read again (see ``_one_pass``).
    """
    how, seen = _strategy(plan, source, checked, repeated, strategy)
    if how.path == ONE_PASS:
        check = source == "balances" or repeated is None
        measured = _one_pass(plan, source, checked, check, wide, reread, seen)
        if measured is not None:
            return *measured, how
        long_way = SORTED if source == "balances" else SEARCHED
        how = Strategy(long_way, "rows out of key order after the first look")
    if how.path in (SORTED, SEARCHED):
        rows, bad = (_balances_ordered if source == "balances" else _ids_searched)(plan, checked)
    else:
        good, bad = _split(checked.collect(engine="streaming", optimizations=NO_CSE))
        rows = transaction_rows(plan, good.lazy(), repeated or [])
        held = rows.select(folded_from(source)).collect(engine="streaming")
        del good
        rows = held.lazy()
    return fold_of(source)(plan, rows, wide).collect(engine="streaming"), bad, how


def _strategy(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    named: str | None,
) -> tuple[Strategy, tuple[str, ...]]:
    """``choose``'s strategy, or the one ``named`` (checked: it must fit the input)."""
    if named is None:
        return choose(plan, source, checked, repeated)
    fits = {"balances": (ONE_PASS, SORTED), "transactions": (ONE_PASS, SEARCHED, MARKED)}
    if named not in fits[source]:
        raise ValueError(f"{source} are not measured by {named!r}")
    if named == ONE_PASS:  # the codes seen unmapped, which the pass counts per code
        seen = _first_look(plan, source, checked, source == "balances" or repeated is None)
        return Strategy(named, "named"), seen or ()
    if named == MARKED and repeated is None:  # it marks only the repeats it is given
        raise ValueError("'repeats marked' needs the repeated ids")
    return Strategy(named, "named"), ()


def measure_whole(
    plan: Plan, source: str, checked: pl.LazyFrame, wide: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """A typed input's folds and bad rows from the one pass that holds no rows
    (``_one_pass`` with ``reread``), whatever its size; None when it would have to
    hold them (rows out of key order): the caller then measures the input in parts.
    So an export in key order needs no parts, each of which reads the whole input."""
    return _looked_then_one_pass(plan, source, checked, True, wide, True, hold=False)


def _looked_then_one_pass(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    check: bool,
    wide: bool,
    reread: bool,
    hold: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """``_one_pass`` after ``_first_look``, which gives it the codes seen unmapped or
    (None) tells at once that the rows are out of order."""
    seen = _first_look(plan, source, checked, check)
    if seen is None:
        return None
    return _one_pass(plan, source, checked, check, wide, reread, seen, hold)


def _ids_searched(plan: Plan, checked: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Transactions whose ids do not come in order: held with each id's ``HASH``
    (hashed in the pass that reads them anyway), and the rows of ids that repeat
    marked (``_repeats_marked``)."""
    rows = transaction_rows(plan, checked, []).select(
        *folded_from("transactions"), DETAIL, id_hash().alias(HASH)
    )
    held, bad = _split(rows.collect(engine="streaming", optimizations=NO_CSE))
    return _repeats_marked(plan, checked, held.lazy()), bad


def _balances_ordered(plan: Plan, checked: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Balance rows not in account order, or with an account and date twice: held, put in
    account order in memory (``by_account``, unless they are in it) and marked."""
    good, bad = _split(checked.collect(engine="streaming", optimizations=NO_CSE))
    ordered, repeats = account_order(good)
    if not ordered:
        good = good.rechunk()  # one copy at a time: the chunked rows go here
        good = by_account(good)
        repeats = account_order(good)[1]
    if repeats:  # numbered once, in memory, for marking
        good = account_runs(good.lazy()).collect(engine="streaming")
    rows = balance_rows(plan, good.lazy(), presorted=True, repeats=repeats)
    held = rows.select(folded_from("balances", lines=repeats)).collect(engine="streaming")
    return held.lazy(), bad


def _repeats_marked(plan: Plan, checked: pl.LazyFrame, held: pl.LazyFrame) -> pl.LazyFrame:
    """Rows classified as if no id repeats, with ``HASH`` (``id_hash`` of each good
    row's id); the rows of ids that do repeat are measured again, marked.

    Hashing the ids in the pass that reads them anyway saves a read of the id
    column before it; the few repeats cost a second look at the input.
    """
    found = repeated_hashes(held.select(HASH)).collect()[HASH].to_list()
    if not found:
        return without_lines(held.drop(HASH))
    unique = held.filter(~pl.col(HASH).is_in(found)).drop(HASH)
    again = transaction_rows(plan, good_rows(checked).filter(id_hash().is_in(found)), found)
    rows = pl.concat([unique, again.select(folded_from("transactions"))])
    return rows.collect(engine="streaming", optimizations=NO_CSE).lazy()


def shown_value(column: str, cell: pl.Expr) -> pl.Expr:
    """A conflicting row's cell as a person reads it (balances back in yuan)."""
    if column == "balance":  # the magnitude's yuan and cents (an overdraft is below zero)
        cents = cell.cast(pl.Int64)
        sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        size = cents.abs()
        yuan, fen = (size // 100).cast(pl.String), (size % 100).cast(pl.String).str.zfill(2)
        return pl.concat_str(sign, yuan, pl.lit("."), fen)
    return cell
