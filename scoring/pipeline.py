"""The main job as one straight line: read -> validate -> measure -> score.

Each step adds to one lazy polars query; the query runs once, in ``collect_all``,
so shared scans are read once and polars can plan the whole job. The result
holds the published tables and the facts the summary and manifest report.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from .measures import (
    BALANCE_CONTENT,
    BALANCE_KEY,
    CODE,
    STATUS,
    TXN_CONTENT,
    TXN_KEY,
    Measured,
    conflicts,
    mark_duplicates,
    measure_balances,
    measure_transactions,
)
from .plan import CENTS, Plan, compile_plan
from .points import NUMERATOR, TIER_INDEX, customer_values, report_columns, score, to_money
from .rules import load_rules
from .sources import BALANCES, FILE_COL, TRANSACTIONS, InputFile, Reader, TableSpec, resolve_paths
from .validate import BALANCE_PARSERS, TRANSACTION_PARSERS, Parser, validate
from .window import Window

STATUSES = ("used", "excluded", "unmapped", "outside_window", "duplicate", "rejected")


@dataclass
class Job:
    """What to score: inputs, window and rule set, as the operator gave them."""

    balances: str
    transactions: str
    window: Window
    rules: str = "icbc-star"
    encoding: str | None = None
    mapping: dict[str, dict[str, str]] | None = None


@dataclass
class Result:
    plan: Plan
    scores: pl.DataFrame
    rejects: pl.DataFrame
    summary: dict[str, object]
    inputs: dict[str, list[InputFile]]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class _Input:
    files: list[InputFile]
    good: pl.LazyFrame
    rejects: pl.LazyFrame


def _read(reader: Reader, spec: TableSpec, given: str, parsers: dict[str, Parser]) -> _Input:
    """Open and validate every file of one input; typed rows are concatenated."""
    files, goods, rejects = [], [], []
    for path in resolve_paths(given, f"--{spec.name}"):
        lf, info = reader.open(spec, path, str(path))
        good, bad = validate(lf, parsers)
        files.append(info)
        goods.append(good)
        rejects.append(bad)
    return _Input(files, pl.concat(goods), pl.concat(rejects))


class Observer(Protocol):
    """Told when a stage starts and ends, so a front end can show progress."""

    def started(self, stage: str, detail: str) -> None: ...

    def finished(self, stage: str, seconds: float, detail: str) -> None: ...


class _Silent:
    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        pass


class Stages:
    """Times named stages for the manifest and reports them to an observer."""

    def __init__(self, observer: Observer | None = None):
        self.observer = observer or _Silent()
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[list[str]]:
        """Yields a list the caller may fill with a closing detail (e.g. row counts)."""
        self.observer.started(name, detail)
        clock = time.perf_counter()
        closing: list[str] = []
        yield closing
        self.timings[name] = time.perf_counter() - clock
        self.observer.finished(name, self.timings[name], " ".join(closing))


def run(job: Job, observer: Observer | None = None) -> Result:
    """Score every customer of both inputs; nothing is written here.

    Stages: ``read`` finds, hashes and opens the files; ``compute`` runs the
    one lazy query that validates, measures and scores, so those steps share
    scans and are timed together.
    """
    stages = Stages(observer)
    plan = compile_plan(load_rules(job.rules), job.window)
    with Reader(job.encoding, job.mapping) as reader:
        with stages.stage("read", "finding, hashing and opening inputs") as done:
            bal = _read(reader, BALANCES, job.balances, BALANCE_PARSERS)
            txn = _read(reader, TRANSACTIONS, job.transactions, TRANSACTION_PARSERS)
            done.append(f"{len(bal.files)} balances file(s), {len(txn.files)} transactions file(s)")
        with stages.stage("compute", "validate, measure, score") as done:
            collected = _compute(plan, bal, txn)
            done.append(f"{collected[0].height:,} customers")
    return _result(plan, bal, txn, collected, stages.timings)


def _compute(plan: Plan, bal: _Input, txn: _Input) -> list[pl.DataFrame]:
    """Build the whole job as lazy queries and collect them together."""
    measured_bal = measure_balances(plan, bal.good)
    measured_txn = measure_transactions(plan, txn.good)
    customers = _customers(measured_bal, measured_txn)
    values = customer_values(plan, customers, measured_bal.per_customer, measured_txn.per_customer)
    scored = score(plan, values)
    queries = [
        report_columns(plan, scored),
        pl.concat([bal.rejects, measured_bal.rejects, txn.rejects, measured_txn.rejects]),
        _tier_totals(plan, scored),
        _accounting(measured_bal, bal.rejects),
        _accounting(measured_txn, txn.rejects),
        _unmapped(measured_bal),
        _unmapped(measured_txn),
    ]
    return pl.collect_all(queries)


def _result(
    plan: Plan,
    bal: _Input,
    txn: _Input,
    collected: list[pl.DataFrame],
    timings: dict[str, float],
) -> Result:
    scores, rejects, totals, bal_counts, txn_counts, bal_codes, txn_codes = collected
    rejects = rejects.sort(["file", "line", "column"], maintain_order=True)
    inputs = {"balances": bal.files, "transactions": txn.files}
    counts = {"balances": bal_counts, "transactions": txn_counts}
    _fill_file_rows(inputs, counts)
    codes = {"balances": bal_codes, "transactions": txn_codes}
    summary = _summary(plan, totals, counts, codes)
    return Result(plan, scores, rejects, summary, inputs, timings)


@dataclass
class Inspection:
    """Inputs checked without a window: per-input counts and the rejects."""

    counts: dict[str, dict[str, int]]
    rejects: pl.DataFrame
    inputs: dict[str, list[InputFile]]


def inspect(
    balances: str,
    transactions: str,
    encoding: str | None = None,
    mapping: dict[str, dict[str, str]] | None = None,
) -> Inspection:
    """Read and validate both inputs, and find duplicates, without scoring."""
    with Reader(encoding, mapping) as reader:
        frames, queries = {}, []
        for spec, given, parsers, key, content, column in (
            (BALANCES, balances, BALANCE_PARSERS, BALANCE_KEY, BALANCE_CONTENT, "balance"),
            (TRANSACTIONS, transactions, TRANSACTION_PARSERS, TXN_KEY, TXN_CONTENT, "txn_id"),
        ):
            read = _read(reader, spec, given, parsers)
            marked = mark_duplicates(read.good, key, content)
            frames[spec.name] = read
            rejects = pl.concat([read.rejects, conflicts(marked, key, column)])
            rows = marked.select(FILE_COL, pl.col(STATUS).fill_null("valid"))
            queries += [rejects, _status_table(rows, read.rejects)]
        bal_rejects, bal_counts, txn_rejects, txn_counts = pl.collect_all(queries)
    counts = {"balances": bal_counts, "transactions": txn_counts}
    inputs = {name: read.files for name, read in frames.items()}
    _fill_file_rows(inputs, counts)
    rejects = pl.concat([bal_rejects, txn_rejects]).sort(
        ["file", "line", "column"], maintain_order=True
    )
    return Inspection(
        {
            name: _status_counts(frame, ("valid", "duplicate", "rejected"))
            for name, frame in counts.items()
        },
        rejects,
        inputs,
    )


def _customers(*measured: Measured) -> pl.LazyFrame:
    """Everyone with a usable row in either input, even if nothing of theirs scores."""
    ids = [m.rows.filter(pl.col(STATUS) != "rejected").select("customer_id") for m in measured]
    return pl.concat(ids).unique()


def _tier_totals(plan: Plan, scored: pl.LazyFrame) -> pl.LazyFrame:
    assets = (
        pl.sum_horizontal(pl.col(cid) for cid in plan.ruleset.assets)
        if plan.ruleset.assets
        else pl.lit(0, pl.Int128)
    )
    return scored.group_by(TIER_INDEX).agg(
        pl.len().alias("customers"),
        to_money(pl.col(NUMERATOR).sum(), plan.q).alias("points"),
        to_money(assets.cast(pl.Int128).sum(), CENTS * plan.day_count).alias("assets"),
    )


def _accounting(measured: Measured, rejects: pl.LazyFrame) -> pl.LazyFrame:
    return _status_table(measured.rows, rejects)


def _status_table(rows: pl.LazyFrame, rejects: pl.LazyFrame) -> pl.LazyFrame:
    """Rows per file and status; a row with several problems counts once as rejected."""
    parsed = rows.group_by(FILE_COL, STATUS).agg(pl.len().alias("rows"))
    rejected = (
        rejects.select(pl.col("file").alias(FILE_COL), "line")
        .unique()
        .group_by(FILE_COL)
        .agg(pl.len().alias("rows"))
        .select(FILE_COL, pl.lit("rejected").alias(STATUS), "rows")
    )
    return pl.concat([parsed, rejected])


def _unmapped(measured: Measured) -> pl.LazyFrame:
    return (
        measured.rows.filter(pl.col(STATUS) == "unmapped")
        .group_by(CODE)
        .agg(pl.len().alias("rows"))
        .sort(CODE)
    )


def _fill_file_rows(inputs: dict[str, list[InputFile]], counts: dict[str, pl.DataFrame]) -> None:
    for name, files in inputs.items():
        per_file = counts[name].group_by(FILE_COL).agg(pl.col("rows").sum())
        rows = dict(per_file.iter_rows())
        for info in files:
            info.rows = int(rows.get(info.path, 0))


def _summary(
    plan: Plan,
    totals: pl.DataFrame,
    counts: dict[str, pl.DataFrame],
    codes: dict[str, pl.DataFrame],
) -> dict[str, object]:
    by_index = {row[TIER_INDEX]: row for row in totals.iter_rows(named=True)}
    customers = int(totals["customers"].sum()) if totals.height else 0
    tiers = []
    for index, tier in enumerate(plan.tiers):
        row = by_index.get(index, {"customers": 0, "points": None, "assets": None})
        tiers.append(
            {
                "tier": tier.label,
                "customers": int(row["customers"]),
                "share": round(row["customers"] / customers, 4) if customers else 0.0,
                "points": str(row["points"] if row["points"] is not None else "0.00"),
                "assets_daily_average": str(row["assets"] if row["assets"] is not None else "0.00"),
            }
        )
    quality = plan.quality_index
    return {
        "ruleset": plan.ruleset.as_dict(),
        "window": plan.window.as_dict(),
        "customers": customers,
        "quality_customers": sum(t["customers"] for t in tiers[: quality + 1])
        if quality is not None
        else 0,
        "tiers": tiers,
        "rows": {name: _status_counts(frame) for name, frame in counts.items()},
        "unmapped_codes": {name: dict(frame.iter_rows()) for name, frame in codes.items()},
    }


def _status_counts(frame: pl.DataFrame, statuses: tuple[str, ...] = STATUSES) -> dict[str, int]:
    found = dict(frame.group_by(STATUS).agg(pl.col("rows").sum()).iter_rows())
    out = {status: int(found.get(status, 0)) for status in statuses}
    return {"read": sum(out.values()), **out}
