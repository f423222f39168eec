"""Each input row with its status, component and the value a fold sums.

A row's status (``STATUSES``) says whether it counts and, if not, why: used,
excluded, unmapped, outside the window, a duplicate, or rejected (a bad row, or one
of rows that conflict on a key). Balance rows also get ``_days``, the window days
they hold until the account's next usable row; transactions their capped amount.
Repeats are found by comparing neighbours (balances, in account order) or by
hashing ids (transactions), and marked only where a key repeats. Everything here is
a polars expression over the rows; the strategy that feeds them in is ``measures``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from .fx import FX_DAYS, FX_FORWARD, amount_in_yuan, held_in_yuan
from .joint import HOLDER, HOLDERS, JT_ACCOUNTS, JT_ROWS, SHARE
from .overdraft import overdrawn_columns
from .plan import MOST_HOLDERS, SHARES, Plan
from .sources import FILE_COL, LINE_COL
from .validate import DETAIL
from .window import day_of, window_span

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
BALANCE_KEY = ("account_id", "date")
BALANCE_CONTENT = ("customer_id", "product", "balance")
TXN_KEY = ("txn_id",)
TXN_CONTENT = ("customer_id", "date", "txn_type", "amount", "fee", "fee_ratio")
_HASH_SEED = 20260101
# Towards the next rating day (``plan.Forward``), per row: a balance's days of the rating
# window, a transaction's "dated in it"; folded per component as ``forward_column``s.
FORWARD_DAYS = "_days_t"
FORWARD_DATED = "_dated_t"
FORWARD_PREFIX = "_fwd_"


def content_of(content: tuple[str, ...], names: list[str]) -> tuple[str, ...]:
    """What two rows of one key must share to be repeats: with a currency column, the
    currency too (USD 100 and HKD 100 on one account and day conflict)."""
    return (*content, "currency") if "currency" in names else content


def count_column(status: int) -> str:
    return f"_n_{STATUSES[status]}"


def forward_column(component: str) -> str:
    return f"{FORWARD_PREFIX}{component}"


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


def mark_balance_rows(
    lf: pl.LazyFrame, presorted: bool = False, joint: str = "reject"
) -> pl.LazyFrame:
    """Balance rows sorted by account and date; exact repeats are duplicates, rows of one
    account and date that differ all conflict, except a joint account's (``joint``
    "each" or "split"): rows that differ only in ``customer_id`` are its holders, each
    live (one row per holder; a holder's repeat is a duplicate), with ``HOLDERS``.

    Which of two conflicting rows is right is unknowable, so none is used. After
    the one sort (skipped when the caller checked that the rows are in order),
    every test compares neighbours (``account_runs``), and a key group conflicts
    when a running count of differing neighbours grows inside it (two fills, no
    hashing); a holder seen before in the group is found by a hash of the group and
    the customer. Rows that already have ``_same_key`` are not numbered again.
    """
    ordered = lf if presorted else lf.sort(list(BALANCE_KEY))
    names = lf.collect_schema().names()
    rows = ordered if "_same_key" in names else account_runs(ordered)
    content = content_of(BALANCE_CONTENT, names)
    shared = content if joint == "reject" else tuple(c for c in content if c != "customer_id")
    same = pl.col("_same_key")
    group_ends = ~same.shift(-1).fill_null(False)

    def grows(step: pl.Expr) -> pl.Expr:  # whether a running count grows inside a group
        count = step.cast(pl.UInt32).cum_sum()
        first = pl.when(~same).then(count - step.cast(pl.UInt32)).forward_fill()
        return pl.when(group_ends).then(count).backward_fill() - first

    conflict = grows(same & pl.any_horizontal(_changed(c) for c in shared)) > 0
    if joint == "reject":
        return rows.with_columns(_marks(conflict, same))
    group = (~same).cum_sum()
    who = pl.col(HOLDER if HOLDER in names else "customer_id")  # by unit (``holders_by_unit``)
    holder = pl.struct(group.alias("_g"), who).is_first_distinct()
    holders = grows(holder)
    if joint == "split":  # shares are whole for so many holders at most
        conflict = conflict | (holders > MOST_HOLDERS)
    marked = rows.with_columns(holders.cast(pl.UInt32).alias(HOLDERS), holder.alias("_first"))
    return marked.with_columns(_marks(conflict, ~pl.col("_first"))).drop("_first")


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
            mark_duplicates(
                flagged.filter(pl.col("_candidate")),
                TXN_KEY,
                content_of(TXN_CONTENT, flagged.collect_schema().names()),
            ),
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


def classify(
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
    account and date twice (``account_order``, ``broken``), so there is nothing
    to mark, and an account's next usable row is the next good row. ``lf`` may still
    hold bad rows (``DETAIL``): they are marked rejected and are no one's next row.
    """
    start, stop = window_span(plan.window.start, plan.window.end)
    day = pl.col("date").cast(pl.Int32)
    if repeats:
        marked = mark_balance_rows(lf, presorted, plan.ruleset.joint_accounts)
        live = pl.col(STATUS).is_null()
        # the next live row after the key group (a joint account's holders share a day)
        ends = ~pl.col("_same_key").shift(-1).fill_null(False)
        after = [pl.when(live).then(c).shift(-1).backward_fill() for c in (pl.col("_acct"), day)]
        next_account, next_day = (pl.when(ends).then(c).backward_fill() for c in after)
        same = next_account == pl.col("_acct")
        until = pl.when(same).then(next_day).otherwise(stop)
    else:
        has_bad = DETAIL in lf.collect_schema().names()
        after = next_good if has_bad else _next
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
            marked = marked.with_columns(broken(pairs, same))
    days = window_days(day, until, start, stop)
    component, status = classify(plan, "balances", pl.col("_days") == 0, seen)
    index = code_index(plan, "balances", pl.col("product"), seen)
    forward = [] if plan.forward is None else [_forward_days(plan, day, same, next_day)]
    rows = (
        marked.with_columns(days.alias("_days"), index, *forward)
        .with_columns(component, *in_yuan(plan, day))
        .with_columns(status)
    )
    overdrawn = overdrawn_columns(plan, pl.col(STATUS) == USED)  # "zero" rule sets only
    rows = rows.with_columns(overdrawn) if overdrawn else rows
    return rows.with_columns(joint_columns(plan)) if repeats and plan.joint else rows


def joint_columns(plan: Plan) -> list[pl.Expr]:
    """A joint account's rows (``HOLDERS`` > 1, marked rows only): ``JOINT`` counts, and
    under "split" each holder's ``SHARE``. Rows come by account, so an account's first
    joint row is the one whose last joint row before it is another account's."""
    joint = (pl.col(STATUS) == USED) & (pl.col(HOLDERS) > 1)
    account = pl.col("_acct")
    before = pl.when(joint).then(account).shift(1).forward_fill()
    columns = [
        joint.cast(pl.Int64).alias(JT_ROWS),
        (joint & before.ne_missing(account)).cast(pl.Int64).alias(JT_ACCOUNTS),
    ]
    if plan.ruleset.joint_accounts == "split":
        holders = pl.col(HOLDERS).clip(1, MOST_HOLDERS).cast(pl.Int64)
        columns.append((pl.lit(SHARES, pl.Int64) // holders).alias(SHARE))
    return columns


def in_yuan(plan: Plan, since: pl.Expr) -> list[pl.Expr]:
    """With --fx, a balance row's ``_days`` (and ``FORWARD_DAYS``) in rate units, from
    the day it holds ``since`` (``fx.rate_days``): what the fold sums instead."""
    if plan.fx is None:
        return []
    days = [held_in_yuan(plan, since, pl.col("_days"), plan.window.start, FX_DAYS)]
    if plan.forward is not None:
        start = plan.forward.start
        days.append(held_in_yuan(plan, since, pl.col(FORWARD_DAYS), start, FX_FORWARD))
    return days


def window_days(since: pl.Expr, until: pl.Expr, start: int, stop: int) -> pl.Expr:
    """The one day count of every balance layout: the days of the window ``start``..
    ``stop`` (days since 1970, ``stop`` excluded) that a balance holds from the day
    ``since`` until the day ``until`` (excluded: the next balance's day, or the end of
    an interval plus one)."""
    return (pl.min_horizontal(until, stop) - pl.max_horizontal(since, start)).clip(lower_bound=0)


def _forward_days(plan: Plan, day: pl.Expr, same: pl.Expr, next_day: pl.Expr) -> pl.Expr:
    """``FORWARD_DAYS``: the days of the rating window a row holds as the rows dated up
    to the as-of date tell it (a row after it is a change not yet made, so the last
    row on or before it holds through the window's end); what the watch measured in a
    second pass over the rows known on that date, with its own window."""
    forward = plan.forward
    assert forward is not None
    as_of = day_of(forward.as_of)
    start, stop = window_span(forward.start, forward.end)
    until = pl.when(same & (next_day <= as_of)).then(next_day).otherwise(stop)
    days = window_days(day, until, start, stop)
    return pl.when(day <= as_of).then(days).otherwise(0).alias(FORWARD_DAYS)


def _next(column: pl.Expr) -> pl.Expr:
    return column.shift(-1)


def next_good(column: pl.Expr) -> pl.Expr:
    """The column in the next good row (bad rows, ``DETAIL``, are stepped over): two
    fills the streaming engine makes as rows pass, about as cheap as a plain shift."""
    return pl.when(pl.col(DETAIL).is_null()).then(column).shift(-1).backward_fill()


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
    component, status = classify(plan, source, outside, seen)
    cap = _by_code(plan, source, lambda c: plan.caps.get(c, NO_CAP), pl.Int64, seen)
    amount = pl.col("amount")
    if plan.fx is not None:  # caps are yuan: they apply after conversion
        amount, cap = amount_in_yuan(plan, amount), cap.cast(pl.Int128) * plan.fx.scale
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
            pl.min_horizontal(amount, cap).alias("_capped"),
            (~fee_required | (pl.col("fee").fill_null(0) > 0)).alias("_fee_ok"),
            *dated,
        )
        .with_columns(status)
    )


BROKEN = "broken"  # good rows out of key order (``broken``), summed by the fold
IN_RUN = 1 << 32  # in ``BROKEN``: a row out of order within one account's rows


def broken(pairs: list[tuple[pl.Expr, pl.Expr]], same: pl.Expr | None = None) -> pl.Expr:
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


def shown_value(column: str, cell: pl.Expr) -> pl.Expr:
    """A conflicting row's cell as a person reads it (balances back in yuan)."""
    if column == "balance":  # the magnitude's yuan and cents (an overdraft is below zero)
        cents = cell.cast(pl.Int64)
        sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
        size = cents.abs()
        yuan, fen = (size // 100).cast(pl.String), (size % 100).cast(pl.String).str.zfill(2)
        return pl.concat_str(sign, yuan, pl.lit("."), fen)
    return cell
