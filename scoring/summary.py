"""Scoring a part of the customers, and the summary as parts that add up.

The polars engine scores one part, every customer; the Spark engine one part per
partition of customers, on the executors, with this very code. Each part yields
its scores and small summary parts (counts and exact sums per tier, group, gate
or movement; its customers nearest the next tier); concatenated, the parts of all
partitions finish into summary.json here. So every figure is computed in one place,
whichever engine ran, and no machine needs every customer at once to summarise.
Figures that need the customers in points order come from ``ranked``.

summary.json stays small whatever the input: the number of distinct codes, branches
or managers is the data's to choose, so the unmapped codes, the groups and the
upgrade list name the first so many and add up the rest (``*_rest``); the full data
is in unmapped_codes.csv and the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import polars as pl

from .breakdown import group_part, group_tiers, near_part, upgrade
from .migration import migration_part, migration_summary, with_previous
from .plan import Plan
from .points import (
    NUMERATOR,
    TIER_INDEX,
    Bounds,
    gate_ids,
    gates_apply,
    quality_flag,
    report_columns,
    to_money,
    value_types,
    with_gap,
    with_tier,
)
from .ranked import Ranked
from .rules import RuleSet
from .service import ServiceRun, service_parts, service_summary, with_service
from .unmapped import bounded

GATE = "gate"  # in the gates part; its null row counts customers blocked by any gate
GROUPS_LISTED = 20_000  # per view: more than the outlets of China's largest bank
UPGRADE_LISTED = 10_000  # customers near the next tier that summary.json names


@dataclass(frozen=True)
class Scoring:
    """What scoring any part of the customers needs besides its rows: the same for
    every part of a run."""

    where: Bounds
    gated: bool  # a customers file was given: its gates apply
    carried: tuple[str, ...] = ()  # attribute columns shown in scores
    near: Fraction = Fraction(10)
    previous: bool = False  # an earlier run's tiers are compared
    service: ServiceRun | None = None  # the service tier's lifecycle (``[service]``)


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
    overrides: pl.DataFrame | None = None,
) -> Scored:
    """Tiers, gaps, quality and the published columns of one part's customers.

    ``valued`` has component values and the numerator (``points.with_numerator``);
    ``attributes``, ``previous`` and ``overrides`` hold at least this part's customers.
    """
    scored = with_gap(plan, with_tier(plan, valued, how.where), how.where)
    if attributes is not None:
        scored = scored.join(attributes.lazy(), on="customer_id", how="left")
    quality = quality_flag(plan, how.gated).alias("quality")
    current = scored.with_columns(quality).sort("customer_id").collect()
    every = with_previous(current.lazy(), previous).collect() if previous is not None else None
    # current is sorted; with gone customers joined, the table is sorted again
    table = every if every is not None else current
    if how.service is not None:
        table = with_service(plan, how.service, table.lazy(), overrides).collect()
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
    values = pl.LazyFrame(schema=value_types(plan) | {NUMERATOR: pl.Int128})
    cleared = [f.clear() if f is not None else None for f in (attributes, previous)]
    return score_part(plan, how, values, *cleared)


def summary_parts(plan: Plan, how: Scoring, part: Scored) -> dict[str, pl.DataFrame]:
    """The summary's parts of one scored part; any number of them concatenate."""
    current, scores = part.current, part.scores
    scored = scores.filter(pl.col("tier").is_not_null()) if how.previous else scores
    parts = {"tiers": _tier_part(plan, current)}
    if gates_apply(plan, how.gated):
        parts["gates"] = _gate_part(plan, how, scored)
    for view, keys in _group_views(current.columns).items():
        parts[view] = group_part(current, keys)
    parts["near"], parts["near_top"] = near_part(scored, current)
    if part.every is not None:
        parts["migration"] = migration_part(plan, part.every)
    if how.service is not None:
        parts |= service_parts(scored)
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
            to_money(pl.col("_assets").sum(), plan.per_yuan("balances")).alias("assets"),
        )
    )
    quality = int(parts["tiers"]["quality"].sum())  # quality tier or above, and no gate
    summary = _summary(plan, totals, counts, unmapped, quality)
    if plan.ruleset.gates:
        summary["quality_gates"] = _gate_summary(plan, how, parts.get("gates"))
    if plan.ruleset.key_group:
        summary["key_group"] = _key_group(plan, summary)
    summary["concentration"] = ranked.concentration()
    for view, keys in _group_views(list(parts)).items():
        listed, rest = _bounded_groups(plan, parts[view], keys)
        summary[view], summary[f"{view}_rest"] = group_tiers(plan, listed, keys), rest
    found = upgrade(plan, parts["near"], parts["near_top"], how.near)
    summary["upgrade"], summary["upgrade_rest"] = _bounded_upgrade(found)
    if "migration" in parts:
        summary["migration"] = migration_summary(plan, parts["migration"], previous_file)
    if how.service is not None:
        service_summary(plan, how.service, parts, summary)
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


