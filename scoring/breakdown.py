"""Views for branches and managers: tier distribution per branch and per manager, and
the customers close to the next tier with the cheapest way to get them there.

Everything here works on the small per-customer frame; the loops run over tiers
and branches, never over customers.
"""

from __future__ import annotations

from fractions import Fraction

import polars as pl

from .plan import CENTS, RATIO_SCALE, Plan
from .points import GAP, NUMERATOR, TIER_INDEX, to_money

UNASSIGNED = "未分配"  # customers the customers file does not place in a branch
TOP_PER_BRANCH = 10


def group_tiers(plan: Plan, current: pl.DataFrame, keys: list[str]) -> list[dict[str, object]]:
    """Per group (e.g. branch, or branch and manager): customers, quality customers,
    points (exact sum, rounded once) and customers per tier."""
    labels = [t.label for t in plan.tiers]
    named = [pl.col(k).fill_null(UNASSIGNED) for k in keys]
    per_tier = current.group_by(*named, TIER_INDEX).len().rows(named=False)
    totals = current.group_by(*named).agg(
        pl.len().alias("customers"),
        pl.col("quality").sum().alias("quality_customers"),
        to_money(pl.col(NUMERATOR).sum(), plan.q).alias("points"),
    )
    tiers: dict[tuple[str, ...], dict[str, int]] = {}
    for *group, index, n in per_tier:
        tiers.setdefault(tuple(group), dict.fromkeys(labels, 0))[labels[index]] = int(n)
    out = []
    for row in totals.sort(keys).iter_rows(named=True):
        group = tuple(row[k] for k in keys)
        out.append({
            **{k: row[k] for k in keys},
            "customers": int(row["customers"]),
            "quality_customers": int(row["quality_customers"]),
            "points": str(row["points"]),
            "tiers": tiers.get(group, dict.fromkeys(labels, 0)),
        })  # fmt: skip
    return out


def cheapest_lever(plan: Plan) -> tuple[str, int] | None:
    """The component whose yuan bring the most points, and its numerator per cent.

    Points are linear in every component, so the same lever is cheapest for every
    customer; a weighted (banded) rule set has no linear lever.
    """
    if plan.indicators:
        return None
    best = None
    for c in plan.components:
        per_cent = c.weight * (plan.day_count if c.source == "balances" else RATIO_SCALE)
        if per_cent > 0 and (best is None or per_cent > best[1]):
            what = "half-year daily average" if c.source == "balances" else "transactions"
            best = (f"{c.label or c.id} {what}", per_cent)
    return best


def upgrade(
    plan: Plan, scores: pl.DataFrame, current: pl.DataFrame, near: Fraction
) -> dict[str, object]:
    """Customers within ``near`` percent of the next tier; the closest ones per branch."""
    lever = cheapest_lever(plan)
    branch = "branch" if "branch" in scores.columns else None
    near_ones = scores.filter(pl.col("near_next"))
    top = near_ones.sort([*([branch] if branch else []), "points_to_next", "customer_id"])
    top = top.group_by(branch).head(TOP_PER_BRANCH) if branch else top.head(TOP_PER_BRANCH)
    top = top.join(current.select("customer_id", GAP), on="customer_id", how="left")
    cents = (pl.col(GAP) + (lever[1] - 1 if lever else 0)) // (lever[1] if lever else 1)
    listed = top.sort([*([branch] if branch else []), "points_to_next", "customer_id"]).select(
        (pl.col("branch").fill_null(UNASSIGNED) if branch else pl.lit(None)).alias("branch"),
        (pl.col("manager") if "manager" in scores.columns else pl.lit(None)).alias("manager"),
        "customer_id",
        "tier",
        "next_tier",
        pl.col("points").cast(pl.String),
        pl.col("points_to_next").cast(pl.String),
        pl.lit(lever[0] if lever else None, pl.String).alias("lever"),
        (to_money(cents, CENTS).cast(pl.String) if lever else pl.lit(None, pl.String)).alias(
            "lever_yuan"
        ),
    )
    return {
        "pct": _text(near),
        "customers": near_ones.height,
        "top": listed.to_dicts(),
    }


def concentration_curve(current: pl.DataFrame, steps: int = 100) -> list[list[float]]:
    """Share of customers (best first) against their share of points, at ``steps`` cuts:
    for the report's chart only, so floats are fine here."""
    n = current.height
    total = current[NUMERATOR].sum() if n else 0
    if not n or not total:
        return []
    running = current[NUMERATOR].sort(descending=True).cum_sum()
    cuts = sorted({-(-k * n // steps) for k in range(1, steps + 1)})
    taken = running.gather([c - 1 for c in cuts]).to_list()
    pairs = zip(cuts, taken, strict=True)
    return [[0.0, 0.0]] + [[round(c / n, 4), round(int(v) / int(total), 4)] for c, v in pairs]


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))
