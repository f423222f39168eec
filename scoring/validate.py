"""Turning raw input columns into typed, exact values, and saying why a row is unusable.

CSV arrives as text and Parquet as typed columns; both are normalised to the
same shape: ids as trimmed strings, dates as Date, money as integer cents and
fee ratios as integer millionths. Parsing decimals from their text (rather than
through a float) keeps every cent exact. Each check yields a reason column, so a
bad row is reported with its column and value instead of stopping the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import polars as pl

from .errors import ConfigError
from .layouts import OPEN_ENDS
from .plan import RATIO_DIGITS, Plan
from .sources import EXTRA_COL, FILE_COL, LINE_COL, SHORT_COL

# Every pattern names ASCII digits ([0-9]): the regex engine's \d is any Unicode digit
# (full-width, Arabic-Indic), which the casts after it then misread or leave empty.
_NUMBER = r"^[+-]?[0-9]+(?:\.[0-9]*)?$"
_MAX_INT_DIGITS = 15  # the documented limit; any value with more integer digits is "too large"
# The documented date forms, ASCII only: year of 4 digits, the other fields of 1 or 2
# (Excel writes 2026/3/5), or exactly 8 digits; no sign, no inner spaces.
_DATE = (
    r"^[0-9]{4}(?:-[0-9]{1,2}-[0-9]{1,2}(?:[ T][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2})?"
    r"|/[0-9]{1,2}/[0-9]{1,2}|[0-9]{4})$"
)
# Nothing a person can see: white space, control and format characters (zero-width
# space, byte order mark): such an id looks empty wherever it is shown.
_INVISIBLE = r"^[\s\p{Z}\p{Cc}\p{Cf}]*$"
FX_DIGITS = 8  # exchange rates (``fx``): yuan per unit, at most 8 decimals
MOST_RATE = 10**6  # and below this many yuan per unit (``parse_rate``)
CNY = "CNY"  # what a balance or transaction is in when no currency is given (``fx``)
_CURRENCY = r"^[A-Z]{3}$"  # an ISO 4217 code
# Integer types whose every value has fewer digits than any bound below (10**12).
_SMALL_INTS = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32)


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
    file (Parquet) they are used as they are. An id with nothing visible in it (only
    spaces, zero-width or control characters) is empty in either: it would show as
    a blank customer in every report."""
    value = pl.col(name).cast(pl.String) if typed else _text(name)
    # An id that starts with a visible ASCII character (nearly all) is visible; the
    # regex is asked of the others only (a comparison costs a tenth of a regex).
    shown = (value >= "!") & (value < "\x7f")
    invisible = pl.when(~shown).then(value).str.contains(_INVISIBLE).fill_null(False)
    blank = value.is_null() | invisible
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


def parse_date(
    name: str, dtype: pl.DataType, *, typed: bool = False, date_format: str | None = None
) -> Parsed:
    """ISO dates, timestamps (date part), ``YYYYMMDD`` and ``YYYY/MM/DD``; as text, only
    these forms in ASCII digits (the parsers alone also take a sign, inner spaces
    and a 7-digit ``YYYYMDD``). A two-digit year is none of them: never guessed.

    ``date_format`` (``--date-format``, strftime): text is read in that one format
    only (see ``_formatted``); typed dates are dates whatever it says."""
    pre: tuple[pl.Expr, ...] = ()
    if dtype == pl.Date:
        value = pl.col(name)
    elif isinstance(dtype, pl.Datetime):
        value = pl.col(name).dt.date()
    elif date_format is not None:
        return _formatted(name, dtype, date_format)
    else:
        iso, form = pl.col(f"_iso_{name}"), pl.col(f"_form_{name}")
        # The other forms are tried on the rest only (null text parses for free):
        # every form tried on every row would cost five times one.
        rest = pl.when(iso.is_null()).then(_text(name, dtype))
        parsed = pl.coalesce(
            iso,
            rest.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            rest.str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False).dt.date(),
            rest.str.to_date("%Y%m%d", strict=False),
            rest.str.to_date("%Y/%m/%d", strict=False),
        )
        value = pl.when(form).then(parsed)
        text = _text(name)
        pre = (
            text.str.to_date("%Y-%m-%d", strict=False).alias(f"_iso_{name}"),
            text.str.contains(_DATE).alias(f"_form_{name}"),
        )
    reason = (
        pl.when(_blank(name, dtype))
        .then(pl.lit(f"empty {name}"))
        .when(value.is_null())
        .then(pl.lit("not a valid date"))
    )
    return Parsed(value, reason, pre)


