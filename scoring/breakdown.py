"""Views for branches and managers: tier distribution per branch and per manager, and
the customers close to the next tier with the cheapest way to get them there.

Everything here works on the small per-customer frame; the loops run over tiers
and branches, never over customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from .plan import CENTS, RATIO_SCALE, Plan
from .points import GAP, NUMERATOR, TIER_INDEX, to_money

UNASSIGNED = "未分配"  # customers the customers file does not place in a branch
TOP_PER_BRANCH = 10


def group_part(current: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One part's customers, quality customers and numerator sum per group and tier;
    parts add up (see ``group_tiers``)."""
    named = [pl.col(k).fill_null(UNASSIGNED) for k in keys]
    return current.group_by(*named, TIER_INDEX).agg(
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("quality").sum().cast(pl.Int64).alias("quality_customers"),
        pl.col(NUMERATOR).sum().cast(pl.Int128),
    )


def group_tiers(plan: Plan, parts: pl.DataFrame, keys: list[str]) -> list[dict[str, object]]:
    """Per group (e.g. branch, or branch and manager): customers, quality customers,
    points (exact sum, rounded once) and customers per tier, from ``group_part``s."""
    labels = [t.label for t in plan.tiers]
    cells = parts.group_by(*keys, TIER_INDEX).agg(pl.col("customers").sum())
    totals = parts.group_by(*keys).agg(
        pl.col("customers").sum(),
        pl.col("quality_customers").sum(),
        to_money(pl.col(NUMERATOR).sum(), plan.q).alias("points"),
    )
    tiers: dict[tuple[str, ...], dict[str, int]] = {}
    for *group, index, n in cells.rows(named=False):
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


@dataclass(frozen=True)
class Lever:
    """One component as a way up: how many numerator units a cent of it brings."""

    component: str
    label: str
    of: str  # "half-year daily average" or "transactions"
    per_cent: int

    @property
    def name(self) -> str:
        return f"{self.label or self.component} {self.of}"

    def cents_for(self, gap: int) -> int:
        """Cents of this lever that close ``gap`` (rounded up: the amount really reaches)."""
        return -(-gap // self.per_cent)


def levers(plan: Plan) -> list[Lever]:
    """Every component that earns points, in rule order. Points are linear in each, so
    a gap in points is a gap in yuan of any one of them; a weighted (banded) rule set
    has no such levers."""
    if plan.indicators:
        return []
    out = []
    for c in plan.components:
        if c.weight > 0:
            balances = c.source == "balances"
            per_cent = c.weight * (plan.day_count if balances else RATIO_SCALE)
            of = "half-year daily average" if balances else "transactions"
            out.append(Lever(c.id, c.label, of, per_cent))
    return out


def cheapest_lever(plan: Plan) -> Lever | None:
    """The lever whose yuan bring the most points: the same for every customer."""
    return max(levers(plan), key=lambda lever: lever.per_cent, default=None)


def _closest(near_ones: pl.DataFrame) -> pl.DataFrame:
    """The closest ``TOP_PER_BRANCH`` per branch (overall without branches), in order."""
    branch = ["branch"] if "branch" in near_ones.columns else []
    ordered = near_ones.sort([*branch, "points_to_next", "customer_id"])
    top = ordered.group_by(*branch, maintain_order=True).head(TOP_PER_BRANCH) if branch \
        else ordered.head(TOP_PER_BRANCH)  # fmt: skip
    return top.sort([*branch, "points_to_next", "customer_id"])


def near_part(scores: pl.DataFrame, current: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One part's count of customers near the next tier, and its closest ones: the
    closest of all parts are among the closest of each (see ``upgrade``)."""
    near_ones = scores.filter(pl.col("near_next"))
    kept = [c for c in ("branch", "manager") if c in scores.columns]
    columns = [*kept, "customer_id", "tier", "next_tier", "points", "points_to_next"]
    top = _closest(near_ones.select(columns))
    top = top.join(current.select("customer_id", GAP), on="customer_id", how="left")
    count = pl.DataFrame({"customers": [near_ones.height]}, schema={"customers": pl.Int64})
    return count, top


def upgrade(
    plan: Plan, counts: pl.DataFrame, tops: pl.DataFrame, near: Fraction
) -> dict[str, object]:
    """Customers within ``near`` percent of the next tier; the closest ones per branch,
    from ``near_part``s."""
    lever = cheapest_lever(plan)
    branch = "branch" in tops.columns
    per_cent = lever.per_cent if lever else 1
    cents = (pl.col(GAP) + (per_cent - 1)) // per_cent  # rounded up, as Lever.cents_for
    listed = _closest(tops).select(
        (pl.col("branch").fill_null(UNASSIGNED) if branch else pl.lit(None)).alias("branch"),
        (pl.col("manager") if "manager" in tops.columns else pl.lit(None)).alias("manager"),
        "customer_id",
        "tier",
        "next_tier",
        pl.col("points").cast(pl.String),
        pl.col("points_to_next").cast(pl.String),
        pl.lit(lever.name if lever else None, pl.String).alias("lever"),
        (to_money(cents, CENTS).cast(pl.String) if lever else pl.lit(None, pl.String)).alias(
            "lever_yuan"
        ),
    )
    return {
        "pct": _text(near),
        "customers": int(counts["customers"].sum()),
        "top": listed.to_dicts(),
    }


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))
