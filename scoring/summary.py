"""Scoring a part of the customers, and the summary as parts that add up.

The polars engine scores one part, every customer; the Spark engine one part per
partition of customers, on the executors, with this very code. Each part yields
its scores and small summary parts (counts and exact sums per tier, group, gate
or movement; its customers nearest the next tier); concatenated, the parts of all
partitions finish into summary.json here. So every figure is computed in one place,
whichever engine ran, and no machine needs every customer at once to summarise.
Figures that need the customers in points order come from ``ranked``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from .breakdown import group_part, group_tiers, near_part, upgrade
from .migration import migration_part, migration_summary, with_previous
from .plan import CENTS, Plan
from .points import (
    NUMERATOR,
    TIER_INDEX,
    Bounds,
    quality_flag,
    report_columns,
    to_money,
    with_gap,
    with_tier,
)
from .ranked import Ranked

GATE = "gate"  # in the gates part; its null row counts customers blocked by any gate


@dataclass(frozen=True)
class Scoring:
    """What scoring any part of the customers needs besides its rows: the same for
    every part of a run."""

    where: Bounds
    gated: bool  # a customers file was given: its gates apply
    carried: tuple[str, ...] = ()  # attribute columns shown in scores
    near: Fraction = Fraction(10)
    previous: bool = False  # an earlier run's tiers are compared


@dataclass
class Scored:
    """One part scored: ``current`` has a row per scored customer (numerator, tier, gap,
    attributes, quality), ``scores`` the published rows (gone customers included),
    ``every`` the current rows joined to the earlier run's (None without one)."""

    current: pl.DataFrame
    scores: pl.DataFrame
    every: pl.DataFrame | None


def score_part(
    plan: Plan,
    how: Scoring,
    valued: pl.LazyFrame,
    attributes: pl.DataFrame | None = None,
    previous: pl.DataFrame | None = None,
) -> Scored:
    """Tiers, gaps, quality and the published columns of one part's customers.

    ``valued`` has component values and the numerator (``points.with_numerator``);
    ``attributes`` and ``previous`` hold at least this part's customers.
    """
    scored = with_gap(plan, with_tier(plan, valued, how.where), how.where)
    if attributes is not None:
        scored = scored.join(attributes.lazy(), on="customer_id", how="left")
    quality = quality_flag(plan, how.gated).alias("quality")
    current = scored.with_columns(quality).sort("customer_id").collect()
    every = with_previous(current.lazy(), previous).collect() if previous is not None else None
    # current is sorted; with gone customers joined, the table is sorted again
    table = every if every is not None else current
    columns = report_columns(
        plan, table.lazy(), how.gated, how.carried, how.near, sort=how.previous
    )
    return Scored(current, columns.collect(), every)


def no_customers(
    plan: Plan,
    how: Scoring,
    attributes: pl.DataFrame | None = None,
    previous: pl.DataFrame | None = None,
) -> Scored:
    """A part without customers: the columns of the scores table and the shapes of the
    summary parts, with ``attributes`` and ``previous`` giving theirs."""
    schema = {"customer_id": pl.String, **{c.id: pl.Int128 for c in plan.components}}
    values = pl.LazyFrame(schema=schema | {NUMERATOR: pl.Int128})
    cleared = [f.clear() if f is not None else None for f in (attributes, previous)]
    return score_part(plan, how, values, *cleared)


def summary_parts(plan: Plan, how: Scoring, part: Scored) -> dict[str, pl.DataFrame]:
    """The summary's parts of one scored part; any number of them concatenate."""
    current, scores = part.current, part.scores
    scored = scores.filter(pl.col("tier").is_not_null()) if how.previous else scores
    parts = {"tiers": _tier_part(plan, current)}
    if plan.ruleset.gates and how.gated:
        parts["gates"] = _gate_part(plan, scored)
    for view, keys in _group_views(current.columns).items():
        parts[view] = group_part(current, keys)
    parts["near"], parts["near_top"] = near_part(scored, current)
    if part.every is not None:
        parts["migration"] = migration_part(plan, part.every)
    return parts