def _formatted(name: str, dtype: pl.DataType, date_format: str) -> Parsed:
    """Text dates in one strftime format. polars' parser is lenient (a missing day is
    the 1st, one digit passes for ``%d``), so a value counts only when the date it
    parses to, written back in the format, is the value itself: ``930101`` under
    ``%y%m%d``, but not ``93011``. Read as a timestamp, so that a format with a time
    (``%d/%m/%Y %H:%M``) dates the row by its date part, as a timestamp column does."""
    text = _text(name, dtype)
    parsed = text.str.to_datetime(date_format, strict=False, time_unit="us")
    same = parsed.dt.strftime(date_format).str.strip_chars() == text.str.strip_chars()
    value = pl.when(same).then(parsed.dt.date())
    reason = (
        pl.when(_blank(name, dtype))
        .then(pl.lit(f"empty {name}"))
        .when(value.is_null())
        .then(pl.lit(f"not a date in the format {date_format}"))
    )
    return Parsed(value, reason)


# Timestamps whose dates a --date-format must write and read back: every field differs,
# and neither year is near the two-digit pivot (00-69 read as 20xx, 70-99 as 19xx).
_PROBES = (datetime(2026, 12, 31, 13, 45, 56), datetime(2001, 2, 3, 4, 5, 6))


def check_date_format(date_format: str | None, key: str = "--date-format") -> str | None:
    """A format that cannot write a date, or cannot read back the date it wrote (no
    year, month or day in it: polars would take the 1st, or year 1), stops the run
    before anything is read; every row would otherwise be rejected or misread."""
    if date_format is None:
        return None
    probe = pl.Series(_PROBES, dtype=pl.Datetime("us"))
    try:
        written = probe.dt.strftime(date_format)
        back = written.str.to_datetime(date_format, strict=False, time_unit="us").dt.date()
    except pl.exceptions.PolarsError:
        raise ConfigError(f"{date_format!r} is not a strftime date format", key=key) from None
    if back.to_list() != [moment.date() for moment in _PROBES]:
        raise ConfigError(
            f"{date_format!r} does not hold a whole date (a year, a month and a day)", key=key
        )
    return date_format


def _int_digits(digits: int) -> int:
    """Integer digits allowed for a value kept in 10**-digits units: the documented 15,
    fewer where 15 would not fit 64 bits (a fee ratio in millionths: 12)."""
    return min(_MAX_INT_DIGITS, 18 - digits)


def _within(value: pl.Expr, limit: int, dtype: pl.DataType) -> pl.Expr:
    """|value| < limit, in the column's own type (no cast that could wrap first)."""
    if dtype.is_unsigned_integer():
        return value < limit
    return (value < limit) & (value > -limit)


def _scaled(name: str, dtype: pl.DataType, digits: int) -> Parsed:
    """A decimal as an integer count of 10**-digits units, or why it is not one. Every
    input type is held to the same bound as text (``_int_digits``), so that a value
    is never wrapped or truncated on its way to 64 bits."""
    if dtype.is_integer():
        return _scaled_integer(name, dtype, digits)
    if isinstance(dtype, pl.Decimal):
        return _scaled_decimal(name, dtype, digits)
    if dtype.is_float():
        return _scaled_float(name, dtype, digits)
    return _scaled_text(name, digits)


