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
    """One component as a way up: how many numerator units a cent of it brings.

    A cent of a transactions component is a counted cent: ``min(amount, cap) x
    fee_ratio`` of a transaction, and only of one with a fee where the component
    requires one. So a capped lever's yuan are no single transfer: it takes at least
    so many transactions, each counted at the largest cap (``each``, cents) and at the
    standard fee (a discounted fee counts less)."""

    component: str
    label: str
    of: str  # "half-year daily average", "transactions" or "transactions with a fee"
    per_cent: int
    each: int | None = None  # the most one transaction counts (cents); None: no cap
    codes: tuple[str, ...] = ()  # the only codes that count ``each``; () when all do

    @property
    def name(self) -> str:
        return f"{self.label or self.component} {self.of}"

    def cents_for(self, gap: int) -> int:
        """Cents of this lever that close ``gap`` (rounded up: the amount really reaches)."""
        return -(-gap // self.per_cent)

    def transactions_for(self, gap: int) -> int | None:
        """The fewest transactions that close ``gap``, each counting ``each``; None for
        a lever without a cap. ``ceil(ceil(g / p) / e) == ceil(g / (p e))``, so this is
        the yuan (rounded up to the cent) over the cap, rounded up."""
        if self.each is None:
            return None
        return -(-self.cents_for(gap) // self.each)


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
            per_cent = c.weight * (plan.day_count if balances else RATIO_SCALE) * plan.scale
            if balances:
                out.append(Lever(c.id, c.label, "half-year daily average", per_cent))
                continue
            of = "transactions with a fee" if c.requires_fee else "transactions"
            out.append(Lever(c.id, c.label, of, per_cent, *_largest_cap(plan, c.id)))
    return out


def _largest_cap(plan: Plan, component: str) -> tuple[int | None, tuple[str, ...]]:
    """The most one transaction of ``component`` counts (cents; None when one of its
    codes has no cap) and the codes that count that much, () when every code does:
    the fewest transactions reach a gap with those codes only."""
    codes = [code for code, owner in plan.codes["transactions"].items() if owner == component]
    caps = {code: plan.caps.get(code) for code in codes}
    uncapped = tuple(code for code in codes if caps[code] is None)
    each = None if uncapped else max(cap for cap in caps.values() if cap is not None)
    best = uncapped or tuple(code for code in codes if caps[code] == each)
    return each, best if len(best) < len(codes) else ()


def cheapest_lever(plan: Plan) -> Lever | None:
    """The lever whose counted yuan bring the most points: the same for every customer.

    Per counted yuan, a capped component is as cheap as its rate says, so it may be
    the one chosen; its yuan then come as ``transactions_for`` transactions of its
    largest cap (each with a fee where it requires one), which ``upgrade`` lists
    beside them, rather than as one impossible transfer."""
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
    branch = "branch" in tops.columns
    listed = _closest(tops).select(
        (pl.col("branch").fill_null(UNASSIGNED) if branch else pl.lit(None)).alias("branch"),
        (pl.col("manager") if "manager" in tops.columns else pl.lit(None)).alias("manager"),
        "customer_id",
        "tier",
        "next_tier",
        pl.col("points").cast(pl.String),
        pl.col("points_to_next").cast(pl.String),
        *_lever_columns(cheapest_lever(plan)),
    )
    return {
        "pct": _text(near),
        "customers": int(counts["customers"].sum()),
        "top": listed.to_dicts(),
    }


LEVER_COLUMNS = ("lever", "lever_yuan", "lever_transactions", "lever_each", "lever_codes")


def _lever_columns(lever: Lever | None) -> list[pl.Expr]:
    """The lever's name, yuan and, for a capped lever, the fewest transactions and the
    most each counts (and which codes, when not all of its codes count that much);
    nulls where there is no lever or no cap. As ``Lever.cents_for`` and
    ``Lever.transactions_for``, in integers rounded up."""
    if lever is None:
        return [pl.lit(None, pl.String).alias(name) for name in LEVER_COLUMNS]
    cents = (pl.col(GAP) + (lever.per_cent - 1)) // lever.per_cent
    if lever.each is None:
        count, each = pl.lit(None, pl.Int128), pl.lit(None, pl.String)
    else:
        count = (cents + (lever.each - 1)) // lever.each
        each = pl.lit(f"{lever.each // CENTS}.{lever.each % CENTS:02d}", pl.String)
    return [
        pl.lit(lever.name, pl.String).alias("lever"),
        to_money(cents, CENTS).cast(pl.String).alias("lever_yuan"),
        count.cast(pl.Int128).alias("lever_transactions"),
        each.alias("lever_each"),
        pl.lit(", ".join(lever.codes) or None, pl.String).alias("lever_codes"),
    ]


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))
