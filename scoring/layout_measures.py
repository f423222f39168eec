"""Measuring balances of the layouts other than the change log (see ``layouts``).

Each layout's good rows become the rows the balance fold reads (``fold_balances``:
a balance, the window days it counts, a status and a component), so that every
layout's balance-days add up exactly as the change log's do and the scores of one
history are the same whichever layout holds it. A row the layout cannot use
(overlapping intervals, a posting id twice with other content, an accumulation
across the window's edge) is rejected like a row that failed validation: it joins
the bad rows with its file, line, column and reason, and counts as rejected.

An account's rows are all in one part and one Spark task (both engines part
balances by account), and every test here compares rows of one account only, so
each part measures as the whole would. Rows are held in memory and sorted: these
layouts take the general path, not the change log's streaming passes.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from .folds import fold_balances
from .layouts import layout_of
from .measures import NO_CSE, good_and_bad
from .overdraft import overdrawn_columns, zeroes
from .plan import Plan
from .row_status import (
    DUPLICATE,
    REJECTED,
    STATUS,
    USED,
    classify,
    code_index,
    content_of,
    in_yuan,
    mark_duplicates,
    window_days,
)
from .sources import FILE_COL, LINE_COL
from .validate import DETAIL, detail
from .window import window_span

_NEVER = date(9999, 12, 31)  # an open end, where one is compared
WHY, WHY_COLUMN, WHY_VALUE = "_why", "_why_column", "_why_value"  # a layout's reject
HELD = "_held"  # an accumulation's days (its ``_days`` is 1: it is a sum of balance-days)
OVERLAP = "conflicting rows: the period overlaps another of the same account_id"
SEQ_CONFLICT = "conflicting rows for the same account_id and seq"


def measure_layout(
    plan: Plan, checked: pl.LazyFrame, wide: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An input's folds and bad rows (``measure_in_steps``' result) for a layout other
    than the change log: validation's bad rows and the layout's rejects together."""
    good, bad = good_and_bad(checked.collect(engine="streaming", optimizations=NO_CSE))
    rows, rejected = layout_rows(plan, good.lazy())
    folded = fold_balances(plan, rows, wide).collect(engine="streaming")
    return folded, pl.concat([bad, rejected.collect()], how="vertical_relaxed")


