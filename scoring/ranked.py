"""The figures that need customers in points order, computed by parts that add up.

Rank tiers need the k-th highest numerator, and the concentration needs running
sums of numerators best first. Both are taken in one pass over the numerators
split into ranges (highest range first): a range that knows how many customers
and how many points come before it (two small sums, known before the pass) can
say on its own which positions fall inside it, their values and running sums,
and how many of its customers are still short of 80% of all points. On one
machine there is one range; on Spark one range a task. Everything is exact
integers; only the curve for the chart is turned into floats at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from .plan import Plan

POSITION, VALUE, RUNNING, SHORT = "position", "value", "running", "short"
CURVE_STEPS = 100
POINTS_SHARE = Fraction(4, 5)  # the concentration: how few customers bring 80% of points


def rank_cutoff(share: Fraction, customers: int) -> int:
    """The last rank inside a cumulative share: ceil(share x customers)."""
    return (customers * share.numerator + share.denominator - 1) // share.denominator


def curve_cuts(customers: int) -> list[int]:
    """Customer counts (best first) at which the concentration curve is drawn."""
    steps = range(1, CURVE_STEPS + 1)
    return sorted({-(-k * customers // CURVE_STEPS) for k in steps}) if customers else []


def positions(plan: Plan, customers: int) -> list[int]:
    """Every position (1 = highest numerator) whose value or running sum is needed."""
    wanted = set(curve_cuts(customers))
    if plan.by_rank:
        wanted |= {rank_cutoff(t.share, customers) for t in plan.tiers[:-1] if t.share}
    return sorted(p for p in wanted if 1 <= p <= customers)


def ranked_part(
    numerators: pl.Series, before: int, before_sum: int, total: int, wanted: list[int]
) -> dict[str, pl.DataFrame]:
    """One range's share: values and running sums at the wanted positions inside it,
    and its count of customers whose running sum is still under 80% of ``total``.
    ``before`` and ``before_sum`` are the customers and points of the higher ranges."""
    frame = pl.DataFrame({VALUE: numerators.cast(pl.Int128).sort(descending=True)})
    frame = frame.with_columns(
        pl.int_range(before + 1, before + 1 + frame.height, dtype=pl.Int64).alias(POSITION),
        (pl.col(VALUE).cum_sum() + pl.lit(before_sum, pl.Int128)).alias(RUNNING),
    )
    at = frame.filter(pl.col(POSITION).is_in(wanted)).select(POSITION, VALUE, RUNNING)
    limit = pl.lit(total * POINTS_SHARE.numerator, pl.Int128)
    under = pl.col(RUNNING) * POINTS_SHARE.denominator < limit
    short = frame.select(under.sum().cast(pl.Int64).alias(SHORT))
    return {POSITION: at, SHORT: short}


@dataclass(frozen=True)
class Ranked:
    """The merged ranges: how many customers, their total numerator, the values and
    running sums at the wanted positions, and how many are short of 80%."""

    customers: int
    total: int
    at: dict[int, tuple[int, int]]  # position -> (value, running sum)
    short: int

    @classmethod
    def merged(cls, customers: int, total: int, parts: list[dict[str, pl.DataFrame]]) -> Ranked:
        at = pl.concat([p[POSITION] for p in parts]) if parts else pl.DataFrame()
        rows = at.iter_rows() if at.height else iter(())
        short = sum(int(p[SHORT][SHORT].sum()) for p in parts)
        return cls(customers, total, {int(p): (int(v), int(r)) for p, v, r in rows}, short)

    def value_at(self, position: int) -> int:
        return self.at[position][0]

    def concentration(self) -> dict[str, object]:
        """How many customers, best first, bring 80% of all points, and the curve."""
        needed = self.short + 1 if self.total > 0 else 0
        n, total = self.customers, self.total
        curve: list[list[float]] = []
        if n and total:
            cuts = [(c, self.at[c][1]) for c in curve_cuts(n)]
            curve = [[0.0, 0.0]] + [[round(c / n, 4), round(r / total, 4)] for c, r in cuts]
        return {
            "points_share": float(POINTS_SHARE),
            "customers": needed,
            "customers_share": round(needed / n, 4) if n else 0.0,
            "curve": curve,
        }


def ranked_of(plan: Plan, numerators: pl.Series) -> Ranked:
    """Every customer as one range: the one-machine case."""
    customers = numerators.len()
    total = int(numerators.cast(pl.Int128).sum() or 0)
    part = ranked_part(numerators, 0, 0, total, positions(plan, customers))
    return Ranked.merged(customers, total, [part])
