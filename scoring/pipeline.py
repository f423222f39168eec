"""The main job as one straight line: read -> validate -> measure -> score.

Each input is one lazy query (scan, validate, mark duplicates, measure) that
ends in a group-by to a frame of a few rows per customer; both queries run
together in ``collect_all``, so every input is read once. Scores, row
accounting, unmapped codes and rejects are then derived from those small
frames.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from .measures import (
    BALANCE_KEY,
    CODE,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    DUPLICATE,
    INT64_SAFE,
    MAGNITUDE,
    REJECTED,
    STATUS,
    STATUSES,
    TXN_KEY,
    UNMAPPED,
    conflict_column,
    conflict_reason,
    conflict_rejects,
    count_column,
    mark_balance_rows,
    mark_duplicates,
    mark_transaction_rows,
    measure_balances,
    measure_transactions,
    repeated_hashes,
    shown_value,
)
from .plan import CENTS, Plan, compile_plan
from .points import NUMERATOR, TIER_INDEX, customer_values, report_columns, score, to_money
from .rules import load_rules
from .sources import (
    BALANCES,
    TRANSACTIONS,
    InputFile,
    Reader,
    TableSpec,
    customers_spec,
    resolve_paths,
)
from .validate import (
    BALANCE_PARSERS,
    TRANSACTION_PARSERS,
    Parser,
    parse_count,
    parse_flag,
    parse_id,
    rejects_table,
    validate,
)
from .window import Window

ROWS = "_rows"
# No common-subplan caching: a shared subplan would be held in memory whole,
# and re-reading an input for its few bad rows is cheaper than holding it.
_OPTIMIZE = pl.QueryOptFlags(comm_subplan_elim=False)
INPUTS = ("balances", "transactions")


@dataclass
class Job:
    """What to score: inputs, window and rule set, as the operator gave them."""

    balances: str
    transactions: str
    window: Window
    rules: str = "icbc-star"
    encoding: str | None = None
    mapping: dict[str, dict[str, str]] | None = None
    customers: str | None = None  # attributes file(s): the quality gates' columns


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
    bad: pl.LazyFrame
    sizes: list[pl.LazyFrame]  # one row count per file
    raw: pl.LazyFrame  # the files as read, before validation
    repeated: list[int] = field(default_factory=list)  # hashes of repeated txn ids

    def take_sizes(self, sizes: list[pl.DataFrame]) -> None:
        """Record each file's row count, collected from ``self.sizes``."""
        for info, size in zip(self.files, sizes, strict=True):
            info.rows = int(size.item())

    def mark(self, name: str) -> pl.LazyFrame:
        if name == "balances":
            return mark_balance_rows(self.good)
        return mark_transaction_rows(self.good, self.repeated)

    def measure(self, name: str, plan: Plan, wide: bool = False) -> pl.LazyFrame:
        if name == "balances":
            return measure_balances(plan, self.good, wide)
        return measure_transactions(plan, self.good, self.repeated, wide)


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


def _read(reader: Reader, spec: TableSpec, given: str, parsers: dict[str, Parser]) -> _Input:
    """Open and validate every file of one input; typed rows are concatenated."""
    files, goods, bads, sizes, raws = [], [], [], [], []
    for path in resolve_paths(given, f"--{spec.name}"):
        lf, info = reader.open(spec, path, str(path))
        good, bad = validate(lf, parsers, typed=info.format == "parquet")
        files.append(info)
        goods.append(good)
        bads.append(bad)
        sizes.append(lf.select(pl.len()))
        raws.append(lf)
    read = _Input(files, pl.concat(goods), pl.concat(bads), sizes, pl.concat(raws))
    if spec is TRANSACTIONS:
        read.repeated = repeated_hashes(read.raw).collect()["_hash"].to_list()
    return read


def read_inputs(reader: Reader, job_balances: str, job_transactions: str) -> dict[str, _Input]:
    return {
        "balances": _read(reader, BALANCES, job_balances, BALANCE_PARSERS),
        "transactions": _read(reader, TRANSACTIONS, job_transactions, TRANSACTION_PARSERS),
    }


