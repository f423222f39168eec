"""The step after the folds, one for both engines: from each customer's exact sums to
scores, rejects and summary.json.

An engine hands over each input's per-customer folds, bad rows and files
(``Measured``). ``finish`` then runs one sequence whichever engine measured: the row
accounting, unmapped codes and rejects, the tier bounds, the summary. Only the steps
that touch every customer run where the customers are, through a ``Finisher``:
their values and numerators, their ranks, and their published rows with the
summary's parts. The polars engine keeps them in memory (``InMemory``); the Spark
engine on its executors (``spark_scoring.OnCluster``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl

from .parties import Units, rolled_up
from .plan import Plan, money_names
from .points import NUMERATOR, bounds, with_numerator
from .ranked import Ranked, ranked_of
from .row_status import (
    BALANCE_KEY,
    CODE,
    CODE_ROWS,
    CONFLICT_FILE,
    CONFLICT_LINE,
    CONFLICT_VALUE,
    REJECTED,
    STATUSES,
    TXN_KEY,
    conflict_column,
    conflict_reason,
    count_column,
    shown_value,
)
from .service import Overrides, service_run
from .sources import InputFile
from .summary import Scored, Scoring, score_part, summary_of, summary_parts
from .validate import rejects_table
from .watch import FORWARD

if TYPE_CHECKING:
    from .pipeline import _Attributes

ROWS = "_rows"
KEYS = {"balances": BALANCE_KEY, "transactions": TXN_KEY}  # what marks a repeated row


@dataclass
class Result:
    plan: Plan
    scores: pl.DataFrame
    rejects: pl.DataFrame
    summary: dict[str, object]
    inputs: dict[str, list[InputFile]]
    unmapped: dict[str, dict[str, int]]  # every unmapped code's rows (summary names the top)
    timings: dict[str, float] = field(default_factory=dict)
    cluster_scores: Any = None  # scores left on a Spark cluster (``scores`` is then empty)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # unknown files, by input
    date_format: str | None = None  # ``--date-format``: how text dates were read
    measuring: dict[str, str] = field(default_factory=dict)  # input -> how (``Strategy``)


@dataclass
class Context:
    """What the operator added beside the two inputs: attributes, an earlier run, and
    how near the next tier counts as near."""

    attributes: _Attributes | None = None
    previous: pl.DataFrame | None = None
    previous_file: str = ""
    near: Fraction = Fraction(10)
    overrides: Overrides | None = None  # --overrides (``[service]``)
    forward: pl.DataFrame | None = None  # each customer's numerator on the next rating day
    forward_rest: int | None = None  # that of a customer ``forward`` lacks (None: null)
    units: Units | None = None  # --parties: scoring by party or household (``parties``)
    fx_files: list[InputFile] = field(default_factory=list)  # --fx (``fx.Fx.files``)


@dataclass
class Measured:
    """One input as an engine hands it over: per-customer folds (see ``folds._fold``),
    rejected rows, and the files with their row counts. Everything after this point is
    the same whichever engine measured."""

    folded: pl.DataFrame
    bad: pl.DataFrame
    files: list[InputFile]
    forward: pl.DataFrame | None = None  # towards the next rating day (``watch.forward_folds``)


class Finisher(Protocol):
    """The steps of ``finish`` that touch every customer, run where the customers are;
    each keeps what the next one reads."""

    def values(self, plan: Plan, money: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
        """Each customer's values and numerator, kept; returned, each input's row
        counts (``counts:NAME``: ``count_part``), unmapped codes (``unmapped:NAME``:
        ``unmapped_part``) and conflicts' rejects (``conflicts:NAME``), in parts that
        add up."""
        ...

    def by_unit(self, plan: Plan, context: Context) -> None:
        """The numerator on the next rating day beside the values, and with --parties
        one row per party or household."""
        ...

    def ranked(self, plan: Plan) -> Ranked: ...

    def scored(self, plan: Plan, how: Scoring, context: Context) -> dict[str, pl.DataFrame]:
        """The published rows, kept; returned, the summary's parts (``summary_parts``)."""
        ...

    def published(self, plan: Plan, how: Scoring, context: Context) -> tuple[Any, Any]:
        """The scores as the run returns them, and the rows left on a cluster (None
        when the scores were brought here)."""
        ...