def _bounded_groups(
    plan: Plan, parts: pl.DataFrame, keys: list[str]
) -> tuple[pl.DataFrame, dict[str, object]]:
    """The parts of the ``GROUPS_LISTED`` groups with the most customers (ties by
    name), and what the other groups add up to (zeros when none is left out)."""
    sizes = parts.group_by(keys).agg(pl.col("customers").sum())
    order = sizes.sort(["customers", *keys], descending=[True] + [False] * len(keys))
    kept = order.head(GROUPS_LISTED).select(keys)
    others = parts.join(kept, on=keys, how="anti")
    points = others.select(to_money(pl.col(NUMERATOR).sum(), plan.q)).item()
    rest = {
        "groups": sizes.height - kept.height,
        "customers": int(others["customers"].sum()),
        "quality_customers": int(others["quality_customers"].sum()),
        "points": str(points if points is not None else "0.00"),
    }
    return parts.join(kept, on=keys, how="semi"), rest


def _bounded_upgrade(found: dict[str, Any]) -> tuple[dict[str, object], dict[str, int]]:
    """The ``UPGRADE_LISTED`` customers closest to the next tier (ties by branch and
    id), in the list's own order (branch, distance, id), and how many of the list are
    left out. The list is already at most 10 per branch, so this binds only with
    thousands of branches."""
    top = found["top"]
    if len(top) <= UPGRADE_LISTED:
        return found, {"customers": 0}
    counts = {"lever_transactions"}  # a whole number; every other value is text
    frame = pl.DataFrame(top, schema={k: pl.Int128 if k in counts else pl.String for k in top[0]})
    gap = pl.col("points_to_next").cast(pl.Decimal(38, 2))
    closest = frame.sort(gap, "branch", "customer_id", nulls_last=True).head(UPGRADE_LISTED)
    listed = closest.sort("branch", gap, "customer_id", nulls_last=True)
    return {**found, "top": listed.to_dicts()}, {"customers": len(top) - UPGRADE_LISTED}


def _tier_part(plan: Plan, current: pl.DataFrame) -> pl.DataFrame:
    assets = pl.sum_horizontal(pl.col(cid) for cid in plan.ruleset.assets) if plan.ruleset.assets \
        else pl.lit(0, pl.Int128)  # fmt: skip
    return current.group_by(TIER_INDEX).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col(NUMERATOR).sum().cast(pl.Int128),
        assets.cast(pl.Int128).sum().alias("_assets"),
        pl.col("quality").sum().cast(pl.Int64),
    )


def _gate_part(plan: Plan, how: Scoring, scored: pl.DataFrame) -> pl.DataFrame:
    """Customers blocked by each gate, and (null gate) by any."""
    blocked = scored["quality_blocked_by"]
    found = blocked.drop_nulls().str.split(";").explode()
    ids = gate_ids(plan, how.gated)  # the gates evaluated, and "unknown" (unusable row)
    counts = [int((found == gate).sum()) for gate in ids]
    return pl.DataFrame(
        {GATE: [*ids, None], "customers": [*counts, int(blocked.is_not_null().sum())]},
        schema={GATE: pl.String, "customers": pl.Int64},
    )


def _gate_summary(plan: Plan, how: Scoring, parts: pl.DataFrame | None) -> dict[str, object]:
    """What the gates blocked. Without ``--customers`` the gates on its columns are
    named as not evaluated rather than counted as blocking no one. ``labels``: each
    gate's label, by which the report names it."""
    labels = {gate.id: gate.label for gate in plan.ruleset.gates}
    if parts is None:
        return {"evaluated": False, "note": "no --customers given: gates not applied",
                "labels": labels}  # fmt: skip
    summed = parts.group_by(GATE).agg(pl.col("customers").sum())
    by_gate = dict(summed.iter_rows())
    found: dict[str, object] = {
        "evaluated": True,
        "blocked_customers": int(by_gate.get(None, 0)),
        "by_gate": {gate: int(by_gate.get(gate, 0)) for gate in gate_ids(plan, how.gated)},
        "labels": labels,
    }
    if not how.gated and plan.ruleset.column_gates:
        found["not_evaluated"] = [g.id for g in plan.ruleset.column_gates]
        found["note"] = "no --customers given: the gates on its columns not applied"
    return found


def _key_group(plan: Plan, summary: dict[str, Any]) -> dict[str, object]:
    """The rule set's key customers (seed 002's 关键客户: 重要客户 and 次要客户, the top
    20%), counted from the tier distribution; the share as the tiers' shares."""
    group = plan.ruleset.key_group
    tiers: list[dict[str, Any]] = summary["tiers"]  # type: ignore[assignment]
    customers = sum(int(t["customers"]) for t in tiers if t["tier"] in group)
    everyone = int(summary["customers"])  # type: ignore[arg-type]
    return {
        "label": plan.ruleset.key_group_label,
        "tiers": list(group),
        "customers": customers,
        "share": round(customers / everyone, 4) if everyone else 0.0,
    }


def points_unit(rules: RuleSet) -> str:
    """What the points count: yuan where a point is a yuan (every component's rate
    equals the unit, no weighting or bonus: card-tier's points are the daily-average
    assets), else points. Read off the rules, so any rule set written so says yuan."""
    same = all(c.rate == rules.unit for c in rules.components)
    return "yuan" if rules.components and same and not rules.weighted and not rules.bonus \
        else "points"  # fmt: skip


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
    listed, rest = bounded(unmapped)
    return {
        "ruleset": plan.ruleset.as_dict(),
        "points_unit": points_unit(plan.ruleset),
        "window": plan.window.as_dict(),
        "customers": customers,
        "quality_customers": quality,
        "tiers": tiers,
        "rows": counts,
        "unmapped_codes": listed,
        "unmapped_codes_rest": rest,
    }
