"""Foreign currency: amounts converted to yuan (全折人民币) at the operator's rates.

A balance or transaction row may name its currency (ISO 4217; none, or a blank
cell, is CNY). ``--fx`` gives yuan per unit of each currency from a date on; a
day's rate is the latest given on or before it. The rule set's ``[fx] convert``
says which day's rate converts: ``daily`` (each balance-day at its own day's rate,
a transaction at its date's) or ``window_end`` (everything at the window's last
day's rate).

Exactness: rates have at most 8 decimals, so a run with ``--fx`` keeps every
measure in units of 10**-k cent (``Fx.scale``, k the most decimals a rate has): a
balance-day in yuan is the balance in cents times that day's rate in 10**-k yuan,
an integer. Balance-days of a row held from day ``a`` for ``n`` days are
``balance x (P[a+n] - P[a])``,
where ``P`` is the running sum of a currency's daily rates (``day_sums``): one
gather from a small table per row, no join, so the streaming passes stay as they
are. CNY's rate is ``scale`` every day, so yuan rows measure as without ``--fx``,
only in finer units; the plan's denominators carry the same factor
(``plan.compile_plan``), and every score and figure comes out the same.

A foreign-currency row without ``--fx``, or with no rate for the first day it
counts, is rejected (``rates_checked``): never read as yuan, never given
another day's rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import polars as pl

from .errors import InputError
from .plan import Plan
from .sources import FX, InputFile, Reader, resolve_paths
from .validate import (
    CNY,
    DETAIL,
    FX_DIGITS,
    Parsed,
    check,
    detail,
    parse_currency,
    parse_date,
    parse_rate,
    rejects_table,
)
from .window import date_of, day_of, window_span

SCALE = 10**FX_DIGITS  # a rate of 1 yuan per unit, as validation reads rates


@dataclass(frozen=True)
class Fx:
    """The rates of ``--fx`` as read, and how the rule set converts: per currency, its
    (day since 1970, rate in 1/``scale`` yuan) pairs in date order."""

    rates: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]
    convert: str = "daily"
    files: tuple[InputFile, ...] = field(default=(), compare=False)  # not in the hash
    scale: int = SCALE

    @property
    def currencies(self) -> tuple[str, ...]:
        """CNY first, then the currencies with rates: a row's currency is its place here."""
        return (CNY, *(c for c, _ in self.rates if c != CNY))


