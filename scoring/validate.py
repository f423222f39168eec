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
from .sources import EXTRA_COL, FILE_COL, LINE_COL

_NUMBER = r"^([+-]?)(\d+)(?:\.(\d*))?$"
_MAX_INT_DIGITS = 15


@dataclass(frozen=True)
class Parsed:
    """A typed value and the reason it is unusable (null when it is fine)."""

    value: pl.Expr
    reason: pl.Expr
    # Columns computed in a step before ``value`` and ``reason``, which read them:
    # an intermediate used several times is computed once (polars evaluates a
    # repeated subexpression again when it sits in several branches).
    pre: tuple[pl.Expr, ...] = ()


def _trimmed(name: str) -> str:
    """The column ``check`` fills with the trimmed text of column ``name`` (once:
    each parser reads it several times)."""
    return f"_trim_{name}"


def _text(name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    """CSV cells are trimmed; typed (Parquet) strings are data and used as they are."""
    if dtype is not None and dtype != pl.String:
        return pl.col(name).cast(pl.String)
    return pl.col(_trimmed(name))


def _blank(name: str, dtype: pl.DataType | None = None) -> pl.Expr:
    """Null, or only spaces in a text column (typed columns are never cast to text)."""
    if dtype is not None and dtype != pl.String:
        return pl.col(name).is_null()
    text = _text(name)
    return text.is_null() | (text == "")


def parse_id(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """Ids and codes. From CSV (all text) they are trimmed of spaces; from a typed
    file (Parquet) they are used as they are, and only null or "" is empty."""
    if typed:
        value = pl.col(name).cast(pl.String)
        blank = value.is_null() | (value.str.len_bytes() == 0)
    else:
        value = _text(name)
        blank = _blank(name, dtype)
    return Parsed(value, pl.when(blank).then(pl.lit(f"empty {name}")))


def parse_text(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """Free text carried through (branch, manager, any other attribute): never a reason
    to reject; CSV cells are trimmed, and a blank cell is empty (null) in any file."""
    if typed:  # kept as it is, but only spaces is as empty as in a CSV
        value = pl.col(name).cast(pl.String)
        return Parsed(pl.when(value.str.strip_chars() != "").then(value), pl.lit(None, pl.String))
    text = _text(name, dtype)
    return Parsed(pl.when(text != "").then(text), pl.lit(None, pl.String))


def parse_code(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    return parse_id(name, dtype, typed=typed)


def parse_date(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """ISO dates, timestamps (date part), ``YYYYMMDD`` and ``YYYY/MM/DD``."""
    pre: tuple[pl.Expr, ...] = ()
    if dtype == pl.Date:
        value = pl.col(name)
    elif isinstance(dtype, pl.Datetime):
        value = pl.col(name).dt.date()
    else:
        iso = pl.col(f"_iso_{name}")
        # The other forms are tried on the rest only (null text parses for free):
        # every form tried on every row would cost five times one.
        rest = pl.when(iso.is_null()).then(_text(name, dtype))
        value = pl.coalesce(
            iso,
            rest.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            rest.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False).dt.date(),
            rest.str.to_date("%Y%m%d", strict=False),
            rest.str.to_date("%Y/%m/%d", strict=False),
        )
        pre = (_text(name).str.to_date("%Y-%m-%d", strict=False).alias(f"_iso_{name}"),)
    reason = (
        pl.when(_blank(name, dtype))
        .then(pl.lit(f"empty {name}"))
        .when(value.is_null())
        .then(pl.lit("not a valid date"))
    )
    return Parsed(value, reason, pre)


def _fits_int64(dtype: pl.Decimal, digits: int) -> bool:
    """Whether every value of the decimal type, in 10**-digits units, is below 10**18."""
    return (dtype.precision or 38) - dtype.scale + digits <= 18


def _scaled(name: str, dtype: pl.DataType, digits: int) -> Parsed:
    """A decimal as an integer count of 10**-digits units, or why it is not one."""
    scale = 10**digits
    if dtype.is_integer():
        value = pl.col(name).cast(pl.Int64) * scale
        return Parsed(value, pl.lit(None, dtype=pl.String))
    if isinstance(dtype, pl.Decimal) and dtype.scale <= digits and _fits_int64(dtype, digits):
        # nothing below the unit and no overflow possible: a rescale, no checks (the
        # wrapping cast skips a range check per value that cannot fail; a third faster)
        value = pl.col(name).to_physical().cast(pl.Int64, wrap_numerical=True)
        factor = 10 ** (digits - dtype.scale)
        return Parsed(value * factor if factor > 1 else value, pl.lit(None, dtype=pl.String))
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
    # One regex both checks the form and the decimals (extra decimals must be zeros),
    # so that the cast below, which would truncate, only ever sees exact values.
    form = rf"^[+-]?\d{{1,{_MAX_INT_DIGITS}}}(\.\d{{0,{digits}}}0*)?$"
    exact = pl.col(f"_exact_{name}")
    value = (
        pl.when(exact)
        .then(text)
        .cast(pl.Decimal(38, digits), strict=False)
        .to_physical()
        .cast(pl.Int64)
    )
    odd = pl.when(~exact).then(text)  # why is only asked of the few inexact cells
    reason = (
        pl.when(exact)
        .then(None)
        .when(~odd.str.contains(_NUMBER))
        .then(pl.lit("not a number"))
        .when(odd.str.contains(rf"^[+-]?\d{{{_MAX_INT_DIGITS + 1},}}"))
        .then(pl.lit("too large"))
        .otherwise(pl.lit(f"more than {digits} decimal places"))
    )
    return Parsed(value, reason, (text.str.contains(form).alias(f"_exact_{name}"),))


def parse_money(name: str, dtype: pl.DataType, *, positive: bool, optional: bool) -> Parsed:
    """Yuan to integer cents; ``optional`` money may be blank (unknown)."""
    parsed = _scaled(name, dtype, 2)
    blank = _blank(name, dtype)
    sign_rule = (parsed.value <= 0) if positive else (parsed.value < 0)
    sign_text = f"{name} must be > 0" if positive else f"negative {name}"
    reason = pl.when(blank).then(None if optional else pl.lit(f"empty {name}"))
    reason = reason.otherwise(
        pl.coalesce(parsed.reason, pl.when(sign_rule).then(pl.lit(sign_text)))
    )
    return Parsed(pl.when(~blank).then(parsed.value), reason, parsed.pre)


def parse_ratio(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """A share in [0, 1] as millionths; blank means the full fee (1)."""
    parsed = _scaled(name, dtype, RATIO_DIGITS)
    blank = _blank(name, dtype)
    scale = 10**RATIO_DIGITS
    out_of_range = (parsed.value < 0) | (parsed.value > scale)
    reason = (
        pl.when(blank)
        .then(None)
        .otherwise(
            pl.coalesce(parsed.reason, pl.when(out_of_range).then(pl.lit(f"{name} outside [0, 1]")))
        )
    )
    return Parsed(pl.when(blank).then(pl.lit(scale)).otherwise(parsed.value), reason, parsed.pre)


def parse_flag(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """true/false, 1/0, y/n, yes/no, 是/否 (any case); blank means false (no blemish known)."""
    if dtype == pl.Boolean:
        return Parsed(pl.col(name).fill_null(False), pl.lit(None, pl.String))
    text = _text(name).str.to_lowercase()
    value = (
        pl.when(text.is_in(["true", "1", "y", "yes", "是", "t"]))
        .then(True)
        .when(text.is_in(["false", "0", "n", "no", "否", "f", ""]) | text.is_null())
        .then(False)
    )
    return Parsed(value, pl.when(value.is_null()).then(pl.lit("not true or false")))


def parse_count(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """A whole number >= 0; blank means 0."""
    if dtype.is_integer():
        value = pl.col(name).cast(pl.Int64).fill_null(0)
        return Parsed(value, pl.when(value < 0).then(pl.lit(f"negative {name}")))
    text = _text(name, dtype)
    value = pl.when(_blank(name, dtype)).then(0).otherwise(text.str.to_integer(strict=False))
    reason = (
        pl.when(value.is_null())
        .then(pl.lit("not a whole number"))
        .when(value < 0)
        .then(pl.lit(f"negative {name}"))
    )
    return Parsed(value, reason)


Parser = Callable[..., Parsed]  # (name, dtype, *, typed) -> Parsed

BALANCE_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "account_id": parse_id,
    "product": parse_code,
    "date": parse_date,
    "balance": lambda n, t, typed: parse_money(n, t, positive=False, optional=False),
}
TRANSACTION_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "txn_id": parse_id,
    "date": parse_date,
    "txn_type": parse_code,
    "amount": lambda n, t, typed: parse_money(n, t, positive=True, optional=False),
    "fee": lambda n, t, typed: parse_money(n, t, positive=False, optional=True),
    "fee_ratio": parse_ratio,
}


FIELD, PROBLEM = "\x1f", "\x1e"  # separators inside DETAIL: column/value/reason, problems
DETAIL = "_detail"


def check(lf: pl.LazyFrame, parsers: dict[str, Parser], typed: bool = False) -> pl.LazyFrame:
    """Every row of one file typed, with ``DETAIL``: null for a good row, else every
    problem the row has (see ``detail``); the raw text of a bad cell is only produced
    for bad rows. One frame for both, so one pass over the input both scores and
    reports it (``good_rows`` and ``bad_rows`` split it)."""
    schema = lf.collect_schema()
    parsed = {name: parse(name, schema[name], typed=typed) for name, parse in parsers.items()}
    if EXTRA_COL in schema:  # a CSV row with more fields than the header
        parsed[EXTRA_COL] = _extra_fields()
    why = {name: f"_why_{name}" for name in parsed}
    # Steps of intermediate columns; polars' optimizer leaves out what nothing reads.
    checked = lf.with_columns(
        pl.col(n).cast(pl.String).str.strip_chars().alias(_trimmed(n)) for n in parsers
    )
    pre = [column for p in parsed.values() for column in p.pre]
    if pre:
        checked = checked.with_columns(*pre)
    checked = checked.with_columns(
        *(p.reason.alias(why[name]) for name, p in parsed.items()),
        *(p.value.alias(f"_ok_{name}") for name, p in parsed.items() if name in parsers),
    )
    ok = pl.all_horizontal(pl.col(w).is_null() for w in why.values())
    problems = [
        pl.when(pl.col(why[name]).is_not_null()).then(
            detail(pl.lit(_shown(name)), pl.col(name).cast(pl.String), pl.col(why[name]))
        )
        for name in parsed
    ]
    problem_list = pl.concat_str(problems, separator=PROBLEM, ignore_nulls=True)
    return checked.select(
        pl.col(FILE_COL),
        pl.col(LINE_COL).cast(pl.Int64),
        *(pl.col(f"_ok_{name}").alias(name) for name in parsers),
        pl.when(~ok).then(problem_list).alias(DETAIL),
    )


def good_rows(checked: pl.LazyFrame) -> pl.LazyFrame:
    return checked.filter(pl.col(DETAIL).is_null()).drop(DETAIL)


def bad_rows(checked: pl.LazyFrame) -> pl.LazyFrame:
    return checked.filter(pl.col(DETAIL).is_not_null()).select(FILE_COL, LINE_COL, DETAIL)


def validate(
    lf: pl.LazyFrame, parsers: dict[str, Parser], typed: bool = False
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """One file's rows split into typed good rows and rejected rows with their problems."""
    checked = check(lf, parsers, typed)
    return good_rows(checked), bad_rows(checked)


def _shown(column: str) -> str:
    return "(beyond the header)" if column == EXTRA_COL else column


def _extra_fields() -> Parsed:
    """The row has a field beyond the header's: which of its fields is which is
    unknowable (an unquoted "1,000.00" shifts nothing but splits the amount)."""
    extra = pl.col(EXTRA_COL)
    return Parsed(extra, pl.when(extra.is_not_null()).then(pl.lit("more fields than the header")))


def detail(column: pl.Expr, value: pl.Expr, reason: pl.Expr) -> pl.Expr:
    """One problem as text: column, raw value and reason, joined by ``FIELD``."""
    return pl.concat_str([column, value.fill_null(""), reason], separator=FIELD)


def rejects_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Expand rows of (file, line, DETAIL) into one rejects line per problem."""
    parts = (
        rows.select(
            pl.col(FILE_COL).alias("file"),
            pl.col(LINE_COL).alias("line"),
            pl.col(DETAIL).str.split(PROBLEM),
        )
        .explode(DETAIL)
        .with_columns(pl.col(DETAIL).str.split_exact(FIELD, 2))
        .unnest(DETAIL)
    )
    return parts.rename({"field_0": "column", "field_1": "value", "field_2": "reason"}).select(
        "file", "line", "column", "value", "reason"
    )