def finish(
    plan: Plan,
    finisher: Finisher,
    bad: dict[str, pl.DataFrame],
    files: dict[str, list[InputFile]],
    context: Context,
    counted: Callable[[dict[str, dict[str, int]]], None] | None = None,
) -> Result:
    """Scores, accounting and rejects from the folds ``finisher`` holds. ``counted``
    sees each input's row accounting first (the Spark engine checks the window met
    there: it counts the rows with the values)."""
    found = finisher.values(plan, money_of(plan, context.attributes))
    counts = {name: counts_of(found[f"counts:{name}"], bad[name]) for name in bad}
    if counted is not None:
        counted(counts)
    unmapped = {name: unmapped_of(found[f"unmapped:{name}"]) for name in bad}
    conflicts = [found[f"conflicts:{name}"] for name in bad]
    del found
    rejects = rejects_of(list(bad.values()), conflicts, context)
    finisher.by_unit(plan, context)
    ranked = finisher.ranked(plan)
    how = scoring_of(plan, ranked, context)
    if context.units is not None:  # the units' rows carry their numbers and attributes
        how = context.units.scoring(how)
    parts = finisher.scored(plan, how, context)
    counts = counts_with(counts, context)
    summary = summary_of(plan, how, parts, ranked, counts, unmapped, context.previous_file)
    scores, left = finisher.published(plan, how, context)
    result = Result(
        plan,
        with_units(summary, scores, context),
        rejects,
        summary,
        files_with(files, context),
        unmapped,
    )
    if left is not None:
        result.cluster_scores = with_units(summary, left, context)
    return result


def result_of(plan: Plan, measured: dict[str, Measured], context: Context | None = None) -> Result:
    """``finish`` on this machine: every customer as one part (see ``summary``).

    ``measured`` is consumed: its folds are let go as soon as every figure that needs
    them is taken, before the wide scores table is built (at millions of customers
    the two would not fit in memory together).
    """
    bad = {name: m.bad for name, m in measured.items()}
    files = {name: m.files for name, m in measured.items()}
    finisher = InMemory({name: m.folded for name, m in measured.items()})
    measured.clear()
    return finish(plan, finisher, bad, files, context or Context())