def _rated_currency(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """A rates file's currency: a code, never blank (blank is CNY only in the inputs)."""
    parsed = parse_currency(name, dtype, typed=typed)
    value = pl.col(name).cast(pl.String).str.strip_chars()
    empty = pl.when(value.is_null() | (value == "")).then(pl.lit("empty currency"))
    return Parsed(parsed.value, pl.coalesce(empty, parsed.reason), parsed.pre)


def read_rates(reader: Reader, given: str | list[str], convert: str) -> Fx:
    """``--fx``: every row must be good, since a rate left out would silently give its
    days the rate before; one currency and date with two rates stops the run too
    (which is right is unknowable), as does a CNY rate other than 1."""
    files, batches = reader.open_all(FX, resolve_paths(given, "--fx"))
    parsers = {"date": parse_date, "currency": _rated_currency, "rate": parse_rate}
    checked = pl.concat([check(b.frame, parsers, b.typed) for b in batches])
    bad, good, *sizes = pl.collect_all(
        [
            checked.filter(pl.col(DETAIL).is_not_null()).head(1),
            checked.filter(pl.col(DETAIL).is_null()).drop(DETAIL),
            *(b.sizes for b in batches),
        ]
    )
    for batch, size in zip(batches, sizes, strict=True):
        batch.take_rows(size)
    if bad.height:
        first = reader.file_names(rejects_table(bad)).row(0, named=True)
        raise InputError(
            f"line {first['line']}: {first['column']} {first['value']!r}: {first['reason']} "
            "(every rate must be usable: a rate left out would give its days another)",
            file=str(first["file"]),
            key="--fx",
        )
    rows = good.select("currency", pl.col("date").cast(pl.Int32).alias("day"), "rate").unique()
    _check_rows(reader, rows, files)
    foreign = rows.filter(pl.col("currency") != CNY)
    scale = _finest(foreign["rate"])
    pairs = (
        foreign.with_columns(pl.col("rate") // (SCALE // scale))
        .sort("currency", "day")
        .group_by("currency", maintain_order=True)
        .agg(pl.col("day"), pl.col("rate"))
    )
    rates = tuple(
        (code, tuple(zip(days, values, strict=True))) for code, days, values in pairs.iter_rows()
    )
    return Fx(rates, convert, tuple(files), scale)


def _finest(rates: pl.Series) -> int:
    """The unit the rates need, 10**-k yuan for the fewest decimals k that every rate
    has (rates given to 4 places: 10**4 units a yuan, not 10**8). The smaller the
    unit, the more often a run's sums fit 64 bits (the fast fold, ``folds``); a file
    of whole rates, or with no foreign currency, measures in cents as without --fx."""
    for places in range(FX_DIGITS + 1):
        if (rates % (SCALE // 10**places) == 0).all():
            return 10**places
    return SCALE


def _check_rows(reader: Reader, rows: pl.DataFrame, files: list[InputFile]) -> None:
    shown = ", ".join(f.path for f in files)
    twice = rows.filter(pl.len().over("currency", "day") > 1)
    if twice.height:
        code, day = twice.row(0)[:2]
        raise InputError(f"two rates for {code} on {date_of(day)}", file=shown, key="--fx")
    cny = rows.filter((pl.col("currency") == CNY) & (pl.col("rate") != SCALE))
    if cny.height:
        raise InputError("a CNY rate other than 1", file=shown, key="--fx")


@lru_cache(maxsize=16)
def day_sums(fx: Fx, low: int, high: int, end: int) -> pl.Series:
    """Per currency (in ``currencies`` order), the running sums ``P[0..n]`` of its
    daily rates over days ``low``..``high`` (n = high - low), one after another: the
    rate-days from day ``a`` for ``k`` days are ``P[a-low+k] - P[a-low]``. A day with
    no rate yet adds 0 (its rows were rejected). ``window_end``: every day at the
    rate of day ``end``."""
    days = pl.DataFrame({"day": pl.int_range(low, high + 1, eager=True, dtype=pl.Int32)})
    codes = pl.DataFrame({"currency": list(fx.currencies)})
    known = [(c, d, r) for c, pairs in fx.rates for d, r in pairs]
    rates = pl.DataFrame(
        known, schema={"currency": pl.String, "at": pl.Int32, "rate": pl.Int64}, orient="row"
    )
    if fx.convert == "window_end":  # each currency's rate on the last day, every day
        rates = (
            rates.filter(pl.col("at") <= end)
            .sort("at")
            .group_by("currency")
            .agg(pl.col("rate").last())
            .with_columns(pl.lit(low, pl.Int32).alias("at"))
        )
    grid = codes.join(days, how="cross").sort("day")
    daily = grid.join_asof(
        rates.sort("at"), left_on="day", right_on="at", by="currency", strategy="backward",
        check_sortedness=False,  # both sorted by their day; groups make polars unable to tell
    )  # fmt: skip
    rate = pl.when(pl.col("currency") == CNY).then(fx.scale).otherwise(pl.col("rate"))
    daily = daily.with_columns(rate.fill_null(0).cast(pl.Int64).alias("rate"))
    order = {code: i for i, code in enumerate(fx.currencies)}
    place = pl.col("currency").replace_strict(order, return_dtype=pl.Int32)
    before = (pl.col("rate").cum_sum() - pl.col("rate")).over("currency", order_by="day")
    sums = daily.with_columns(place.alias("_order"), before.alias("p")).sort("_order", "day")
    return sums["p"]


CURRENCY_INDEX = "_currency"  # a row's place in ``Fx.currencies`` (``rates_checked``)


def _rows_of(fx: Fx, table: tuple[int, int, int]) -> tuple[pl.Expr, pl.Expr, int, int]:
    """``day_sums`` as a literal, where each row's currency's run of it starts (by its
    ``CURRENCY_INDEX``, found once a row by ``rates_checked``; a bad row's, or one
    without rates: CNY's), the table's first day and its width (days + 1)."""
    low, high, end = table
    width = high - low + 1
    place = pl.col(CURRENCY_INDEX).fill_null(0).cast(pl.Int64)
    return pl.lit(day_sums(fx, low, high, end)), place * width, low, width


def _place(fx: Fx) -> pl.Expr:
    """``CURRENCY_INDEX``: one string lookup per row (an Enum of the currencies with
    rates); null for a currency without any."""
    codes = pl.Enum(list(fx.currencies))
    return pl.col("currency").cast(codes, strict=False).to_physical().alias(CURRENCY_INDEX)


def rate_days(
    fx: Fx, table: tuple[int, int, int], since: pl.Expr, days: pl.Expr, start: int
) -> pl.Expr:
    """A balance's days in yuan-rate units: the sum of its currency's daily rates over
    the ``days`` it counts from ``max(since, start)`` (0 days: 0). ``table``: the
    ``day_sums`` bounds (low, high, end)."""
    sums, base, low, width = _rows_of(fx, table)
    first = (pl.max_horizontal(since, pl.lit(start)) - low).clip(0, width - 1)
    last = (first + days).clip(0, width - 1)
    value = sums.gather(base + last) - sums.gather(base + first)
    return pl.when(days > 0).then(value).otherwise(0)


def rate_of_day(fx: Fx, table: tuple[int, int, int], day: pl.Expr) -> pl.Expr:
    """A transaction's rate on its date (days since 1970), in 1/``Fx.scale`` yuan."""
    sums, base, low, width = _rows_of(fx, table)
    at = (day - low).clip(0, width - 2)
    return sums.gather(base + at + 1) - sums.gather(base + at)


def missing_rate(fx: Fx | None, needed: pl.Expr, end_day: int) -> pl.Expr:
    """Whether a good row's currency has no rate for the day it first counts
    (``needed``, days since 1970; null: it counts on no day, nothing is needed):
    always, for a foreign currency without ``--fx``."""
    foreign = pl.col("currency") != CNY
    if fx is None:
        return foreign & needed.is_not_null()
    firsts = pl.Series([None, *(pairs[0][0] for _, pairs in fx.rates)], dtype=pl.Int32)
    place = pl.col(CURRENCY_INDEX)
    first = pl.lit(firsts).gather(place.fill_null(0))  # (CNY needs none: not foreign)
    on = pl.lit(end_day) if fx.convert == "window_end" else needed
    return foreign & needed.is_not_null() & (place.is_null() | (first > on))


def why_missing(fx: Fx | None, needed: pl.Expr, end_day: int, low_high: tuple[int, int]) -> pl.Expr:
    if fx is None:
        return pl.lit("a foreign currency and no --fx rates: never read as yuan")
    if fx.convert == "window_end":
        when = pl.lit(date_of(end_day).isoformat())
    else:  # the day as text from a table of the window's days (no date formatting a row)
        low, high = low_high
        days = pl.Series([date_of(d).isoformat() for d in range(low, high + 1)])
        when = pl.lit(days).gather((needed - low).clip(0, high - low))
    return pl.concat_str(
        pl.lit("no "), pl.col("currency"), pl.lit(" rate on or before "), when, pl.lit(" in --fx"),
    )  # fmt: skip


def _with_problem(checked: pl.LazyFrame, found: pl.Expr, why: pl.Expr) -> pl.LazyFrame:
    """Good rows where ``found`` rejected for ``why`` in their currency; rows already
    bad keep their problems."""
    problem = detail(pl.lit("currency"), pl.col("currency"), why)
    rejected = pl.col(DETAIL).is_null() & found
    return checked.with_columns(
        pl.when(rejected).then(problem).otherwise(pl.col(DETAIL)).alias(DETAIL)
    )


FX_DAYS = "_fx_days"  # a balance row's days in rate units (``rate_days``), per row
FX_FORWARD = "_fx_days_t"  # the same over the watch's window (``FORWARD_DAYS``)


def table_of(plan: Plan) -> tuple[int, int, int]:
    """The ``day_sums`` bounds of a run: the days its window and the watch's
    (``Forward``) cover (first day, day after the last), and the window's last day."""
    spans = [window_span(plan.window.start, plan.window.end)]
    if plan.forward is not None:
        spans.append(window_span(plan.forward.start, plan.forward.end))
    low, high = min(s[0] for s in spans), max(s[1] for s in spans)
    return low, high, day_of(plan.window.end)


def held_in_yuan(plan: Plan, since: pl.Expr, days: pl.Expr, start: date, name: str) -> pl.Expr:
    """``rate_days`` of a balance held ``days`` of the window from ``since`` (days since
    1970) or the window's ``start``, whichever is later."""
    assert plan.fx is not None
    return rate_days(plan.fx, table_of(plan), since, days, day_of(start)).alias(name)


def amount_in_yuan(plan: Plan, amount: pl.Expr) -> pl.Expr:
    """A transaction's amount in 1/``Fx.scale`` cents of yuan, at its date's rate."""
    assert plan.fx is not None
    day = pl.col("date").cast(pl.Int32)
    return amount.cast(pl.Int128) * rate_of_day(plan.fx, table_of(plan), day)


NOT_DAILY = (
    "a sum of balance-days in a foreign currency cannot be converted day by day ([fx] convert = "
    '"daily"); export end-of-day balances, or convert at the window\'s end'
)


def rates_checked(plan: Plan, source: str, checked: pl.LazyFrame) -> pl.LazyFrame:
    """Validated rows, and a foreign-currency row that counts towards a window without
    a rate for the first day it may count rejected (``missing_rate``): the day it is
    dated (a transaction), or the later of its first day and the window's first (a
    balance). Accumulations in a foreign currency are rejected under ``daily``: their
    days' balances are unknown, so are their days' yuan."""
    names = checked.collect_schema().names()
    if "currency" not in names:
        return checked
    low, high, end = table_of(plan)
    if source == "transactions":
        day = pl.col("date").cast(pl.Int32)
        needed = pl.when((day >= low) & (day < high)).then(day)
    else:
        first = pl.col("date" if "date" in names else "start_date").cast(pl.Int32)
        counts = first < high
        if "end_date" in names:
            counts = counts & (pl.col("end_date").cast(pl.Int32).fill_null(high) >= low)
        needed = pl.when(counts).then(pl.max_horizontal(first, pl.lit(low)))
    if plan.fx is not None:
        checked = checked.with_columns(_place(plan.fx))
    why = why_missing(plan.fx, needed, end, (low, high))
    checked = _with_problem(checked, missing_rate(plan.fx, needed, end), why)
    if "accumulated" in names and plan.fx is not None and plan.fx.convert == "daily":
        checked = _with_problem(checked, pl.col("currency") != CNY, pl.lit(NOT_DAILY))
    return checked
