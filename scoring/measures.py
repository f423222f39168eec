"""Measures on the polars engine: balance-days (积数) and cumulative amounts per customer.

Every input row is given a status (used, duplicate, rejected, outside_window,
excluded, unmapped) in the same pass that measures it, so the run's accounting
comes from the very frame that was scored. The rule set reaches this module
only as a compiled ``Plan`` of integers and code tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from .plan import Plan
from .sources import FILE_COL
from .validate import reject_frame

STATUS = "_status"
CODE = "_code"
COMPONENT = "_component"
VALUE = "_value"
BALANCE_KEY = ("account_id", "date")
BALANCE_CONTENT = ("customer_id", "product", "balance")
TXN_KEY = ("txn_id",)
TXN_CONTENT = ("customer_id", "date", "txn_type", "amount", "fee", "fee_ratio")
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Measured:
    """One input measured: per-customer values, row statuses and conflict rejects."""

    per_customer: pl.LazyFrame  # customer_id + one Int128 column per component
    rows: pl.LazyFrame  # customer_id, _code, _status for every parsed row
    rejects: pl.LazyFrame


def mark_duplicates(
    lf: pl.LazyFrame, key: tuple[str, ...], content: tuple[str, ...]
) -> pl.LazyFrame:
    """Exact repeats are used once; rows sharing a key with different content all conflict.

    Which of two conflicting rows is right is unknowable, so neither is used.
    """
    variants = pl.struct(list(content)).n_unique().over(list(key))
    first = pl.struct(list(key + content)).is_first_distinct()
    return lf.with_columns(
        pl.when(variants > 1)
        .then(pl.lit("rejected"))
        .when(~first)
        .then(pl.lit("duplicate"))
        .alias(STATUS)
    )


def conflicts(lf: pl.LazyFrame, key: tuple[str, ...], column: str) -> pl.LazyFrame:
    reason = pl.lit("conflicting rows for the same " + " and ".join(key))
    return reject_frame(lf.filter(pl.col(STATUS) == "rejected"), reason, column)


def _code_status(plan: Plan, source: str, code: pl.Expr) -> pl.Expr:
    mapped = list(plan.codes[source])
    return (
        pl.when(code.is_in(mapped))
        .then(pl.lit("used"))
        .when(code.is_in(list(plan.excluded)))
        .then(pl.lit("excluded"))
        .otherwise(pl.lit("unmapped"))
    )


def _component_of(plan: Plan, source: str, code: pl.Expr) -> pl.Expr:
    return code.replace_strict(plan.codes[source], default=None, return_dtype=pl.String)


def _per_customer(plan: Plan, source: str, rows: pl.LazyFrame) -> pl.LazyFrame:
    """One column per component of ``source``: the sum of row values, exact (Int128)."""
    used = rows.filter(pl.col(STATUS) == "used")
    return used.group_by("customer_id").agg(
        pl.when(pl.col(COMPONENT) == c.id)
        .then(pl.col(VALUE))
        .otherwise(0)
        .cast(pl.Int128)
        .sum()
        .alias(c.id)
        for c in plan.of_source(source)
    )


def measure_balances(plan: Plan, lf: pl.LazyFrame) -> Measured:
    """Carry each end-of-day balance forward to its account's next row, clipped to the window.

    A row holds from its date until the day before the account's next row (or
    through the window's end); so a carry-in row before the window counts from
    the first day, and days before an account's first row count nothing.
    """
    start = (plan.window.start - _EPOCH).days
    stop = (plan.window.end - _EPOCH).days + 1  # exclusive
    marked = mark_duplicates(lf, BALANCE_KEY, BALANCE_CONTENT)
    live = marked.filter(pl.col(STATUS).is_null()).sort(["account_id", "date"])
    day = pl.col("date").cast(pl.Int32)
    same_account = pl.col("account_id").shift(-1) == pl.col("account_id")
    next_day = pl.when(same_account).then(day.shift(-1)).otherwise(stop)
    days = (pl.min_horizontal(next_day, stop) - pl.max_horizontal(day, start)).clip(lower_bound=0)
    live = live.with_columns(days.alias("_days")).with_columns(
        pl.when(pl.col("_days") == 0)
        .then(pl.lit("outside_window"))
        .otherwise(_code_status(plan, "balances", pl.col("product")))
        .alias(STATUS),
        _component_of(plan, "balances", pl.col("product")).alias(COMPONENT),
        (pl.col("balance") * pl.col("_days")).alias(VALUE),
    )
    return Measured(
        per_customer=_per_customer(plan, "balances", live),
        rows=_status_rows(marked, live, "product"),
        rejects=conflicts(marked, BALANCE_KEY, "balance"),
    )


def measure_transactions(plan: Plan, lf: pl.LazyFrame) -> Measured:
    """``min(amount, cap) * fee_ratio`` per in-window transaction, in cent-millionths.

    A component that requires a fee counts a transaction only when its fee is
    known and positive: a missing fee is not evidence of a charged one.
    """
    marked = mark_duplicates(lf, TXN_KEY, TXN_CONTENT)
    live = marked.filter(pl.col(STATUS).is_null())
    in_window = pl.col("date").is_between(plan.window.start, plan.window.end, closed="both")
    code = pl.col("txn_type")
    cap = code.replace_strict(plan.caps, default=None, return_dtype=pl.Int64)
    fee_codes = [
        code_
        for code_, comp in plan.codes["transactions"].items()
        if any(c.id == comp and c.requires_fee for c in plan.components)
    ]
    counted = pl.min_horizontal(pl.col("amount"), cap).cast(pl.Int128) * pl.col("fee_ratio")
    fee_ok = ~code.is_in(fee_codes) | (pl.col("fee").fill_null(0) > 0)
    live = live.with_columns(
        pl.when(~in_window)
        .then(pl.lit("outside_window"))
        .otherwise(_code_status(plan, "transactions", code))
        .alias(STATUS),
        _component_of(plan, "transactions", code).alias(COMPONENT),
        pl.when(fee_ok).then(counted).otherwise(0).cast(pl.Int128).alias(VALUE),
    )
    return Measured(
        per_customer=_per_customer(plan, "transactions", live),
        rows=_status_rows(marked, live, "txn_type"),
        rejects=conflicts(marked, TXN_KEY, "txn_id"),
    )


def _status_rows(marked: pl.LazyFrame, live: pl.LazyFrame, code_col: str) -> pl.LazyFrame:
    cols = [pl.col(FILE_COL), pl.col("customer_id"), pl.col(code_col).alias(CODE), pl.col(STATUS)]
    return pl.concat(
        [
            marked.filter(pl.col(STATUS).is_not_null()).select(cols),
            live.select(cols),
        ]
    )
