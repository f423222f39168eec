"""Synthetic half-year exports of any size, for trying and benchmarking tierscore.

Built column-wise with polars: every random draw is ``hash(seed)`` of a row
number, so a million customers take seconds and no Python loop runs per row.
Codes come from the rule set, so the sample follows the rules it is scored by.
Output for a given seed is deterministic for a given polars version.
Large samples are written in parts of ``PART_CUSTOMERS`` customers to keep
memory flat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .errors import ConfigError
from .rules import RuleSet, load_rules
from .window import Window, half_year

PART_CUSTOMERS = 500_000
UNMAPPED_TYPES = ("ATM_QUERY", "ZZ99")
_FLOAT = 2.0**64


@dataclass(frozen=True)
class Shape:
    """How the synthetic bank looks: accounts, balance changes, transactions."""

    max_accounts: int = 4  # 1..4 per customer, 2.5 on average
    max_changes: int = 24  # 0..24 balance changes per account in the window, 12 on average
    max_txns: int = 60  # 0..60 transactions per customer, 30 on average


def _uniform(expr: pl.Expr, seed: int) -> pl.Expr:
    """A uniform [0, 1) draw keyed by ``expr`` (a row or entity number)."""
    return expr.hash(seed).cast(pl.Float64) / _FLOAT


def _pick(expr: pl.Expr, seed: int, choices: list[str]) -> pl.Expr:
    index = (_uniform(expr, seed) * len(choices)).cast(pl.Int64).clip(0, len(choices) - 1)
    return index.replace_strict(dict(enumerate(choices)), return_dtype=pl.String)


def _ids(prefix: str, number: pl.Expr, width: int) -> pl.Expr:
    return pl.concat_str(pl.lit(prefix), number.cast(pl.String).str.zfill(width))


def customers_frame(first: int, count: int, seed: int) -> pl.LazyFrame:
    """Customers with a wealth level spread over six orders of magnitude (every tier)."""
    number = pl.int_range(first, first + count, dtype=pl.Int64)
    u = _uniform(pl.col("n"), seed)
    dormant = _uniform(pl.col("n"), seed + 10) < 0.03  # accounts at 0, no transactions
    return (
        pl.LazyFrame()
        .select(number.alias("n"))
        .with_columns(
            _ids("C", pl.col("n"), 9).alias("customer_id"),
            # yuan of daily-average assets: 10 ** (0.5 .. 7.5), most customers small
            pl.when(dormant).then(0.0).otherwise(10.0 ** (0.5 + 7.0 * u**6)).alias("wealth"),
        )
    )


def balances_frame(
    customers: pl.LazyFrame, rules: RuleSet, window: Window, seed: int, shape: Shape
) -> pl.LazyFrame:
    """Sparse end-of-day rows: a carry-in row, then changes at distinct days, some closes."""
    products = [code for c in rules.by_source("balances") for code in c.codes]
    days = window.days
    accounts = (
        customers.with_columns(
            (_uniform(pl.col("n"), seed + 1) * shape.max_accounts).cast(pl.Int64).add(1).alias("k")
        )
        .with_columns(pl.int_ranges(0, pl.col("k")).alias("a"))
        .explode("a")
        .with_columns((pl.col("n") * 8 + pl.col("a")).alias("acct"))
        .with_columns(
            _ids("A", pl.col("acct"), 11).alias("account_id"),
            _pick(pl.col("acct"), seed + 2, products).alias("product"),
            (_uniform(pl.col("acct"), seed + 3) * (shape.max_changes + 1))
            .cast(pl.Int64)
            .alias("changes"),
        )
    )
    # one row in 10 accounts is dated after the window (the export ran late): skipped, counted
    late = (_uniform(pl.col("acct"), seed + 8) < 0.1).cast(pl.Int64)
    rows = accounts.with_columns(pl.int_ranges(-1, pl.col("changes") + late).alias("i")).explode(
        "i"
    )
    key = pl.col("acct") * 64 + pl.col("i") + 1
    step = (days // pl.max_horizontal(pl.col("changes"), 1)).cast(pl.Int64)
    offset = (
        pl.when(pl.col("i") < 0)
        .then(-1 - (_uniform(key, seed + 4) * 30).cast(pl.Int64))  # carry-in: December
        .when(pl.col("i") >= pl.col("changes"))
        .then(days + (_uniform(key, seed + 9) * 60).cast(pl.Int64))  # after the window
        .otherwise(
            pl.col("i") * days // pl.max_horizontal(pl.col("changes"), 1)
            + (_uniform(key, seed + 5) * step).cast(pl.Int64)
        )
    )
    share = 0.2 + 1.6 * _uniform(key, seed + 6)
    closing = (pl.col("i") == pl.col("changes") - 1) & (_uniform(pl.col("acct"), seed + 7) < 0.08)
    cents = (
        pl.when(closing)
        .then(0)
        .otherwise((pl.col("wealth") / pl.col("k") * share * 100).cast(pl.Int64))
    )
    return rows.select(
        "customer_id",
        "account_id",
        "product",
        (pl.lit(window.start) + pl.duration(days=offset)).alias("date"),
        cents.alias("cents"),
    )


def transactions_frame(
    customers: pl.LazyFrame, rules: RuleSet, window: Window, seed: int, shape: Shape
) -> pl.LazyFrame:
    """~30 transactions a customer over every type, excluded and unmapped ones included."""
    mapped = [code for c in rules.by_source("transactions") for code in c.codes]
    fee_codes = [code for c in rules.by_source("transactions") if c.requires_fee
                 for code in c.codes]  # fmt: skip
    types = ["POS"] * 8 + mapped + sorted(rules.excluded) + list(UNMAPPED_TYPES)
    rows = (
        customers.with_columns(
            pl.when(pl.col("wealth") > 0)
            .then((_uniform(pl.col("n"), seed + 11) * (shape.max_txns + 1)).cast(pl.Int64))
            .otherwise(0)
            .alias("m")
        )
        .with_columns(pl.int_ranges(0, pl.col("m")).alias("j"))
        .explode("j")
        .drop_nulls("j")
        .with_columns((pl.col("n") * 64 + pl.col("j")).alias("t"))
    )
    kind = _pick(pl.col("t"), seed + 12, types)
    # a few days before and after the window: skipped, counted
    offset = (_uniform(pl.col("t"), seed + 13) * (window.days + 20)).cast(pl.Int64) - 10
    amount = pl.col("wealth") * 0.003 * (0.1 + 3 * _uniform(pl.col("t"), seed + 14)) * 100
    amount = amount.cast(pl.Int64).clip(lower_bound=100)
    fee_roll = _uniform(pl.col("t"), seed + 15)
    fee = (
        pl.when(~pl.col("txn_type").is_in(fee_codes))
        .then(None)
        .when(fee_roll < 0.2)
        .then(0)
        .otherwise(pl.min_horizontal(pl.col("amount") // 200, 5000))
    )
    # discounts (share of the standard fee charged) on settlement and investment trades
    discounted = [c for c in mapped if c != "POS"]
    ratio = (
        pl.when(~pl.col("txn_type").is_in(discounted) | (fee_roll < 0.6))
        .then(None)
        .when(fee_roll < 0.8)
        .then(800_000)
        .otherwise(500_000)
    )
    return rows.with_columns(kind.alias("txn_type"), amount.alias("amount")).select(
        "customer_id",
        _ids("T", pl.col("t"), 12).alias("txn_id"),
        (pl.lit(window.start) + pl.duration(days=offset)).alias("date"),
        "txn_type",
        pl.col("amount").alias("cents"),
        fee.alias("fee_cents"),
        ratio.alias("ratio_millionths"),
    )


def _money(cents: str, fmt: str) -> pl.Expr:
    """Cents as decimal(18, 2) for Parquet, as ``123.45`` text for CSV."""
    return _scaled(cents, 2, 18, fmt)


def _scaled(units: str, digits: int, precision: int, fmt: str) -> pl.Expr:
    """An integer count of 10**-digits as decimal(precision, digits) for Parquet, as
    ``123.45`` text for CSV (trailing zeros of a fee ratio dropped: ``0.8``)."""
    col = pl.col(units)
    scale = 10**digits
    if fmt == "parquet":
        # exact: divide at the target scale (at scale 0 a decimal division rounds to units)
        return (col.cast(pl.Decimal(38, digits)) / scale).cast(pl.Decimal(precision, digits))
    fraction = (col % scale).cast(pl.String).str.zfill(digits)
    if digits > 2:
        fraction = fraction.str.strip_chars_end("0").replace("", "0")
    return pl.concat_str((col // scale).cast(pl.String), pl.lit("."), fraction)


def _refuse_non_empty(out: Path) -> None:
    """Part files of an earlier, larger sample would stay beside the new ones and be
    scored with them, and a folder of someone's own files would be overwritten: write
    only into folders that are missing or empty."""
    for name in ("balances", "transactions"):
        folder = out / name
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigError(
                "already holds files; give an --out whose balances/ and transactions/ "
                "are missing or empty",
                file=str(folder),
                key="--out",
            )


def write_sample(
    out: Path,
    customers: int,
    fmt: str = "parquet",
    seed: int = 1,
    window: Window | None = None,
    rules: str = "icbc-star",
    shape: Shape | None = None,
) -> dict[str, int]:
    """Write ``balances/`` and ``transactions/`` folders of part files; returns row counts."""
    window = window or half_year(2026, 1)
    shape = shape or Shape()
    ruleset = load_rules(rules)
    counts = {"customers": customers, "balances": 0, "transactions": 0}
    _refuse_non_empty(out)
    for name in ("balances", "transactions"):
        (out / name).mkdir(parents=True, exist_ok=True)
    for part, first in enumerate(range(0, customers, PART_CUSTOMERS)):
        people = customers_frame(first, min(PART_CUSTOMERS, customers - first), seed)
        bal = (
            balances_frame(people, ruleset, window, seed, shape)
            .with_columns(_money("cents", fmt).alias("balance"))
            .drop("cents")
        )
        txn = (
            transactions_frame(people, ruleset, window, seed, shape)
            .with_columns(
                _money("cents", fmt).alias("amount"),
                _money("fee_cents", fmt).alias("fee"),
                _scaled("ratio_millionths", 6, 7, fmt).alias("fee_ratio"),
            )
            .select("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")
        )
        for name, frame in (("balances", bal), ("transactions", txn)):
            target = out / name / f"part-{part:04d}.{fmt}"
            df = frame.collect()
            if fmt == "parquet":
                df.write_parquet(target)
            else:
                df.write_csv(target)
            counts[name] += df.height
    return counts
