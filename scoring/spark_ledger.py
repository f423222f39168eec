"""The 积数 ledger on Spark: ``accumulate --engine spark`` and ``score --ledger --engine spark``.

Writing. A month's balances are spread over the cluster by account, as the Spark
engine spreads them (``spark_engine._measure``), and the ledger's closing balances of
the month before travel with them, as rows of the same Spark frame keyed by the same
account: each task holds every row and the carried balance of its accounts, and
runs the very function the polars engine measures the month's balances with
(``accumulate.month_balances``). No task is sent the whole closing. The tasks' parts
(each one's fold, closing, carried statuses, accounts, bad rows) reach the driver,
which adds them up into what one machine would have made of all the rows at once
(``merged_fold``; the rest are per account, or sums per customer) and writes the
entry as the polars engine does (``accumulate.month_measured``). Transactions are
measured as the Spark engine measures them, and their per-task folds added up alike.

Reading. The ledger's folds are small: ``ledger_score.run_from_ledger`` adds them up
on the driver as always, and hands them to the Spark engine's finish (the customer
values, ranks and scores of ``spark_finish``) instead of ``finish.result_of``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .accumulate import (
    Accumulated,
    Accumulation,
    MonthBalances,
    accumulate,
    carried_statuses,
    change_log,
    month_balances,
    month_measured,
)
from .coverage import Span, span_of_parts, usable_span
from .finish import Context, Measured, Result, finish
from .folds import without_checks
from .layouts import layout_of
from .ledger_score import run_from_ledger
from .measures import NO_CSE, good_and_bad, measure_in_steps
from .pipeline import Job, Observer
from .plan import Plan
from .row_status import (
    CODE,
    CODE_ROWS,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    STATUSES,
    count_column,
)
from .sources import FILE_COL, TRANSACTIONS, InputFile, Reader, balances_spec
from .spark_engine import (
    ROWS,
    _checked_partition,
    _cores,
    _layout_recorded,
    _measure,
    _open,
    _Opened,
    _partitions,
    _same_records,
    _span,
    _to_polars,
    _unchanged,
    validated_key,
)
from .spark_finish import OnCluster
from .spark_scoring import (
    arrow_for_spark,
    with_parts,
)
from .watch import FORWARD

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

Start = Callable[[], "SparkSession"]  # the session, started when first needed
KEY = "_ledger_key"  # the account as the measuring reads it: what the rows are spread by
CARRY = "_ledger_carry"  # true on the rows made of the ledger's closing balances
_CARRIED = "_ledger_carried_"  # the prefix of a closing column on those rows
TEXT = ("customer_id", CODE, CONFLICT_VALUE)  # a fold's text columns; the others are sums
FOLD_ROWS_A_TASK = 1_000_000  # ledger fold rows a scoring task takes, unless told otherwise


def accumulate_on_spark(job: Accumulation, start: Start) -> Accumulated:
    """``accumulate.accumulate`` with the month measured on Spark; the session is started
    once the ledger is checked and locked (a usage error costs no JVM)."""
    return accumulate(job, partial(_measured, start))


def _measured(
    start: Start, plan: Plan, reader: Reader, job: Accumulation, closing: pl.DataFrame | None
) -> tuple[dict[str, Any], dict[str, list[InputFile]]]:
    """``accumulate.Measure`` on Spark: both inputs opened as the Spark engine opens them."""
    spark = start()
    as_job = Job(job.balances, job.transactions, plan.window, job.rules, job.encoding,
                 job.mapping, delimiter=job.delimiter, date_format=job.date_format)  # fmt: skip
    opened = {
        "balances": _open(spark, reader, balances_spec(None), job.balances, as_job),
        "transactions": _open(spark, reader, TRANSACTIONS, job.transactions, as_job),
    }
    _layout_recorded(opened["balances"])
    change_log(layout_of(opened["balances"].frame.columns))
    for one in opened.values():
        one.date_format = job.date_format
    month, bad_balances, span = _balances(spark, plan, opened["balances"], closing)
    txn = _measure(plan, "transactions", opened["transactions"])
    # the manifest's usable_span (``accumulate._measured``): transactions validated again
    spans = {"balances": span, "transactions": _span(plan, "transactions", opened["transactions"])}
    template = _empty_fold(plan, opened["transactions"])
    folded = merged_fold([_to_polars(txn.folds)], template, _ids(plan, "transactions"))
    txn.held.unpersist()
    _unchanged(opened)
    measured = month_measured(month, closing, folded, bad_balances, txn.bad)
    measured["usable_span"] = spans
    return measured, {name: one.files for name, one in opened.items()}


def _ids(plan: Plan, source: str) -> list[str]:
    return [c.id for c in plan.of_source(source)]


def _empty_fold(plan: Plan, opened: _Opened) -> pl.Schema:
    """The columns and types the polars engine folds an input into (``measures``): its
    fold of no rows, read as the tasks read theirs."""
    empty = _to_polars(opened.frame.limit(0))
    checked = _checked_partition(plan, "transactions", opened.typed, empty, {}, None)[1]
    return without_checks(measure_in_steps(plan, "transactions", checked, None)[0]).schema


# --- balances: the month's rows and the ledger's closing, by account ---------------------


def _balances(
    spark: SparkSession, plan: Plan, opened: _Opened, closing: pl.DataFrame | None
) -> tuple[MonthBalances, pl.DataFrame, Span | None]:
    """The month's balances measured on the cluster with the ledger's carry-in, added up
    into what ``month_balances`` makes of them all at once, the bad rows, and the
    usable rows' span (``coverage.usable_span``)."""
    frame = _keyed(opened)
    schema = None if closing is None else closing.schema
    if closing is not None:
        frame = frame.unionByName(_carried(spark, closing), allowMissingColumns=True)
    task = _month_task(plan, opened.typed, opened.facts, opened.date_format, schema)
    spread = frame.repartition(_partitions(opened), KEY)
    _, found, held = with_parts(spread, task, {})
    try:
        empty = {n: [p] for n, p in task(_to_polars(frame.limit(0)))[1].items()}  # (if no task)
    finally:
        held.unpersist()
    parts = {name: [*empty.get(name, []), *found.get(name, [])] for name in {*empty, *found}}
    _counted(opened, pl.concat(parts.pop("sizes")))
    bad = pl.concat(parts.pop("bad"))
    span = span_of_parts(pl.concat(parts.pop("span")))
    return _added(plan, parts, closing is None), bad, span


