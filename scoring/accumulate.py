"""One calendar month measured into the ledger (``tierscore accumulate``).

The month is measured as a direct run over a one-month window would measure it, with
one difference: when the month before is in the ledger, its closing balances are the
carry-in. They join the month's rows as rows dated the day before the month, so the
days each holds, and the statuses of the rows after it, come from the same row
expressions as a direct run's (``row_status.balance_rows``). Those carried rows are
no input rows: the entry's counts leave them out, and keep the statuses they took
(``ledger.CARRIED``) for the window that starts with this month, where the balance
they carry is the carry-in row of a direct run (``ledger_score``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import polars.selectors as cs

from . import __version__
from .coverage import span_of_parts, usable_span
from .errors import ConfigError
from .finish import KEYS, Context, conflicts_part, counts_of, rejects_of
from .folds import fold_balances, folded_from, needs_wide, shared_balance, without_checks
from .joint import JT_ACCOUNTS, SHARE
from .ledger import (
    ACCOUNT_DAYS,
    ACCOUNTS,
    CARRIED,
    CLOSING,
    DIGEST,
    FOLDS,
    REJECTS,
    Entry,
    Ledger,
    closing_identity,
    measuring_of,
    month_end,
    month_label,
    months_between,
    previous_month,
    state_sha,
    write_manifest,
)
from .ledger_totals import ENTRY_ID, TOTAL_OF, TOTALS, current, running_total, total_of
from .measures import NO_CSE, account_order, by_account, good_and_bad
from .overdraft import OD_ACCOUNTS
from .pipeline import _Input, exact_folds, read_inputs
from .plan import Plan, compile_plan
from .row_status import (
    CODE,
    CODE_ROWS,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    DUPLICATE,
    OUTSIDE,
    REJECTED,
    STATUS,
    STATUSES,
    UNMAPPED,
    balance_rows,
    count_column,
)
from .rules import load_rules
from .sources import FILE_COL, LINE_COL, Given, InputFile, Reader
from .validate import DETAIL
from .window import Window

COMPRESSION = "lz4"  # a month's files: written each night, read at once; lz4 is the fastest
CARRIED_ROW = "_carried_row"  # a carry-in row made of the ledger's closing balances
CLOSING_COLUMNS = ("account_id", "customer_id", "product", "balance", "currency")


@dataclass
class Accumulation:
    """What ``accumulate`` measures: one month of both inputs into a ledger folder."""

    balances: Given
    transactions: Given
    month: date  # its first day
    ledger: Path
    rules: str = "icbc-star"
    last_day: date | None = None  # --to: the month to this day only (a partial entry)
    encoding: str | None = None
    mapping: dict[str, dict[str, str]] | None = None
    delimiter: str | None = None
    date_format: str | None = None


@dataclass
class Accumulated:
    entry: Entry
    counts: dict[str, dict[str, int]]
    rejects: int
    stale: list[str] = field(default_factory=list)  # later months stale after this one


def month_window(month: date, last_day: date | None) -> Window:
    """The month, or the month to ``last_day`` (its own month's day, not after its end)."""
    end = month_end(month)
    last = end if last_day is None else last_day
    if not month <= last <= end:
        raise ConfigError(f"{last} is not a day of {month_label(month)}", key="--to")
    return Window(month, last, month_label(month))


def accumulate(job: Accumulation, measure: Measure | None = None) -> Accumulated:
    """Measure the month and write it into the ledger, replacing the month's entry
    (``measure``: another engine's measuring, ``spark_ledger``; default this machine's)."""
    window = month_window(job.month, job.last_day)
    plan = compile_plan(load_rules(job.rules), window)
    ledger = Ledger(job.ledger)
    ledger.check(create=True)
    with ledger.locked():
        before = ledger.entry(previous_month(job.month))
        if before is not None and before.partial:
            raise ConfigError(
                f"{before.label} is in the ledger only to {before.last_day}: accumulate "
                "it in full before the month after it",
                key=str(ledger.root),
            )
        closing = before.frame(CLOSING) if before is not None else None
        with Reader(job.encoding, job.mapping, job.delimiter) as reader:
            measured, files = (measure or _measured_here)(plan, reader, job, closing)
            rejects = reader.file_names(measured.pop("rejects"))
        return _written(ledger, job, plan, files, measured, rejects, before)


# How an engine measures the month: (plan, reader, job, the ledger's closing or None)
# -> (``month_measured``'s dict, each input's files with their row counts).
Measure = Callable[
    [Plan, Reader, Accumulation, pl.DataFrame | None],
    tuple[dict[str, Any], dict[str, list[InputFile]]],
]


def change_log(layout: str) -> None:
    """The ledger carries balances from month to month as a change log only."""
    if layout != "changes":
        raise ConfigError(
            "the ledger takes balances as a change log (a row per account and "
            f"day it changed), not the {layout} layout",
            key="--balances",
        )


def _measured_here(
    plan: Plan, reader: Reader, job: Accumulation, closing: pl.DataFrame | None
) -> tuple[dict[str, Any], dict[str, list[InputFile]]]:
    """The polars engine's ``Measure``: the inputs read and measured on this machine."""
    inputs = read_inputs(reader, job.balances, job.transactions, plan, job.date_format)
    change_log(inputs["balances"].layout)
    return _measured(plan, inputs, closing), {name: read.files for name, read in inputs.items()}


def _measured(
    plan: Plan, inputs: dict[str, _Input], closing: pl.DataFrame | None
) -> dict[str, Any]:
    """The month's folds, carry and accounts (see ``ledger``), and its rejects."""
    balances = inputs["balances"]
    frame = balances.checked.collect(engine="streaming", optimizations=NO_CSE)
    good, bad_balances = good_and_bad(frame)
    month = month_balances(plan, good, closing)
    txn = inputs["transactions"]
    folded, bad_txn = txn.measure("transactions", plan)
    folded = exact_folds(plan, "transactions", txn, folded)
    sizes = [q for read in inputs.values() for q in read.sizes]
    collected = pl.collect_all(sizes, engine="streaming", optimizations=NO_CSE)
    for read in inputs.values():
        read.take_sizes(collected[: len(read.sizes)])
        collected = collected[len(read.sizes) :]
    spans = {
        "balances": usable_span(plan, "balances", frame.lazy()),
        "transactions": usable_span(plan, "transactions", txn.checked),
    }
    found = {name: span_of_parts(span.collect()) for name, span in spans.items()}
    measured = month_measured(month, closing, folded, bad_balances, bad_txn)
    return {**measured, "usable_span": found}


@dataclass
class MonthBalances:
    """A month's balance rows measured: all of them (the polars engine), or one Spark
    task's accounts, each of which holds every row and carried balance of its accounts
    (``spark_ledger`` adds the tasks' parts up into these)."""

    fold: pl.DataFrame  # ``_balance_fold`` of the rows, carried ones included
    closing: pl.DataFrame  # ``_closing``
    carried: pl.DataFrame  # ``carried_statuses`` of the carried rows
    accounts: pl.DataFrame  # ``_accounts``
    outside: list[pl.DataFrame]  # ``_outside``: the export's rows before the month
    carried_in: pl.DataFrame | None  # the export's own carry-in, when no closing was given
    account_days: pl.DataFrame  # ``_account_days``


def month_balances(plan: Plan, good: pl.DataFrame, closing: pl.DataFrame | None) -> MonthBalances:
    """The month's good balance rows and the ledger's closing (None: the month before
    is not in the ledger) measured as one: see the module's docstring."""
    early = None
    if closing is not None:  # the ledger's carry-in, not the export's rows before the month
        before = pl.col("date") < plan.window.start
        early, good = good.filter(before), good.filter(~before)
    rows = _balance_rows(plan, good, closing)
    # what the export's own rows before the month carry in, as a closing (so that the
    # month can be compared with the month before it, should that be accumulated
    # later: ``Ledger.stale``); the rows hold them when no closing was given
    day_before = plan.window.start - timedelta(days=1)
    carried_in = _closing(rows, day_before) if closing is None else None
    carried = rows.lazy().filter(pl.col(CARRIED_ROW)).select(STATUS, "product")
    return MonthBalances(
        _balance_fold(plan, rows),
        _closing(rows, plan.window.end),
        carried_statuses(carried.collect()),
        _accounts(rows),
        _outside(early),
        carried_in,
        _account_days(plan, rows),
    )


def _account_days(plan: Plan, rows: pl.DataFrame) -> pl.DataFrame:
    """Each account's month of 积数 per holder and product, as a core system keeps them:
    the balance counted (its sign, "zero", a "split" share: the rule set's unit,
    ``measuring.unit`` in the manifest) times the days it held, carried days included,
    whether or not the rule set scores the product. Kept for audit and reconciliation;
    scoring reads the folds. In no particular order (as the closing).

    Rows come by account: most accounts are one run of rows of one holder and
    product, summed by the run's number (a third of the time of a group-by on three
    texts); the accounts of several runs (joint, or a product changed) by their texts.
    """
    used = ["account_id", "customer_id", "product", "balance", "_days", STATUS, SHARE]
    held = rows.lazy().select(cs.by_name(used, require_all=False))
    held = held.filter(_live() & (pl.col("_days") > 0))
    value = shared_balance(plan, held) * pl.col("_days")
    keys = ["account_id", "customer_id", "product"]
    starts = pl.any_horizontal((pl.col(k) != pl.col(k).shift(1)).fill_null(True) for k in keys)
    last = starts.shift(-1).fill_null(True)  # a run's last row: the next row starts one
    days = pl.col("_days").cast(pl.Int64)
    summed = [value.cum_sum().alias("balance_days"), days.cum_sum().alias("days")]
    ends = held.select(*keys, *summed, last.alias("_last")).filter(pl.col("_last"))
    runs = ends.with_columns(  # a run's sums: running sums at its end less the run before's
        pl.col(c) - pl.col(c).shift(1).fill_null(0) for c in ("balance_days", "days")
    ).drop("_last")
    account = pl.col("account_id")
    shared = (account == account.shift(1)) | (account == account.shift(-1))
    runs = runs.with_columns(shared.fill_null(False).alias("_shared")).collect().lazy()
    several = runs.filter("_shared").group_by(keys).agg(pl.col("balance_days", "days").sum())
    alone = runs.filter(~pl.col("_shared")).drop("_shared")
    exact = pl.col("balance_days").cast(pl.Decimal(38, 0))  # 38 digits: Arrow and Spark too
    return pl.concat([alone, several]).select(*keys, exact, "days").collect()


def month_measured(
    month: MonthBalances,
    closing: pl.DataFrame | None,
    transactions: pl.DataFrame,
    bad_balances: pl.DataFrame,
    bad_txn: pl.DataFrame,
) -> dict[str, Any]:
    """The entry's frames from the month's balances and transactions folds (without
    checks) and bad rows, whichever engine measured them."""
    folds = {"balances": month.fold, "transactions": transactions}
    conflicts = [conflicts_part(frame, KEYS[name]) for name, frame in folds.items()]
    rejects = rejects_of([bad_balances, bad_txn], conflicts, Context())
    folds["balances"] = pl.concat(
        [folds["balances"], *_uncounted(month.carried), *month.outside, _rejected(bad_balances)],
        how="diagonal_relaxed",
    )
    folds["transactions"] = pl.concat(
        [folds["transactions"], _rejected(bad_txn)], how="diagonal_relaxed"
    )
    return {
        "folds": {name: _stored(frame) for name, frame in folds.items()},
        "counts": {name: counts_of(frame, NO_BAD) for name, frame in folds.items()},
        "closing": month.closing,
        "carried_in": month.carried_in if closing is None else closing,
        "carried": month.carried,
        "accounts": month.accounts,
        "account_days": month.account_days,
        "rejects": rejects,
    }


def _balance_rows(plan: Plan, good: pl.DataFrame, closing: pl.DataFrame | None) -> pl.DataFrame:
    """The month's balance rows (and the carried ones) in account order, each with its
    status and days, as a direct run's sorted path makes them."""
    rows = good.with_columns(pl.lit(False).alias(CARRIED_ROW))
    if closing is not None:  # first: dated before the month, they keep rows in date order
        rows = pl.concat([carry_rows(closing, rows.schema, plan.window.start), rows])
    ordered = by_account(rows.rechunk())
    repeats = account_order(ordered)[1]  # most months have no account and day twice
    marked = balance_rows(plan, ordered.lazy(), presorted=True, repeats=repeats)
    return marked.collect(engine="streaming")


def carry_rows(closing: pl.DataFrame, schema: pl.Schema, first: date) -> pl.DataFrame:
    """The closing balances as rows dated the day before the month, in ``schema``."""
    given = set(closing.columns)
    columns = [
        (
            pl.col(name).cast(dtype)
            if name in given and name in CLOSING_COLUMNS
            else pl.lit(None, dtype).alias(name)
        )
        for name, dtype in schema.items()
    ]
    rows = closing.select(columns)
    return rows.with_columns(
        pl.lit(first - timedelta(days=1)).cast(schema["date"]).alias("date"),
        pl.lit(True).alias(CARRIED_ROW),
    )


def _balance_fold(plan: Plan, rows: pl.DataFrame) -> pl.DataFrame:
    held = rows.lazy().select(folded_from("balances"))
    folded = fold_balances(plan, held).collect(engine="streaming")
    if needs_wide(folded):
        folded = fold_balances(plan, held, wide=True).collect(engine="streaming")
    return without_checks(folded)


def _live() -> pl.Expr:
    """Rows a later one can supersede and a carry-in can be made of: not a duplicate,
    not rejected (a conflict)."""
    return ~pl.col(STATUS).is_in([DUPLICATE, REJECTED])


def _closing(rows: pl.DataFrame, last: date) -> pl.DataFrame:
    """Every account's balance on ``last``: its last live rows dated up to that day
    (a joint account's holders, one row each)."""
    live = rows.lazy().filter(_live() & (pl.col("date") <= last))
    account = pl.col("account_id")
    ends = (account != account.shift(-1)).fill_null(True)  # rows come by account and date
    latest = live.filter(pl.col("date") == pl.when(ends).then(pl.col("date")).backward_fill())
    columns = [c for c in CLOSING_COLUMNS if c in rows.columns]
    return latest.select(columns).collect()


def carried_statuses(carried: pl.DataFrame) -> pl.DataFrame:
    """How many carried rows took each status (and, for a product the rule set does
    not map, each code: summary.json counts those per code). Totals, not per customer:
    a run reads a customer's row counts only to list the customers with rows (any
    status but rejected), and a carried balance comes from a live row counted in the
    month it was read, so moving carried rows between statuses, or out of the counts,
    never changes which customers those are."""
    if "rows" in carried.columns:  # such counts, of several parts (``spark_ledger``)
        by, rows = carried, pl.col("rows").sum()
    else:
        product = pl.when(pl.col(STATUS) == UNMAPPED).then(pl.col("product"))
        by, rows = carried.select(STATUS, product.alias(CODE)), pl.len()
    return (
        by.group_by(STATUS, CODE)
        .agg(rows.cast(pl.Int64).alias("rows"))
        .sort(STATUS, CODE, nulls_last=True)
    )


def _uncounted(statuses: pl.DataFrame) -> list[pl.DataFrame]:
    """Fold rows that take the carried rows (``carried_statuses``) out of the counts:
    they are no input's rows (one row of no customer, and one per unmapped code)."""
    if statuses.height == 0:
        return []
    negative = [
        pl.when(pl.col(STATUS) == s).then(-pl.col("rows")).otherwise(0).sum().alias(count_column(s))
        for s in range(len(STATUSES))
    ]
    codes = (
        statuses.filter(pl.col(CODE).is_not_null())
        .group_by(CODE)
        .agg((-pl.col("rows").sum()).alias(CODE_ROWS))
        .sort(CODE)
    )
    return [statuses.select(negative), codes]


def _outside(early: pl.DataFrame | None) -> list[pl.DataFrame]:
    """An export's balance rows before a month carried in from the ledger: outside."""
    if early is None or early.height == 0:
        return []
    count = pl.len().cast(pl.Int64).alias(count_column(OUTSIDE))
    return [early.group_by("customer_id").agg(count).sort("customer_id")]


def _rejected(bad: pl.DataFrame) -> pl.DataFrame:
    """A fold row of no customer counting the bad rows (the ledger keeps their rejects
    lines, not the rows)."""
    return pl.DataFrame({count_column(REJECTED): [bad.height]}, schema={
        count_column(REJECTED): pl.Int64})  # fmt: skip


NO_BAD = pl.DataFrame(  # no bad rows: a fold's counts hold them (``_rejected``)
    schema={FILE_COL: pl.UInt16, LINE_COL: pl.Int64, DETAIL: pl.String}
)


def _stored(folded: pl.DataFrame) -> pl.DataFrame:
    """A fold as the ledger keeps it: conflicts are in the rejects already, and accounts
    overdrawn or joint are kept apart (``ACCOUNTS``): a run counts each once."""
    kept = {CONFLICT_FILE: pl.UInt16, CONFLICT_LINE: pl.Int64, CONFLICT_VALUE: pl.String}
    out = folded.with_columns(pl.lit(None, dtype).alias(c) for c, dtype in kept.items())
    once = [c for c in (OD_ACCOUNTS, JT_ACCOUNTS) if c in out.columns]
    return out.with_columns(pl.lit(0, pl.Int64).alias(c) for c in once)


def _accounts(rows: pl.DataFrame) -> pl.DataFrame:
    """The accounts the month found overdrawn or joint (summary.json's counts)."""
    kinds = [(OD_ACCOUNTS, "overdrawn"), (JT_ACCOUNTS, "joint")]
    parts = [
        rows.filter(pl.col(column) > 0).select("account_id", pl.lit(kind).alias("kind"))
        for column, kind in kinds
        if column in rows.columns
    ]
    empty = pl.DataFrame(schema={"account_id": pl.String, "kind": pl.String})
    return pl.concat([empty, *parts]).unique().sort("kind", "account_id")


def _written(
    ledger: Ledger,
    job: Accumulation,
    plan: Plan,
    files: dict[str, list[InputFile]],
    measured: dict[str, Any],
    rejects: pl.DataFrame,
    before: Entry | None,
) -> Accumulated:
    closing = measured["closing"]
    carried_in = measured["carried_in"]
    entry_id = uuid.uuid4().hex
    totals, total_of = _totals(ledger, job.month, measured["folds"], entry_id)
    manifest = {
        "tierscore": __version__,
        "month": month_label(job.month),
        "last_day": plan.window.end.isoformat(),
        "partial": plan.window.end != month_end(job.month),
        "ruleset": plan.ruleset.name,
        "ruleset_sha256": plan.ruleset.sha256,
        "measuring": measuring_of(plan),
        "carried_from": "ledger" if before is not None else "export",
        # the balances carried in and those closing the month, as the months know them
        "carried_id": before.closing_id if before is not None else DIGEST + state_sha(carried_in),
        "closing_id": closing_identity(ledger, job.month, closing),
        "rows": measured["counts"],
        # the first and last date of each input's usable rows (a code the rule set
        # counts), wherever dated: a window with no used row stops only if there are any
        **({"usable_span": _spans(measured["usable_span"])} if "usable_span" in measured else {}),
        "inputs": {name: [f.as_dict() for f in found] for name, found in files.items()},
        ENTRY_ID: entry_id,
        **({TOTAL_OF: total_of} if total_of is not None else {}),
    }
    with ledger.writing(job.month) as staging:
        for name, frame in measured["folds"].items():
            frame.write_parquet(staging / FOLDS[name], compression=COMPRESSION)
        closing.write_parquet(staging / CLOSING, compression=COMPRESSION)
        measured["carried"].write_parquet(staging / CARRIED, compression=COMPRESSION)
        measured["accounts"].write_parquet(staging / ACCOUNTS, compression=COMPRESSION)
        measured["account_days"].write_parquet(staging / ACCOUNT_DAYS, compression=COMPRESSION)
        rejects.write_parquet(staging / REJECTS, compression=COMPRESSION)
        for name, total in totals.items():
            total.write_parquet(staging / TOTALS[name], compression=COMPRESSION)
        write_manifest(staging, manifest)
    entry = ledger.entry(job.month)
    assert entry is not None
    stale = [month_label(m) for m in sorted(ledger.stale()) if m > job.month]
    return Accumulated(entry, measured["counts"], rejects.height, stale)


def _totals(
    ledger: Ledger, month: date, folds: dict[str, pl.DataFrame], entry_id: str
) -> tuple[dict[str, pl.DataFrame], list[str] | None]:
    """The month's running totals (``ledger_totals``) and the ids they add up: the
    total of the month before plus this month's folds, or, where that total is not
    current (a month before it accumulated again), the last current one plus the
    folds of the months after it. None where a month before is missing: no window
    scores across a gap."""
    earlier = {m: e for m, e in ledger.entries().items() if m < month}
    ids = total_of(earlier, previous_month(month))
    if ids is None or (earlier and max(earlier) != previous_month(month)):
        return {}, None
    if earlier and len(earlier) != len(months_between(min(earlier), max(earlier))):
        return {}, None
    start = max((m for m in earlier if current(earlier, m)), default=None)
    totals = {}
    for name, folded in folds.items():
        total = earlier[start].frame(TOTALS[name]) if start is not None else None
        for later in (m for m in earlier if start is None or m > start):
            total = running_total(total, earlier[later].frame(FOLDS[name]))
        totals[name] = running_total(total, folded)
    return totals, [*ids, entry_id]


def _spans(spans: dict[str, tuple[date, date] | None]) -> dict[str, list[str] | None]:
    return {
        name: None if span is None else [day.isoformat() for day in span]
        for name, span in spans.items()
    }