def layout_rows(plan: Plan, good: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Good rows of one layout as the fold reads them, and the rows the layout
    rejects as bad rows (``FILE_COL``, ``LINE_COL``, ``DETAIL``)."""
    layout = layout_of(good.collect_schema().names())
    marked = layout_marks(good)
    if layout == "accumulations":
        marked = _accumulations_marked(plan, marked)
    marked = marked.collect().lazy()  # read by both branches below: once
    rejected = marked.filter(pl.col(STATUS) == REJECTED).select(
        pl.col(FILE_COL),
        pl.col(LINE_COL),
        detail(pl.col(WHY_COLUMN), pl.col(WHY_VALUE), pl.col(WHY)).alias(DETAIL),
    )
    kept = marked.filter(pl.col(STATUS).is_null() | (pl.col(STATUS) != REJECTED))
    measured = {
        "intervals": _interval_rows,
        "accumulations": _accumulation_rows,
        "postings": _posting_rows,
    }[layout]
    return measured(plan, kept), rejected


def layout_marks(good: pl.LazyFrame) -> pl.LazyFrame:
    """Good rows with ``STATUS`` duplicate or rejected where the layout says so (and
    ``WHY``, ``WHY_COLUMN``, ``WHY_VALUE`` for the rejected), else null; nothing
    here depends on the window, so ``validate`` reports the same."""
    layout = layout_of(good.collect_schema().names())
    if layout == "postings":
        return _posting_marks(good)
    return _period_marks(good, "accumulated" if layout == "accumulations" else "balance")


def layout_rejects(marked: pl.LazyFrame) -> pl.LazyFrame:
    """The rejects lines (file, line, column, value, reason) of ``layout_marks``."""
    return marked.filter(pl.col(STATUS) == REJECTED).select(
        pl.col(FILE_COL).alias("file"),
        pl.col(LINE_COL).alias("line"),
        pl.col(WHY_COLUMN).alias("column"),
        pl.col(WHY_VALUE).fill_null("").alias("value"),
        pl.col(WHY).alias("reason"),
    )


def _reasons(why: pl.Expr, column: pl.Expr, value: pl.Expr) -> list[pl.Expr]:
    """``WHY``, ``WHY_COLUMN`` and ``WHY_VALUE`` of a row rejected where ``why`` (a
    reason) is not null; a row already rejected keeps its own."""
    new = why.is_not_null() & pl.col(WHY).is_null()
    return [
        pl.coalesce(pl.col(WHY), why).alias(WHY),
        pl.when(new).then(column).otherwise(pl.col(WHY_COLUMN)).alias(WHY_COLUMN),
        pl.when(new).then(value).otherwise(pl.col(WHY_VALUE)).alias(WHY_VALUE),
    ]


def _status(why: pl.Expr) -> pl.Expr:
    """``STATUS`` rejected where ``why`` is not null, else as it was."""
    rejected = pl.lit(REJECTED, pl.UInt8)
    return pl.when(why.is_not_null()).then(rejected).otherwise(pl.col(STATUS)).alias(STATUS)


def _unmarked() -> list[pl.Expr]:
    """No status and no reason yet."""
    nothing = pl.lit(None, pl.String)
    return [
        pl.lit(None, pl.UInt8).alias(STATUS),
        *(nothing.alias(c) for c in (WHY, WHY_COLUMN, WHY_VALUE)),
    ]


def _marked(frame: pl.LazyFrame, why: pl.Expr, column: pl.Expr, value: pl.Expr) -> pl.LazyFrame:
    """Rows rejected where ``why`` (a reason) is not null, with its column and value."""
    return frame.with_columns(_status(why), *_reasons(why, column, value))


PERIOD_ORDER = ("account_id", "start_date", "end_date", FILE_COL, LINE_COL)


def _period_marks(good: pl.LazyFrame, value: str) -> pl.LazyFrame:
    """Intervals and accumulations: a period that ends before it starts is rejected
    (and an accumulation with no end: a sum over days must say which days); an exact
    repeat of a row is a duplicate; periods of one account that overlap all conflict,
    repeats of them too, as which of them holds on the days they share is unknowable.
    Sorted by account and period (then file and line: the first of repeats is the
    same on every engine)."""
    start, end = pl.col("start_date"), pl.col("end_date")
    ordered = good.sort(*PERIOD_ORDER, nulls_last=True).with_columns(_unmarked())
    wrong = pl.when(end < start).then(pl.lit("end_date before start_date"))
    if value == "accumulated":
        open_end = (
            "an accumulation needs an end_date (empty, 9999-12-31 and 2099-12-31 are open "
            "ends): it is a sum over the days of a period"
        )
        wrong = pl.when(end.is_null()).then(pl.lit(open_end)).otherwise(wrong)
    period = ("account_id", "start_date", "end_date", "customer_id", "product", value)
    content = list(content_of(period, good.collect_schema().names()))
    repeat = pl.col(STATUS).is_null() & ~pl.struct(content).is_first_distinct()
    marked = _marked(ordered, wrong, pl.lit("end_date"), end.cast(pl.String)).with_columns(
        pl.when(repeat).then(pl.lit(DUPLICATE, pl.UInt8)).otherwise(pl.col(STATUS)).alias(STATUS)
    )
    live = marked.filter(pl.col(STATUS).is_null())
    filled = end.fill_null(_NEVER)
    before = filled.cum_max().shift(1).over("account_id")  # the latest end of those before
    after = start.shift(-1).over("account_id")  # the next start (they come by start)
    overlaps = (start <= before).fill_null(False) | (filled >= after).fill_null(False)
    flagged = live.with_columns(overlaps.alias("_overlaps"))
    clash = flagged.filter(pl.col("_overlaps")).select(*content, "_overlaps").unique()
    others = marked.filter(pl.col(STATUS).is_not_null())
    others = others.join(clash, on=content, how="left", nulls_equal=True)
    repeated = (pl.col(STATUS) == DUPLICATE) & pl.col("_overlaps").fill_null(False)
    others = others.with_columns(repeated.alias("_overlaps"))
    both = pl.concat([flagged, others], how="vertical_relaxed")
    why = pl.when(pl.col("_overlaps")).then(pl.lit(OVERLAP))
    both = _marked(both, why, pl.lit("start_date"), start.cast(pl.String)).drop("_overlaps")
    return both.sort(*PERIOD_ORDER, nulls_last=True)


def seq_keys(seq: pl.Expr) -> list[pl.Expr]:
    """A posting's place among its account's (``_seq_num``, ``_seq_text``): as a
    number where every seq of the account is an integer, else as text ("9" comes
    before "10" in an account of integer ids). Per account, not per input, so that
    a part of the input or a Spark task orders an account as the whole input does.
    Int128, so that ids of 20 digits and more still compare as numbers; ``9.0`` is the
    integer 9 (a Parquet float column of ids reads so)."""
    whole = seq.str.replace(r"^([+-]?\d+)\.0*$", "${1}")
    number = whole.str.to_integer(dtype=pl.Int128, strict=False)
    numeric = number.is_not_null().all().over("account_id")
    return [
        pl.when(numeric).then(number).alias("_seq_num"),
        pl.when(~numeric).then(seq).alias("_seq_text"),
    ]


def _posting_marks(good: pl.LazyFrame) -> pl.LazyFrame:
    """Postings: rows of one account and seq are one posting; the same content twice is
    a duplicate, other content a conflict (every row of that seq is rejected)."""
    keyed = good.with_columns(seq_keys(pl.col("seq")))
    ordered = keyed.sort("account_id", "_seq_num", "_seq_text", FILE_COL, LINE_COL)
    key = ("account_id", "_seq_num", "_seq_text")
    content = content_of(
        ("customer_id", "product", "date", "balance"), good.collect_schema().names()
    )
    marked = mark_duplicates(ordered, key, content)
    conflict = pl.when(pl.col(STATUS) == REJECTED).then(pl.lit(SEQ_CONFLICT))
    marked = marked.with_columns(_unmarked()[1:])  # its own status: marked just now
    return _marked(marked, conflict, pl.lit("seq"), pl.col("seq"))


def _days_of(day: pl.Expr) -> pl.Expr:
    """A date as days since 1970 (the window's bounds are compared so)."""
    return day.cast(pl.Int32)


def _classified(plan: Plan, rows: pl.LazyFrame, outside: pl.Expr, since: str) -> pl.LazyFrame:
    """Rows with ``_days`` as the fold reads them: code, component, status (``outside``:
    the row counts no day of the window) and, under "zero", the overdrawn days; with
    --fx, the days in rate units from the row's first day (its ``since`` column)."""
    component, status = classify(plan, "balances", outside)
    index = code_index(plan, "balances", pl.col("product"))
    in_rates = in_yuan(plan, _days_of(pl.col(since)))
    rows = rows.with_columns(index).with_columns(component, *in_rates).with_columns(status)
    counted = (pl.col(STATUS) == USED) & (pl.col("_days") > 0)
    overdrawn = overdrawn_columns(plan, counted)
    return rows.with_columns(overdrawn) if overdrawn else rows


def _interval_rows(plan: Plan, rows: pl.LazyFrame) -> pl.LazyFrame:
    """A balance holds on every day of its interval (an open end: through the window's
    last day); its days are those of the window it covers, none for a duplicate."""
    first, stop = window_span(plan.window.start, plan.window.end)
    ends = (_days_of(pl.col("end_date")) + 1).fill_null(stop)
    days = window_days(_days_of(pl.col("start_date")), ends, first, stop)
    live = pl.col(STATUS).is_null()
    counted = pl.when(live).then(days).otherwise(0)
    rows = rows.with_columns(counted.alias("_days"))
    return _classified(plan, rows, pl.col("_days") == 0, "start_date")


def _accumulations_marked(plan: Plan, marked: pl.LazyFrame) -> pl.LazyFrame:
    """An accumulation that lies partly in the window is rejected: which of its days'
    balances are inside is unknowable from their sum. Under ``negative_balances =
    "zero"``, so is one below zero: which days were overdrawn is unknowable too."""
    window = plan.window
    start, end = pl.col("start_date"), pl.col("end_date")
    inside = (start >= window.start) & (end <= window.end)
    outside = (end < window.start) | (start > window.end)
    period = pl.concat_str(start.cast(pl.String), pl.lit(".."), end.cast(pl.String))
    edge = pl.concat_str(
        pl.lit("the period "),
        period,
        pl.lit(f" straddles the window {window.start}..{window.end}: an accumulation "
               "cannot be split exactly"),
    )  # fmt: skip
    why = pl.when(~inside & ~outside).then(edge)
    column, value = pl.lit("start_date"), start.cast(pl.String)
    if zeroes(plan):
        below = "negative accumulated: which days were overdrawn cannot be known"
        why = why.when(pl.col("accumulated") < 0).then(pl.lit(below))
        column = pl.when(inside | outside).then(pl.lit("accumulated")).otherwise(column)
        value = pl.when(inside | outside).then(_yuan(pl.col("accumulated"))).otherwise(value)
    return _marked(marked, pl.when(pl.col(STATUS).is_null()).then(why), column, value)


def _yuan(cents: pl.Expr) -> pl.Expr:
    """Cents as the yuan text a person wrote (``-12.05``)."""
    size = cents.abs()
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    fraction = (size % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str(sign, (size // 100).cast(pl.String), pl.lit("."), fraction)


def _accumulation_rows(plan: Plan, rows: pl.LazyFrame) -> pl.LazyFrame:
    """An accumulation wholly inside the window counts its sum once (as a balance held
    one day: the fold adds balance x days); one wholly outside counts nothing."""
    window = plan.window
    inside = (pl.col("start_date") >= window.start) & (pl.col("end_date") <= window.end)
    counted = pl.when(pl.col(STATUS).is_null() & inside).then(1).otherwise(0)
    period = (pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1
    rows = rows.with_columns(
        pl.col("accumulated").alias("balance"),
        counted.alias("_days"),
        (period * counted).alias(HELD),  # the days it sums, for ``explain``
    )
    return _classified(plan, rows, ~inside, "start_date")


def _posting_rows(plan: Plan, rows: pl.LazyFrame) -> pl.LazyFrame:
    """The day's last posting (by seq) is the account's end-of-day balance, held until
    its next day with a posting, as a change log's row is; the day's earlier postings
    count no day, and are used (read and superseded, not lost) where the day counts
    a day of the window, else outside it; excluded or unmapped by their own product,
    as any row. Duplicates count no day."""
    first, stop = window_span(plan.window.start, plan.window.end)
    live = rows.filter(pl.col(STATUS).is_null()).sort(
        "account_id", "date", "_seq_num", "_seq_text", FILE_COL, LINE_COL
    )
    account, day = pl.col("account_id"), pl.col("date")
    same = (account.shift(-1) == account).fill_null(False)
    last = ~(same & (day.shift(-1) == day)).fill_null(False)
    until = pl.when(same).then(_days_of(day.shift(-1))).otherwise(stop)
    days = window_days(_days_of(day), until, first, stop)
    live = live.with_columns(
        pl.when(last).then(days).otherwise(0).alias("_days"),
        pl.when(last).then(days).backward_fill().alias("_day_days"),
    )
    repeats = rows.filter(pl.col(STATUS).is_not_null()).with_columns(
        pl.lit(0, pl.Int32).alias("_days"), pl.lit(0, pl.Int32).alias("_day_days")
    )
    both = pl.concat([live, repeats], how="vertical_relaxed")
    return _classified(plan, both, pl.col("_day_days") == 0, "date")
