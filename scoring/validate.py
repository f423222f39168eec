"""Turning raw input columns into typed, exact values, and saying why a row is unusable.

CSV arrives as text and Parquet as typed columns; both are normalised to the
same shape: ids as trimmed strings, dates as Date, money as integer cents and
fee ratios as integer millionths. Parsing decimals from their text (rather than
through a float) keeps every cent exact. Each check yields a reason column, so a
bad row is reported with its column and value instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from .plan import RATIO_DIGITS
from .sources import FILE_COL, LINE_COL

REJECT_COLUMNS = ("file", "line", "column", "value", "reason")
_NUMBER = r"^([+-]?)(\d+)(?:\.(\d*))?$"
_MAX_INT_DIGITS = 15


@dataclass(frozen=True)
class Parsed:
    """A typed value and the reason it is unusable (null when it is fine)."""

    value: pl.Expr
    reason: pl.Expr


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String).str.strip_chars()


def _blank(name: str) -> pl.Expr:
    text = _text(name)
    return text.is_null() | (text == "")


def parse_id(name: str, dtype: pl.DataType) -> Parsed:
    value = _text(name)
    return Parsed(value, pl.when(_blank(name)).then(pl.lit(f"empty {name}")))


def parse_code(name: str, dtype: pl.DataType) -> Parsed:
    return parse_id(name, dtype)


def parse_date(name: str, dtype: pl.DataType) -> Parsed:
    """ISO dates, timestamps (date part), ``YYYYMMDD`` and ``YYYY/MM/DD``."""
    if dtype == pl.Date:
        value = pl.col(name)
    elif isinstance(dtype, pl.Datetime):
        value = pl.col(name).dt.date()
    else:
        text = _text(name)
        value = pl.coalesce(
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            text.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False).dt.date(),
            text.str.to_date("%Y%m%d", strict=False),
            text.str.to_date("%Y/%m/%d", strict=False),
        )
    reason = (
        pl.when(pl.col(name).is_null() | _blank(name))
        .then(pl.lit(f"empty {name}"))
        .when(value.is_null())
        .then(pl.lit("not a valid date"))
    )
    return Parsed(value, reason)


def _scaled(name: str, dtype: pl.DataType, digits: int) -> Parsed:
    """A decimal as an integer count of 10**-digits units, or why it is not one."""
    scale = 10**digits
    if dtype.is_integer():
        value = pl.col(name).cast(pl.Int64) * scale
        return Parsed(value, pl.lit(None, dtype=pl.String))
    if isinstance(dtype, pl.Decimal):
        physical = pl.col(name).cast(pl.Decimal(38, max(dtype.scale, digits))).to_physical()
        step = 10 ** max(dtype.scale - digits, 0)
        value = (physical // step).cast(pl.Int64)
        reason = pl.when((physical % step) != 0).then(pl.lit(f"more than {digits} decimal places"))
        return Parsed(value, reason)
    if dtype.is_float():
        raw = pl.col(name).cast(pl.Float64) * scale
        rounded = raw.round(0)
        reason = (
            pl.when(~raw.is_finite())
            .then(pl.lit("not a finite number"))
            .when(rounded.abs() >= 10.0 ** (_MAX_INT_DIGITS + digits))
            .then(pl.lit("too large"))
            .when((raw - rounded).abs() > 1e-6 * pl.max_horizontal(rounded.abs(), 1.0))
            .then(pl.lit(f"more than {digits} decimal places"))
        )
        return Parsed(pl.when(raw.is_finite()).then(rounded).cast(pl.Int64, strict=False), reason)
    text = _text(name)
    parts = text.str.extract_groups(_NUMBER)
    sign, whole, frac = (parts.struct.field(f) for f in ("1", "2", "3"))
    frac = frac.fill_null("")
    kept = frac.str.pad_end(digits, "0").str.slice(0, digits)
    extra = frac.str.slice(digits)
    magnitude = whole.str.to_integer(strict=False) * scale + kept.str.to_integer(strict=False)
    value = pl.when(sign == "-").then(-magnitude).otherwise(magnitude)
    reason = (
        pl.when(whole.is_null())
        .then(pl.lit("not a number"))
        .when(whole.str.len_chars() > _MAX_INT_DIGITS)
        .then(pl.lit("too large"))
        .when(extra.str.contains(r"[1-9]"))
        .then(pl.lit(f"more than {digits} decimal places"))
    )
    return Parsed(value, reason)


def parse_money(name: str, dtype: pl.DataType, *, positive: bool, optional: bool) -> Parsed:
    """Yuan to integer cents; ``optional`` money may be blank (unknown)."""
    parsed = _scaled(name, dtype, 2)
    blank = pl.col(name).is_null() | _blank(name)
    sign_rule = (parsed.value <= 0) if positive else (parsed.value < 0)
    sign_text = f"{name} must be > 0" if positive else f"negative {name}"
    reason = pl.when(blank).then(None if optional else pl.lit(f"empty {name}"))
    reason = reason.otherwise(
        pl.coalesce(parsed.reason, pl.when(sign_rule).then(pl.lit(sign_text)))
    )
    return Parsed(pl.when(~blank).then(parsed.value), reason)


def parse_ratio(name: str, dtype: pl.DataType) -> Parsed:
    """A share in [0, 1] as millionths; blank means the full fee (1)."""
    parsed = _scaled(name, dtype, RATIO_DIGITS)
    blank = pl.col(name).is_null() | _blank(name)
    scale = 10**RATIO_DIGITS
    out_of_range = (parsed.value < 0) | (parsed.value > scale)
    reason = (
        pl.when(blank)
        .then(None)
        .otherwise(
            pl.coalesce(parsed.reason, pl.when(out_of_range).then(pl.lit(f"{name} outside [0, 1]")))
        )
    )
    return Parsed(pl.when(blank).then(pl.lit(scale)).otherwise(parsed.value), reason)


Parser = Callable[[str, pl.DataType], Parsed]

BALANCE_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "account_id": parse_id,
    "product": parse_code,
    "date": parse_date,
    "balance": lambda n, t: parse_money(n, t, positive=False, optional=False),
}
TRANSACTION_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "txn_id": parse_id,
    "date": parse_date,
    "txn_type": parse_code,
    "amount": lambda n, t: parse_money(n, t, positive=True, optional=False),
    "fee": lambda n, t: parse_money(n, t, positive=False, optional=True),
    "fee_ratio": parse_ratio,
}


def validate(lf: pl.LazyFrame, parsers: dict[str, Parser]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Split one file's rows into typed good rows and a rejects table.

    A row with several problems gets one rejects line per problem; its good
    columns are dropped with it, since a half-valid row cannot be scored.
    """
    schema = lf.collect_schema()
    parsed = {name: parse(name, schema[name]) for name, parse in parsers.items()}
    why = {name: f"_why_{name}" for name in parsers}
    checked = lf.with_columns(
        *(p.reason.alias(why[name]) for name, p in parsed.items()),
    )
    rejects = pl.concat(
        [
            checked.filter(pl.col(why[name]).is_not_null()).select(
                pl.col(FILE_COL).alias("file"),
                pl.col(LINE_COL).cast(pl.Int64).alias("line"),
                pl.lit(name).alias("column"),
                pl.col(name).cast(pl.String).alias("value"),
                pl.col(why[name]).alias("reason"),
            )
            for name in parsers
        ],
        how="vertical",
    )
    ok = pl.all_horizontal(pl.col(w).is_null() for w in why.values())
    good = checked.filter(ok).select(
        pl.col(FILE_COL),
        pl.col(LINE_COL).cast(pl.Int64),
        *(p.value.alias(name) for name, p in parsed.items()),
    )
    return good, rejects


def reject_frame(rows: pl.LazyFrame, reason: pl.Expr, column: str) -> pl.LazyFrame:
    """Rejects for rows found bad after parsing (e.g. conflicting duplicates)."""
    return rows.select(
        pl.col(FILE_COL).alias("file"),
        pl.col(LINE_COL).alias("line"),
        pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value"),
        reason.alias("reason"),
    )