class InMemory:
    """The polars engine's ``Finisher``: every customer in one frame."""

    def __init__(self, folded: dict[str, pl.DataFrame]):
        self._folded = folded
        self._valued: pl.DataFrame | None = None
        self._part: Scored | None = None

    def values(self, plan: Plan, money: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
        folded, self._folded = self._folded, {}
        found = {}
        for name, frame in folded.items():
            found[f"counts:{name}"] = count_part(frame)
            found[f"unmapped:{name}"] = unmapped_part(frame)
            found[f"conflicts:{name}"] = conflicts_part(frame, KEYS[name])
        self._valued = with_numerator(plan, scorable(plan, folded, money)).collect()
        return found

    def by_unit(self, plan: Plan, context: Context) -> None:
        valued = self._valued
        assert valued is not None
        if context.forward is not None:  # the watch's numerator on the next rating day
            valued = valued.join(context.forward, on="customer_id", how="left")
            if context.forward_rest is not None:  # the ledger's: customers it need not list
                valued = valued.with_columns(pl.col(FORWARD).fill_null(context.forward_rest))
        if context.units is not None:  # one row per party or household (``parties``)
            valued = rolled_up(plan, valued, context.units, context.attributes)
        self._valued = valued

    def ranked(self, plan: Plan) -> Ranked:
        assert self._valued is not None
        return ranked_of(plan, self._valued[NUMERATOR])

    def scored(self, plan: Plan, how: Scoring, context: Context) -> dict[str, pl.DataFrame]:
        valued, self._valued = self._valued, None
        assert valued is not None
        attributes = context.attributes.frame if context.attributes is not None else None
        overrides = context.overrides.frame if context.overrides is not None else None
        if context.units is not None:  # the units' rows carry their attributes
            attributes = None
        self._part = score_part(plan, how, valued.lazy(), attributes, context.previous, overrides)
        return summary_parts(plan, how, self._part)

    def published(self, plan: Plan, how: Scoring, context: Context) -> tuple[Any, Any]:
        assert self._part is not None
        return self._part.scores, None


def with_units(summary: dict[str, object], scores: Any, context: Context) -> Any:
    """Scoring by unit: summary.json's ``units``, and the scores (a polars or a Spark
    frame) with the unit's id under its own name."""
    if context.units is None:
        return scores
    summary["units"] = context.units.summary()
    if isinstance(scores, pl.DataFrame):
        return context.units.published(scores)
    return scores.withColumnRenamed("customer_id", context.units.column)


def scoring_of(plan: Plan, ranked: Ranked, context: Context) -> Scoring:
    attributes = context.attributes
    carried = attributes.columns if attributes is not None else ()
    previous = context.previous is not None
    columns = carried if attributes is not None else None
    service = service_run(plan, context.near, columns, context.overrides, context.previous)
    return Scoring(
        bounds(plan, ranked), attributes is not None, carried, context.near, previous, service
    )


def rejects_of(
    bad: list[pl.DataFrame], conflicts: list[pl.DataFrame], context: Context
) -> pl.DataFrame:
    """Every rejected row, ordered by file and line."""
    attributes = [context.attributes.rejects] if context.attributes is not None else []
    attributes += [context.overrides.rejects] if context.overrides is not None else []
    attributes += [context.units.rejects] if context.units is not None else []
    parts = [rejects_table(b) for b in bad] + attributes + conflicts
    return pl.concat(parts).sort("file", "line", maintain_order=True)


def counts_with(counts: dict[str, dict[str, int]], context: Context) -> dict[str, dict[str, int]]:
    if context.attributes is not None:
        counts = {**counts, "customers": context.attributes.counts}
    if context.units is not None:  # held to --max-reject-rate like the customers file
        counts = {**counts, "parties": context.units.counts}
    return counts


def files_with(files: dict[str, list[InputFile]], context: Context) -> dict[str, list[InputFile]]:
    if context.attributes is not None:
        files = {**files, "customers": context.attributes.files}
    if context.overrides is not None:  # in the manifest: they change service tiers
        files = {**files, "overrides": context.overrides.files}
    if context.fx_files:
        files = {**files, "fx": context.fx_files}
    if context.units is not None:
        files = {**files, "parties": context.units.files}
    return files


def scorable(
    plan: Plan, folded: dict[str, pl.DataFrame], money: pl.DataFrame | None = None
) -> pl.LazyFrame:
    """The customers to score: those with a row that was not rejected, with the
    customers columns the rule set reads as yuan (``money_of``: at least these
    customers' rows; a customer it lacks has them unknown, null)."""
    values = customer_sums(plan, folded).filter(pl.col(ROWS) > 0).drop(ROWS)
    names = list(money_names(plan.ruleset).values())
    if not names:
        return values
    if money is None:
        return values.with_columns(pl.lit(None, pl.Int64).alias(n) for n in names)
    return values.join(money.lazy().select("customer_id", *names), on="customer_id", how="left")


def customer_sums(plan: Plan, folded: dict[str, pl.DataFrame]) -> pl.LazyFrame:
    """Every customer of the folds with every component's exact sum and ``ROWS``, the
    customer's rows that were not rejected: both inputs' folds (parts and rare groups
    included) added up in one group-by, in 128 bits, as a customer's sums may come
    from several fold rows."""
    kept = pl.sum_horizontal(count_column(s) for s in range(len(STATUSES)) if s != REJECTED)
    ids = [c.id for c in plan.components]
    frames = [
        frame.lazy().select(
            "customer_id",
            *(pl.col(c.id).cast(pl.Int128) for c in plan.of_source(name)),
            kept.cast(pl.Int64).alias(ROWS),
        )
        for name, frame in folded.items()
    ]
    return pl.concat(frames, how="diagonal").group_by("customer_id").agg(pl.col(*ids, ROWS).sum())


def count_part(folded: pl.DataFrame) -> pl.DataFrame:
    """Rows per status in some folds; parts add up (``counts_of`` takes any number)."""
    return folded.select(pl.col(count_column(s)).cast(pl.Int64).sum() for s in range(len(STATUSES)))


def counts_of(parts: pl.DataFrame, bad: pl.DataFrame) -> dict[str, int]:
    sums = count_part(parts).row(0)
    out = {status: int(n or 0) for status, n in zip(STATUSES, sums, strict=True)}
    out["rejected"] += bad.height
    return {"read": sum(out.values()), **out}


def unmapped_part(folded: pl.DataFrame) -> pl.DataFrame:
    """Rows per unmapped code in some folds; parts add up (see ``unmapped_of``)."""
    return (
        folded.filter(pl.col(CODE).is_not_null())
        .group_by(CODE)
        .agg(pl.col(CODE_ROWS).cast(pl.Int64).sum())
    )


def unmapped_of(parts: pl.DataFrame) -> dict[str, int]:
    codes = unmapped_part(parts)
    return {code: int(n) for code, n in codes.sort(CODE).iter_rows()}


def conflicts_part(folded: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    """The rejects of conflicting repeated rows, which the folds carry."""
    column = conflict_column(key)
    return folded.filter(pl.col(CONFLICT_LINE).is_not_null()).select(
        pl.col(CONFLICT_FILE).alias("file"),
        pl.col(CONFLICT_LINE).alias("line"),
        pl.lit(column).alias("column"),
        shown_value(column, pl.col(CONFLICT_VALUE)).alias("value"),
        pl.lit(conflict_reason(key)).alias("reason"),
    )


def money_of(plan: Plan, attributes: _Attributes | None) -> pl.DataFrame | None:
    """The customers columns the rule set reads as yuan, as cents in their ``MONEY``
    values columns (null for an unusable row or a blank cell); None when it reads none
    or no customers file was given."""
    names = money_names(plan.ruleset)
    if not names or attributes is None:
        return None
    cents = [pl.col(c).to_physical().cast(pl.Int64).alias(n) for c, n in names.items()]
    return attributes.frame.select("customer_id", *cents)