def _keyed(opened: _Opened) -> DataFrame:
    """The input with ``KEY``: its account as validation makes it, so that the ledger's
    closing balance of an account goes where the account's rows go. A typed file's id
    is taken as it is; text is trimmed of what polars' ``strip_chars`` trims (Unicode
    white space, not only the spaces of Spark's ``trim``)."""
    from pyspark.sql import functions as F

    account = validated_key(F.col("account_id").cast("string"), opened.typed)
    return opened.frame.withColumn(KEY, account)


def _carried(spark: SparkSession, closing: pl.DataFrame) -> DataFrame:
    """The ledger's closing balances as rows of their own columns (never the input's,
    whose types are the file's), keyed by their account."""
    renamed = closing.select(pl.all().name.prefix(_CARRIED))
    types = {**renamed.schema, KEY: pl.String, CARRY: pl.Boolean}
    shaped = renamed.with_columns(
        pl.col(f"{_CARRIED}account_id").alias(KEY), pl.lit(True).alias(CARRY)
    )
    return spark.createDataFrame(arrow_for_spark([shaped], types))


def _month_task(
    plan: Plan,
    typed: bool,
    facts: dict[int, Any],
    date_format: str | None,
    closing: pl.Schema | None,
) -> Callable[[pl.DataFrame], tuple[pl.DataFrame, dict[str, pl.DataFrame]]]:
    """What each task runs (``month_partition``; a partial of a module's function, so
    that Spark pickles it by name and not the polars objects it reads)."""
    return partial(month_partition, plan, typed, facts, date_format, closing)