def run(job: Job, observer: Observer | None = None) -> Result:
    """Score every customer of both inputs; nothing is written here.

    Stages: ``read`` finds, hashes and opens the files; ``compute`` runs the
    lazy queries that validate, measure and score.
    """
    stages = Stages(observer)
    plan = compile_plan(load_rules(job.rules), job.window)
    with Reader(job.encoding, job.mapping) as reader:
        with stages.stage("read", "finding, hashing and opening inputs") as done:
            inputs = read_inputs(reader, job.balances, job.transactions)
            done.append(", ".join(f"{len(i.files)} {name} file(s)" for name, i in inputs.items()))
            attributes = _read_attributes(reader, plan, job.customers) if job.customers else None
        with stages.stage("compute", "validate, measure, score") as done:
            queries = []
            for name, read in inputs.items():
                queries += [read.measure(name, plan), read.bad, *read.sizes]
            collected = pl.collect_all(queries, engine="streaming", optimizations=_OPTIMIZE)
            result = _result(plan, inputs, _widen_if_needed(plan, inputs, collected), attributes)
            result.rejects = reader.file_names(result.rejects)
            done.append(f"{result.scores.height:,} customers")
    result.timings = stages.timings
    return result


def _widen_if_needed(
    plan: Plan, inputs: dict[str, _Input], collected: list[pl.DataFrame]
) -> list[pl.DataFrame]:
    """Fold an input again with 128-bit sums when a 64-bit sum may have overflowed.

    Only customers with sums near 2**62 cent-days (or cent-millionths) need it:
    in practice never, but exactness must not depend on that.
    """
    out, position = list(collected), 0
    for name, read in inputs.items():
        folded = out[position]
        if folded.height and (folded[MAGNITUDE].max() or 0) >= INT64_SAFE:
            out[position] = read.measure(name, plan, wide=True).collect()
        out[position] = out[position].drop(MAGNITUDE, strict=False)
        position += 2 + len(read.sizes)
    return out


@dataclass
class _Attributes:
    """Per-customer attributes (one usable row per customer), with their accounting."""

    files: list[InputFile]
    frame: pl.DataFrame
    rejects: pl.DataFrame
    counts: dict[str, int]


def _read_attributes(reader: Reader, plan: Plan, given: str) -> _Attributes:
    """The customers file: validated like the other inputs; a customer id given twice with
    different values is rejected (which row is right is unknowable)."""
    gates = plan.ruleset.gates
    counted = {g.column for g in gates if g.at_least is not None}
    columns = tuple(dict.fromkeys(g.column for g in gates))
    parsers: dict[str, Parser] = {"customer_id": parse_id}
    parsers |= {c: parse_count if c in counted else parse_flag for c in columns}
    read = _read(reader, customers_spec(columns), given, parsers)
    marked = mark_duplicates(read.good, ("customer_id",), columns)
    rows, conflicts, bad, *sizes = pl.collect_all(
        [marked, conflict_rejects(marked, ("customer_id",)), read.bad, *read.sizes]
    )
    read.take_sizes(sizes)
    counts = {status: 0 for status in STATUSES}
    counts["used"] = rows.filter(pl.col(STATUS).is_null()).height
    counts["duplicate"] = rows.filter(pl.col(STATUS) == DUPLICATE).height
    counts["rejected"] = conflicts.height + bad.height
    return _Attributes(
        read.files,
        rows.filter(pl.col(STATUS).is_null()).select("customer_id", *columns),
        pl.concat([rejects_table(bad), conflicts]),
        {"read": sum(counts.values()), **counts},
    )