def summary_of(
    plan: Plan,
    how: Scoring,
    parts: dict[str, pl.DataFrame],
    ranked: Ranked,
    counts: dict[str, dict[str, int]],
    unmapped: dict[str, dict[str, int]],
    previous_file: str = "",
) -> dict[str, object]:
    """summary.json from the concatenated parts of every scored part."""
    totals = (
        parts["tiers"]
        .group_by(TIER_INDEX)
        .agg(
            pl.col("customers").sum(),
            to_money(pl.col(NUMERATOR).sum(), plan.q).alias("points"),
            to_money(pl.col("_assets").sum(), CENTS * plan.day_count).alias("assets"),
        )
    )
    quality = int(parts["tiers"]["quality"].sum())  # quality tier or above, and no gate
    summary = _summary(plan, totals, counts, unmapped, quality)
    if plan.ruleset.gates:
        summary["quality_gates"] = _gate_summary(plan, parts.get("gates"))
    summary["concentration"] = ranked.concentration()
    for view, keys in _group_views(list(parts)).items():
        summary[view] = group_tiers(plan, parts[view], keys)
    summary["upgrade"] = upgrade(plan, parts["near"], parts["near_top"], how.near)
    if "migration" in parts:
        summary["migration"] = migration_summary(plan, parts["migration"], previous_file)
    return summary


def _group_views(columns: list[str]) -> dict[str, list[str]]:
    """The per-group views the attributes allow (by columns of a part, or by the
    names of the parts)."""
    views = {}
    if "branch" in columns or "by_branch" in columns:
        views["by_branch"] = ["branch"]
    if "manager" in columns or "by_manager" in columns:
        with_branch = "branch" in columns or "by_branch" in columns
        views["by_manager"] = ["branch", "manager"] if with_branch else ["manager"]
    return views


def _tier_part(plan: Plan, current: pl.DataFrame) -> pl.DataFrame:
    assets = pl.sum_horizontal(pl.col(cid) for cid in plan.ruleset.assets) if plan.ruleset.assets \
        else pl.lit(0, pl.Int128)  # fmt: skip
    return current.group_by(TIER_INDEX).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col(NUMERATOR).sum().cast(pl.Int128),
        assets.cast(pl.Int128).sum().alias("_assets"),
        pl.col("quality").sum().cast(pl.Int64),
    )


def _gate_part(plan: Plan, scored: pl.DataFrame) -> pl.DataFrame:
    """Customers blocked by each gate, and (null gate) by any."""
    blocked = scored["quality_blocked_by"]
    found = blocked.drop_nulls().str.split(";").explode()
    ids = [g.id for g in plan.ruleset.gates]
    counts = [int((found == gate).sum()) for gate in ids]
    return pl.DataFrame(
        {GATE: [*ids, None], "customers": [*counts, int(blocked.is_not_null().sum())]},
        schema={GATE: pl.String, "customers": pl.Int64},
    )


def _gate_summary(plan: Plan, parts: pl.DataFrame | None) -> dict[str, object]:
    if parts is None:
        return {"evaluated": False, "note": "no --customers given: gates not applied"}
    summed = parts.group_by(GATE).agg(pl.col("customers").sum())
    by_gate = dict(summed.iter_rows())
    return {
        "evaluated": True,
        "blocked_customers": int(by_gate.get(None, 0)),
        "by_gate": {g.id: int(by_gate.get(g.id, 0)) for g in plan.ruleset.gates},
    }


def _summary(
    plan: Plan,
    totals: pl.DataFrame,
    counts: dict[str, dict[str, int]],
    unmapped: dict[str, dict[str, int]],
    quality: int,
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
    return {
        "ruleset": plan.ruleset.as_dict(),
        "window": plan.window.as_dict(),
        "customers": customers,
        "quality_customers": quality,
        "tiers": tiers,
        "rows": counts,
        "unmapped_codes": unmapped,
    }