def month_partition(
    plan: Plan,
    typed: bool,
    facts: dict[int, Any],
    date_format: str | None,
    closing: pl.Schema | None,
    frame: pl.DataFrame,
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """One task's accounts: the polars engine's validation
    (``spark_engine._checked_partition``) and ``accumulate.month_balances``, with the
    carried balances of its accounts (``closing``: their columns; None: the month
    before is not in the ledger). Its parts travel to the driver, no rows."""
    carry = pl.col(CARRY).fill_null(False) if CARRY in frame.columns else pl.lit(False)
    own = [KEY, CARRY, *(c for c in frame.columns if c.startswith(_CARRIED))]
    given = frame.filter(~carry).drop(own, strict=False)
    carried = None
    if closing is not None:
        carried = frame.filter(carry).select(
            pl.col(f"{_CARRIED}{c}").cast(t).alias(c) for c, t in closing.items()
        )
    rows, lazy = _checked_partition(plan, "balances", typed, given, facts, date_format)
    checked = lazy.collect(engine="streaming", optimizations=NO_CSE)
    good, bad = good_and_bad(checked)
    month = month_balances(plan, good, carried)
    parts = {
        "fold": month.fold,
        "closing": month.closing,
        "carried": month.carried,
        "accounts": month.accounts,
        "account_days": month.account_days,
        "bad": bad,
        "sizes": rows.group_by(FILE_COL).agg(pl.len().cast(pl.Int64).alias(ROWS)).collect(),
        "span": usable_span(plan, "balances", checked.lazy()).collect(),
    }
    if month.outside:
        parts["outside"] = pl.concat(month.outside)
    if month.carried_in is not None:
        parts["carried_in"] = month.carried_in
    return pl.DataFrame(), parts


def _counted(opened: _Opened, sizes: pl.DataFrame) -> None:
    """Each file's rows as the tasks counted them (as ``spark_engine._measure`` does)."""
    rows = dict(sizes.group_by(FILE_COL).agg(pl.col(ROWS).sum()).iter_rows())
    for number, info in zip(opened.ids, opened.files, strict=True):
        info.rows = int(rows.get(number, 0) or 0)
        _same_records(info)


def _added(plan: Plan, parts: dict[str, list[pl.DataFrame]], own_carry: bool) -> MonthBalances:
    """The tasks' parts as one ``MonthBalances``: what is per account (the closing, the
    accounts) is each task's alone, what is per customer is summed (a customer's
    accounts may be in several tasks), in the order ``accumulate`` gives them; a closing
    has no order (``accumulate`` gives its accounts' hash order): here, its columns'."""
    closing = pl.concat(parts["closing"])
    carried = carried_statuses(pl.concat(parts["carried"]))
    accounts = pl.concat(parts["accounts"]).unique().sort("kind", "account_id")
    outside = []
    if "outside" in parts:
        early = pl.concat(parts["outside"])
        outside = [early.group_by("customer_id").agg(pl.all().sum()).sort("customer_id")]
    carried_in = None
    if own_carry:
        carried_in = pl.concat(parts["carried_in"])
        if carried_in.height:
            carried_in = carried_in.sort(carried_in.columns, nulls_last=True)
    # A task whose rows repeat no account and day folds no joint columns (``_balance_rows``):
    # the month has them if any task has them, in the order that task's fold gives them.
    template = max((f.schema for f in parts["fold"]), key=len)
    fold = merged_fold(parts["fold"][1:], template, _ids(plan, "balances"))
    days = pl.concat(parts["account_days"], how="vertical_relaxed")  # an account is one task's
    return MonthBalances(
        fold,
        closing.sort(closing.columns, nulls_last=True),
        carried,
        accounts,
        outside,
        carried_in,
        days,
    )


def merged_fold(frames: list[pl.DataFrame], template: pl.Schema, ids: list[str]) -> pl.DataFrame:
    """Folds of tasks that each held some of a customer's rows, as one machine folds all
    the rows (``folds._fold``): a group per customer, one per unmapped code, and each
    conflicting row's, in ``template``'s columns and types. Sums are added in 128 bits;
    the components stay 64-bit where the template's are and every sum fits (a fold
    that went wide on one machine holds the same sums, in 128 bits)."""
    wide = {c: pl.String if c in TEXT else pl.Int128 for c in template}
    extra = {c for f in frames for c in f.columns} - set(template)
    if extra:  # a task folded what no fold of one machine has: never to be dropped
        raise AssertionError(f"a task's fold has columns {sorted(extra)} beyond {list(template)}")
    shaped = [
        f.select(
            pl.col(c).cast(t) if c in f.columns else pl.lit(None, t).alias(c)
            for c, t in wide.items()
        )
        for f in frames
    ]
    rows = pl.concat([pl.DataFrame(schema=wide), *shaped])
    conflict, code = pl.col(CONFLICT_LINE).is_not_null(), pl.col(CODE).is_not_null()
    sums = [
        c for c in template if c not in TEXT and c not in (CODE_ROWS, CONFLICT_FILE, CONFLICT_LINE)
    ]
    per_customer = rows.filter(~conflict & ~code).group_by("customer_id").agg(pl.col(sums).sum())
    per_code = rows.filter(code & ~conflict).group_by(CODE).agg(pl.col(CODE_ROWS).sum())
    merged = pl.concat([rows.filter(conflict), per_customer, per_code], how="diagonal")
    types = dict(template)
    went_wide = any(f.schema.get(c) == pl.Int128 for f in frames for c in ids)
    if went_wide or not _fits_64(merged, ids):
        types |= dict.fromkeys(ids, pl.Int128)
    return merged.select(pl.col(c).cast(t, strict=True) for c, t in types.items())


def _fits_64(frame: pl.DataFrame, ids: list[str]) -> bool:
    """Every sum of ``ids`` is a 64-bit integer."""
    if not ids or frame.height == 0:
        return True
    low, high = frame.select(
        pl.min_horizontal(pl.col(ids).min()).alias("low"),
        pl.max_horizontal(pl.col(ids).max()).alias("high"),
    ).row(0)
    return (low is None or low >= -(2**63)) and (high is None or high < 2**63)


# --- scoring from the ledger, finished on Spark -----------------------------------------


def run_from_ledger_on_spark(
    job: Job,
    root: Path | str,
    start: Start,
    observer: Observer | None = None,
    collect: bool = True,
) -> Result:
    """``ledger_score.run_from_ledger`` scored on Spark (``collect=False``: the scores
    stay on the cluster, ``Result.cluster_scores``); the session is started once the
    ledger has given the window (a missing or stale month costs no JVM)."""
    return run_from_ledger(job, root, observer, finish=_Finish(start, collect))


@dataclass
class _Finish:
    """``finish.result_of`` on the cluster: the ledger's folds, added up on the driver,
    finished as a Spark run finishes (``spark_finish.OnCluster``)."""

    start: Start
    collect: bool

    def __call__(self, plan: Plan, measured: dict[str, Measured], context: Context) -> Result:
        spark = self.start()
        bad = {name: m.bad for name, m in measured.items()}
        files = {name: m.files for name, m in measured.items()}
        partitions = _tasks(spark, sum(m.folded.height for m in measured.values()))
        folds = {name: _to_spark(spark, plan, name, m.folded) for name, m in measured.items()}
        measured.clear()

        def forward(values: DataFrame) -> tuple[DataFrame | None, None]:
            return _forward_on(values, context), None

        finisher = OnCluster(folds, partitions, forward, self.collect)
        return finish(plan, finisher, bad, files, context)


def _forward_on(values: DataFrame, context: Context) -> DataFrame | None:
    """The watch's numerator on the next rating day (``context.forward``, from the
    ledger's months) on the cluster, for every customer: one it does not list has
    ``forward_rest``, as ``result_of`` fills it in."""
    from pyspark.sql import functions as F

    if context.forward is None:
        return None
    types = {"customer_id": pl.String, FORWARD: pl.Decimal(38, 0)}
    forward = values.sparkSession.createDataFrame(arrow_for_spark([context.forward], types))
    if context.forward_rest is None:
        return forward
    rest = F.lit(str(context.forward_rest)).cast("decimal(38,0)")
    listed = values.select("customer_id").join(forward, "customer_id", "left")
    return listed.select("customer_id", F.coalesce(F.col(FORWARD), rest).alias(FORWARD))


def _tasks(spark: SparkSession, rows: int) -> int:
    """Scoring tasks: the operator's ``spark.sql.shuffle.partitions`` if set, else one a
    core, or more for a ledger of many customers (``FOLD_ROWS_A_TASK``)."""
    chosen = int(spark.conf.get("spark.sql.shuffle.partitions", "200") or 200)
    if chosen != 200:
        return chosen
    return max(_cores(spark), -(-rows // FOLD_ROWS_A_TASK))


def _to_spark(spark: SparkSession, plan: Plan, name: str, folded: pl.DataFrame) -> DataFrame:
    """A ledger fold as ``spark_scoring.customer_values`` reads a measured one (the
    Spark engine's hand-over types: ``spark_engine._handover_types``)."""
    types = {
        "customer_id": pl.String,
        CODE: pl.String,
        CODE_ROWS: pl.Int64,
        CONFLICT_FILE: pl.Int32,
        CONFLICT_LINE: pl.Int64,
        **{c: pl.Decimal(38, 0) for c in _ids(plan, name)},
        **{count_column(s): pl.Int64 for s in range(len(STATUSES))},
        CONFLICT_VALUE: pl.String,
    }
    return spark.createDataFrame(arrow_for_spark([folded], types))