def _scaled_integer(name: str, dtype: pl.DataType, digits: int) -> Parsed:
    """Whole yuan (or whole ratios): a 64-bit value times 100 can wrap around, and a
    UInt64 may not fit 64 signed bits at all, so the bound is checked first."""
    scale = 10**digits
    if dtype in _SMALL_INTS:
        return Parsed(pl.col(name).cast(pl.Int64) * scale, pl.lit(None, dtype=pl.String))
    ok = _within(pl.col(name), 10 ** _int_digits(digits), dtype)
    value = pl.when(ok).then(pl.col(name)).cast(pl.Int64) * scale
    return Parsed(value, pl.when(~ok).then(pl.lit("too large")))


def _scaled_decimal(name: str, dtype: pl.Decimal, digits: int) -> Parsed:
    """Decimals by their integer representation (10**-scale units), checked for size
    and for decimals below the unit only where the type allows either."""
    precision, scale = dtype.precision or 38, dtype.scale
    physical = pl.col(name).to_physical()
    if precision <= 18:  # the representation fits 64 bits: the wrapping cast is exact,
        # and skips a range check per value that cannot fail (a third faster)
        physical = physical.cast(pl.Int64, wrap_numerical=True)
    checks = []  # (the values it passes, why the others are rejected)
    if precision - scale > _int_digits(digits):
        size = 10 ** (_int_digits(digits) + scale)
        checks.append((_within(physical, size, pl.Int64), "too large"))
    if scale > digits:
        exact = (physical % 10 ** (scale - digits)) == 0
        checks.append((exact, f"more than {digits} decimal places"))
    reason = pl.lit(None, dtype=pl.String)
    if checks:  # checked before scaling: a value too large is never multiplied
        physical = pl.when(pl.all_horizontal(passes for passes, _ in checks)).then(physical)
        reason = pl.when(~checks[0][0]).then(pl.lit(checks[0][1]))
        for passes, why in checks[1:]:
            reason = reason.when(~passes).then(pl.lit(why))
    if scale > digits:
        physical = physical // 10 ** (scale - digits)
    elif scale < digits:
        physical = physical * 10 ** (digits - scale)
    return Parsed(physical.cast(pl.Int64), reason)


def _float_limit(dtype: pl.DataType, digits: int) -> float:
    """The magnitude below which a float is exact to the 10**-digits unit: adjacent
    units are then different floats, and the value times 10**digits lands within half
    a unit of its count, so rounding finds it (a Float64 product that large is itself
    rounded: half as far)."""
    bits = 23 if dtype == pl.Float32 else 52  # explicit mantissa bits
    exponent = math.ceil(bits - math.log2(10**digits)) - (0 if dtype == pl.Float32 else 1)
    return min(10.0 ** _int_digits(digits), 2.0**exponent)


def _scaled_float(name: str, dtype: pl.DataType, digits: int) -> Parsed:
    """A float is taken as the decimal it was written from: the count of units whose
    nearest float it is, if there is one (0.1 is 10 cents; 12345.678 is not a count of
    cents, and is rejected rather than rounded)."""
    scale = 10**digits
    column = pl.col(name).cast(pl.Float64)
    rounded = (column * scale).round(0)
    size = column.abs()
    limit = _float_limit(dtype, digits)
    # a true division (rounded / scale would be taken as rounded times 1/scale, which
    # itself is rounded): by a column, each value's own 0 plus the scale
    back = rounded / (column * 0.0 + float(scale))
    exact = back.cast(dtype) == pl.col(name)
    reason = (
        pl.when(~column.is_finite())
        .then(pl.lit("not a finite number"))
        .when(size >= 10.0 ** _int_digits(digits))
        .then(pl.lit("too large"))
        .when(size >= limit)
        .then(pl.lit("too large to be exact in a float column"))
        .when(~exact)
        .then(pl.lit(f"more than {digits} decimal places"))
    )
    value = pl.when(column.is_finite() & (size < limit) & exact).then(rounded).cast(pl.Int64)
    return Parsed(value, reason)