def _result(
    plan: Plan,
    inputs: dict[str, _Input],
    collected: list[pl.DataFrame],
    attributes: _Attributes | None = None,
) -> Result:
    """Scores, accounting and rejects from the small per-customer frames."""
    folded, bad, counts, files = {}, {}, {}, {}
    for name, read in inputs.items():
        folded[name], bad[name], *sizes = collected[: 2 + len(read.sizes)]
        collected = collected[2 + len(read.sizes) :]
        read.take_sizes(sizes)
        files[name] = read.files
        counts[name] = _counts(folded[name], bad[name])
    customers = pl.concat([_live_customers(frame) for frame in folded.values()]).unique()
    sums = [per_customer(plan, name, frame) for name, frame in folded.items()]
    scored = score(plan, customer_values(plan, customers.lazy(), *sums))
    if attributes is not None:
        scored = scored.join(attributes.frame.lazy(), on="customer_id", how="left")
    scores, totals, concentration = pl.collect_all(
        [
            report_columns(plan, scored, gated=attributes is not None),
            _tier_totals(plan, scored),
            _concentration(scored),
        ]
    )
    unmapped = {name: _unmapped(frame) for name, frame in folded.items()}
    if attributes is not None:
        files["customers"] = attributes.files
        counts["customers"] = attributes.counts
    rejects = pl.concat(
        [rejects_table(bad[name]) for name in inputs]
        + ([attributes.rejects] if attributes is not None else [])
        + [_conflicts(frame, key) for frame, key in zip(folded.values(), (BALANCE_KEY, TXN_KEY),
                                                         strict=True)]
    ).sort("file", "line", maintain_order=True)  # fmt: skip
    summary = _summary(plan, totals, counts, unmapped)
    summary["quality_customers"] = int(scores["quality"].sum())
    if plan.ruleset.gates:
        summary["quality_gates"] = _gate_summary(plan, scores, attributes is not None)
    needed, customers = concentration.row(0)
    summary["concentration"] = {
        "points_share": 0.8,
        "customers": int(needed),
        "customers_share": round(needed / customers, 4) if customers else 0.0,
    }
    return Result(plan, scores, rejects, summary, files)


def _gate_summary(plan: Plan, scores: pl.DataFrame, evaluated: bool) -> dict[str, object]:
    if not evaluated:
        return {"evaluated": False, "note": "no --customers given: gates not applied"}
    blocked = scores["quality_blocked_by"].drop_nulls().str.split(";").explode()
    found = blocked.value_counts()
    by_gate = dict(zip(found[found.columns[0]].to_list(), found["count"].to_list(), strict=True))
    return {
        "evaluated": True,
        "blocked_customers": int(scores["quality_blocked_by"].is_not_null().sum()),
        "by_gate": {g.id: int(by_gate.get(g.id, 0)) for g in plan.ruleset.gates},
    }


def _concentration(scored: pl.LazyFrame) -> pl.LazyFrame:
    """How many customers, best first, bring 80% of all points (exact, on numerators)."""
    ordered = pl.col(NUMERATOR).sort(descending=True)
    total = pl.col(NUMERATOR).sum()
    short = (ordered.cum_sum() * 5 < total * 4).sum()
    return scored.select(
        pl.when(total > 0).then(short + 1).otherwise(0).cast(pl.Int64).alias("needed"),
        pl.len().cast(pl.Int64).alias("customers"),
    )


def _live_customers(folded: pl.DataFrame) -> pl.DataFrame:
    """Customers with at least one row that was not rejected."""
    kept = pl.sum_horizontal(count_column(s) for s in range(len(STATUSES)) if s != REJECTED)
    return folded.filter(kept > 0).select("customer_id")


def per_customer(plan: Plan, source: str, folded: pl.DataFrame) -> pl.LazyFrame:
    ids = [c.id for c in plan.of_source(source)]
    return folded.lazy().group_by("customer_id").agg(pl.col(ids).sum())


def _counts(folded: pl.DataFrame, bad: pl.DataFrame) -> dict[str, int]:
    sums = folded.select(
        pl.col(count_column(s)).cast(pl.Int64).sum() for s in range(len(STATUSES))
    ).row(0)
    out = {status: int(n or 0) for status, n in zip(STATUSES, sums, strict=True)}
    out["rejected"] += bad.height
    return {"read": sum(out.values()), **out}