def _scaled_text(name: str, digits: int) -> Parsed:
    """Text in the documented form: one regex per cell both checks the form and the
    decimals (extra ones must be zeros), so that the cast, which would truncate, only
    ever sees exact values; why a cell is not one is asked of the few others."""
    text = _text(name)
    most = _int_digits(digits)
    form = rf"^[+-]?0*[0-9]{{1,{most}}}(?:\.[0-9]{{0,{digits}}}0*)?$"
    units = pl.col(f"_units_{name}")
    value = pl.when(text.str.contains(form)).then(text)
    value = value.cast(pl.Decimal(38, digits), strict=False).to_physical().cast(pl.Int64)
    odd = pl.when(units.is_null()).then(text)
    reason = (
        pl.when(units.is_not_null())
        .then(None)
        .when(~odd.str.contains(_NUMBER))
        .then(pl.lit("not a number"))
        .when(odd.str.contains(rf"^[+-]?0*[1-9][0-9]{{{most},}}"))
        .then(pl.lit("too large"))
        .when(odd.str.contains(rf"\.[0-9]{{{digits}}}[0-9]*[1-9]"))
        .then(pl.lit(f"more than {digits} decimal places"))
        .otherwise(pl.lit("not a number"))  # a form the cast refused: never taken as 0
    )
    return Parsed(units, reason, (value.alias(f"_units_{name}"),))


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


def parse_signed_balance(
    name: str,
    dtype: pl.DataType,
    *,
    typed: bool,
    signs: dict[str, str],
    negative_ok: bool = False,
) -> Parsed:
    """A balance read by its product's sign (``signs``: code -> "negative" or "absolute",
    from ``plan.signs``): a loan stored as -500.00 under "negative" counts as 500.00.
    What is negative after that is rejected: for a product of no signed component
    (unmapped or excluded ones too), "negative balance" as always; for a "negative"
    product, a reason naming the product and its sign, as the stored value is then
    positive. The product is the row's own, as the measures read it (``parse_code``).
    Whether it is of each kind is asked once per row (``is_in``, in ``pre``: a few
    times cheaper than finding the code's place in a table); the text of a reason is
    made for the rows it rejects only. ``negative_ok`` (``negative_balances = "zero"``):
    what is negative after the sign is kept, for the fold to count as 0."""
    parsed = _scaled(name, dtype, 2)
    product = parse_code("product", pl.String, typed=typed).value
    kinds = {k: sorted(c for c, s in signs.items() if s == k) for k in ("negative", "absolute")}
    pre = tuple(product.is_in(codes).alias(f"_sign_{k}") for k, codes in kinds.items() if codes)
    counted = parsed.value
    if kinds["absolute"]:
        counted = pl.when(pl.col("_sign_absolute")).then(counted.abs()).otherwise(counted)
    if kinds["negative"]:
        counted = pl.when(pl.col("_sign_negative")).then(-parsed.value).otherwise(counted)
    below = counted < 0
    sign_reason = pl.when(below).then(pl.lit(f"negative {name}"))
    if negative_ok:
        sign_reason = pl.lit(None, pl.String)
    elif kinds["negative"]:
        wrong = pl.when(below & pl.col("_sign_negative")).then(product)
        said = (f"positive {name} of product ", ', whose component has sign = "negative"')
        sign_reason = pl.coalesce(
            pl.concat_str(pl.lit(said[0]), wrong, pl.lit(said[1])), sign_reason
        )
    blank = _blank(name, dtype)
    reason = pl.when(blank).then(pl.lit(f"empty {name}"))
    reason = reason.otherwise(pl.coalesce(parsed.reason, sign_reason))
    return Parsed(pl.when(~blank).then(counted), reason, (*parsed.pre, *pre))


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


def parse_currency(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """An ISO 4217 code, three capital letters; blank is CNY. Any other form (``usd``,
    ``RMB``'s lower case, a symbol) is rejected rather than guessed at."""
    value = pl.col(name).cast(pl.String) if typed else _text(name)
    blank = value.is_null() | (value.str.strip_chars() == "")
    good = value.str.contains(_CURRENCY).fill_null(False)
    reason = pl.when(~blank & ~good).then(pl.lit("not an ISO 4217 currency code (e.g. USD)"))
    return Parsed(pl.when(blank).then(pl.lit(CNY)).otherwise(value), reason)


def parse_rate(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """Yuan per unit, above 0 and below ``MOST_RATE`` (a troy ounce of gold, XAU, is
    some 10**4), at most 8 decimals, as an integer of 10**-8 yuan. The bound keeps a
    run's running sums of daily rates (``fx.day_sums``) within 64 bits over the
    longest window."""
    parsed = _scaled(name, dtype, FX_DIGITS)
    reason = pl.coalesce(
        pl.when(parsed.value.is_null() & parsed.reason.is_null()).then(pl.lit("empty rate")),
        parsed.reason,
        pl.when(parsed.value <= 0).then(pl.lit("rate must be > 0")),
        pl.when(parsed.value >= MOST_RATE * 10**FX_DIGITS).then(
            pl.lit(f"rate must be below {MOST_RATE:,} yuan per unit")
        ),
    )
    return Parsed(parsed.value, reason, parsed.pre)


def parse_flag(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """true/false, t/f, 1/0, y/n, yes/no, 是/否 (any case); blank means false (no blemish
    known). Anything else (2, 1.0, full-width letters) is rejected, not guessed."""
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
    """A whole number >= 0 of at most 15 digits; blank means 0. Text is read by
    ``to_integer``, which takes ASCII digits and an optional sign only."""
    if dtype.is_integer():
        ok = _within(pl.col(name), 10**_MAX_INT_DIGITS, dtype)
        value = pl.when(ok).then(pl.col(name)).cast(pl.Int64).fill_null(0)
        too_large = ~ok
    else:
        text = _text(name, dtype)
        value = pl.when(_blank(name, dtype)).then(0).otherwise(text.str.to_integer(strict=False))
        too_large = ~_within(value, 10**_MAX_INT_DIGITS, pl.Int64)
    reason = (
        pl.when(value.is_null())
        .then(pl.lit("not a whole number"))
        .when(too_large)
        .then(pl.lit("too large"))
        .when(value < 0)
        .then(pl.lit(f"negative {name}"))
    )
    return Parsed(value, reason)


Parser = Callable[..., Parsed]  # (name, dtype, *, typed) -> Parsed


def parse_end_date(
    name: str, dtype: pl.DataType, *, typed: bool = False, date_format: str | None = None
) -> Parsed:
    """An end date that may be open (a zipper table's current row): blank, or one of
    ``layouts.OPEN_ENDS`` (9999-12-31, 2099-12-31), is null; any other value is a
    date as ``parse_date`` reads it, or rejected as it would be."""
    parsed = parse_date(name, dtype, typed=typed, date_format=date_format)
    value = pl.when(~parsed.value.is_in(list(OPEN_ENDS))).then(parsed.value)
    return Parsed(value, pl.when(~_blank(name, dtype)).then(parsed.reason), parsed.pre)


# Every layout's columns (``layouts.LAYOUT_COLUMNS``); a file is checked by those it has.
BALANCE_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "account_id": parse_id,
    "product": parse_code,
    "date": parse_date,
    "balance": lambda n, t, typed: parse_money(n, t, positive=False, optional=False),
    "seq": parse_id,  # postings: a posting id or a timestamp, never empty
    "start_date": parse_date,
    "end_date": parse_end_date,
    "accumulated": lambda n, t, typed: parse_money(n, t, positive=False, optional=False),
    "currency": parse_currency,
}


def balance_parsers(plan: Plan | None = None, date_format: str | None = None) -> dict[str, Parser]:
    """The balance parsers of a rule set: its signed products' balances read by their
    sign (``parse_signed_balance``). A rule set with no sign, or no rule set (``validate``
    checks inputs without one), keeps ``BALANCE_PARSERS`` as they are: nothing is
    looked up per row, and every negative balance is rejected. A rule set with
    ``negative_balances = "zero"`` keeps a balance below zero (after its sign): the
    fold counts it as 0 that day, and counts the day as overdrawn (``overdraft``).
    ``date_format``: see ``parse_date``."""
    parsers = BALANCE_PARSERS  # itself, unless a date format or a rule set changes it
    if date_format is not None:
        parsers = parsers | _in_format(date_format, ("date", "start_date", "end_date"))
    zero = plan is not None and plan.ruleset.negative_balances == "zero"
    if plan is None or not (plan.signs or zero):
        return parsers
    signs = plan.signs

    def balance(name: str, dtype: pl.DataType, typed: bool = False) -> Parsed:
        return parse_signed_balance(name, dtype, typed=typed, signs=signs, negative_ok=zero)

    return parsers | {"balance": balance, "accumulated": balance}


_DATE_PARSERS: dict[str, Callable[..., Parsed]] = {
    "date": parse_date,
    "start_date": parse_date,  # a period's (intervals, accumulations)
    "end_date": parse_end_date,
}


def _in_format(date_format: str | None, columns: tuple[str, ...]) -> dict[str, Parser]:
    """The parsers of the date ``columns`` in ``date_format`` (none: the parsers as
    they are, so nothing to replace)."""
    if date_format is None:
        return {}
    return {c: partial(_DATE_PARSERS[c], date_format=date_format) for c in columns}


def transaction_parsers(date_format: str | None = None) -> dict[str, Parser]:
    """``TRANSACTION_PARSERS``, with dates in ``date_format`` (see ``parse_date``)."""
    return TRANSACTION_PARSERS | _in_format(date_format, ("date",))


TRANSACTION_PARSERS: dict[str, Parser] = {
    "customer_id": parse_id,
    "txn_id": parse_id,
    "date": parse_date,
    "txn_type": parse_code,
    "amount": lambda n, t, typed: parse_money(n, t, positive=True, optional=False),
    "fee": lambda n, t, typed: parse_money(n, t, positive=False, optional=True),
    "fee_ratio": parse_ratio,
    "currency": parse_currency,
}


FIELD, PROBLEM = "\x1f", "\x1e"  # separators inside DETAIL: column/value/reason, problems
DETAIL = "_detail"


def check(lf: pl.LazyFrame, parsers: dict[str, Parser], typed: bool = False) -> pl.LazyFrame:
    """Every row of one file typed, with ``DETAIL``: null for a good row, else every
    problem the row has (see ``detail``); the raw text of a bad cell is only produced
    for bad rows. One frame for both, so one pass over the input both scores and
    reports it (``good_rows`` and ``bad_rows`` split it). A parser whose column the
    frame lacks is another balance layout's (``BALANCE_PARSERS`` holds them all): a
    required column is never lacking here, as reading stops on it first."""
    schema = lf.collect_schema()
    parsers = {name: parse for name, parse in parsers.items() if name in schema}
    parsed = {name: parse(name, schema[name], typed=typed) for name, parse in parsers.items()}
    if EXTRA_COL in schema:  # a CSV row with more fields than the header
        parsed[EXTRA_COL] = _extra_fields()
    if SHORT_COL in schema:  # a CSV row with fewer fields than the header
        parsed[SHORT_COL] = _short_fields()
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
    return {EXTRA_COL: "(beyond the header)", SHORT_COL: "(fields)"}.get(column, column)


def _extra_fields() -> Parsed:
    """The row has a field beyond the header's: which of its fields is which is
    unknowable (an unquoted "1,000.00" shifts nothing but splits the amount)."""
    extra = pl.col(EXTRA_COL)
    return Parsed(extra, pl.when(extra.is_not_null()).then(pl.lit("more fields than the header")))


def _short_fields() -> Parsed:
    """The row has fewer fields than the header (``SHORT_COL``: "6 of 7"): which one is
    missing is unknowable (an unquoted "1,000.00" in a row that leaves out its optional
    last fields reads as amount 1 and a fee of 000.00)."""
    short = pl.col(SHORT_COL)
    return Parsed(short, pl.when(short.is_not_null()).then(pl.lit("fewer fields than the header")))


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