def _unmapped(folded: pl.DataFrame) -> dict[str, int]:
    codes = (
        folded.filter(pl.col(CODE).is_not_null())
        .group_by(CODE)
        .agg(pl.col(count_column(UNMAPPED)).sum())
    )
    return {code: int(n) for code, n in codes.sort(CODE).iter_rows()}


def _conflicts(folded: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    column = conflict_column(key)
    return folded.filter(pl.col(CONFLICT_LINE).is_not_null()).select(
        pl.col(CONFLICT_FILE).alias("file"),
        pl.col(CONFLICT_LINE).alias("line"),
        pl.lit(column).alias("column"),
        shown_value(column, pl.col(CONFLICT_VALUE)).alias("value"),
        pl.lit(conflict_reason(key)).alias("reason"),
    )


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
        inputs = read_inputs(reader, balances, transactions)
        queries = []
        for name, read in inputs.items():
            key = BALANCE_KEY if name == "balances" else TXN_KEY
            rows = read.mark(name)
            statuses = rows.group_by(STATUS).agg(pl.len().alias(ROWS))
            queries += [statuses, conflict_rejects(rows, key), read.bad, *read.sizes]
        collected = pl.collect_all(queries)
    counts, rejects, files = {}, [], {}
    for name, read in inputs.items():
        statuses, conflicts, bad, *sizes = collected[: 3 + len(read.sizes)]
        collected = collected[3 + len(read.sizes) :]
        read.take_sizes(sizes)
        found = {STATUSES[s] if s is not None else "valid": n for s, n in statuses.iter_rows()}
        row = {"valid": found.get("valid", 0), "duplicate": found.get("duplicate", 0),
               "rejected": found.get("rejected", 0) + bad.height}  # fmt: skip
        counts[name] = {"read": sum(row.values()), **row}
        rejects += [rejects_table(bad), conflicts]
        files[name] = read.files
    ordered = pl.concat(rejects).sort("file", "line", maintain_order=True)
    return Inspection(counts, reader.file_names(ordered), files)


def _tier_totals(plan: Plan, scored: pl.LazyFrame) -> pl.LazyFrame:
    assets = pl.sum_horizontal(pl.col(cid) for cid in plan.ruleset.assets) if plan.ruleset.assets \
        else pl.lit(0, pl.Int128)  # fmt: skip
    return scored.group_by(TIER_INDEX).agg(
        pl.len().alias("customers"),
        to_money(pl.col(NUMERATOR).sum(), plan.q).alias("points"),
        to_money(assets.cast(pl.Int128).sum(), CENTS * plan.day_count).alias("assets"),
    )


def _summary(
    plan: Plan,
    totals: pl.DataFrame,
    counts: dict[str, dict[str, int]],
    unmapped: dict[str, dict[str, int]],
) -> dict[str, object]:
    by_index = {row[TIER_INDEX]: row for row in totals.iter_rows(named=True)}
    customers = int(totals["customers"].sum()) if totals.height else 0
    tiers = []
    for index, tier in enumerate(plan.tiers):
        row = by_index.get(index, {"customers": 0, "points": None, "assets": None})
        tiers.append({
            "tier": tier.label,
            "customers": int(row["customers"]),
            "share": round(row["customers"] / customers, 4) if customers else 0.0,
            "points": str(row["points"] if row["points"] is not None else "0.00"),
            "assets_daily_average": str(row["assets"] if row["assets"] is not None else "0.00"),
        })  # fmt: skip
    quality = plan.quality_index
    return {
        "ruleset": plan.ruleset.as_dict(),
        "window": plan.window.as_dict(),
        "customers": customers,
        "quality_customers": sum(t["customers"] for t in tiers[: quality + 1])
        if quality is not None
        else 0,
        "tiers": tiers,
        "rows": counts,
        "unmapped_codes": unmapped,
    }
