"""Figures that need customers in points order, by ranges that add up.

The Spark engine computes rank-tier bounds and the concentration from ranges of
numerators, each knowing only the customers and points before it; the polars
engine from one range. Both are checked here against plain Python: competition
ranks (ties share the best rank) and running sums, customer by customer.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.plan import compile_plan
from tierscore.scoring.points import GAP, NUMERATOR, TIER_INDEX, bounds, with_gap, with_tier
from tierscore.scoring.ranked import Ranked, positions, ranked_of, ranked_part
from tierscore.scoring.rules import load_rules
from tierscore.scoring.window import parse_window

PYRAMID = compile_plan(load_rules("pyramid"), parse_window("2026H1"))
# few distinct values, so that ties are common and cross the ranges' edges
numerators = st.lists(st.sampled_from([0, 1, 5, 5, 9, 40, 41, 10**20]), max_size=80)


@settings(max_examples=80, deadline=None)
@given(numerators, st.lists(st.integers(0, 80), max_size=6), st.randoms())
def test_ranges_add_up_to_one_range(values: list[int], cuts: list[int], rng) -> None:
    ordered = sorted(values, reverse=True)
    edges = sorted({0, len(ordered), *(c for c in cuts if c <= len(ordered))})
    total = sum(values)
    wanted = positions(PYRAMID, len(values))
    parts = []
    for low, high in pairwise(edges):
        chunk = ordered[low:high]
        rng.shuffle(chunk)  # a range's rows come in any order
        series = pl.Series(chunk, dtype=pl.Int128)
        parts.append(ranked_part(series, low, sum(ordered[:low]), total, wanted))
    merged = Ranked.merged(len(values), total, parts)
    assert merged == ranked_of(PYRAMID, pl.Series(values, dtype=pl.Int128))


@settings(max_examples=80, deadline=None)
@given(numerators)
def test_concentration_matches_running_sums(values: list[int]) -> None:
    got = ranked_of(PYRAMID, pl.Series(values, dtype=pl.Int128)).concentration()
    ordered, running = sorted(values, reverse=True), []
    for value in ordered:
        running.append((running[-1] if running else 0) + value)
    total, n = sum(values), len(values)
    short = sum(1 for r in running if Fraction(r) < Fraction(4, 5) * total)
    assert got["customers"] == (short + 1 if total > 0 else 0)
    if n and total:
        cuts = sorted({-(-k * n // 100) for k in range(1, 101)})
        assert got["curve"][1:] == [[round(c / n, 4), round(running[c - 1] / total, 4)]
                                    for c in cuts]  # fmt: skip
    else:
        assert got["curve"] == []


@settings(max_examples=80, deadline=None)
@given(numerators)
def test_rank_bounds_match_competition_ranks(values: list[int]) -> None:
    """Tiers and gaps from the bounds equal ranking every customer: rank = 1 + the
    customers with more points; the first tier whose ceil(share x n) covers the rank;
    the gap to the lowest customer of the tier above (0 when that tier is empty)."""
    where = bounds(PYRAMID, ranked_of(PYRAMID, pl.Series(values, dtype=pl.Int128)))
    frame = pl.LazyFrame({NUMERATOR: values}, schema={NUMERATOR: pl.Int128})
    got = with_gap(PYRAMID, with_tier(PYRAMID, frame, where), where).collect()
    n, last = len(values), len(PYRAMID.tiers) - 1
    cutoffs = [-(-t.share.numerator * n // t.share.denominator) for t in PYRAMID.tiers[:-1]]
    tiers = []
    for value in values:
        rank = 1 + sum(1 for other in values if other > value)
        tiers.append(next((i for i, c in enumerate(cutoffs) if rank <= c), last))
    assert got[TIER_INDEX].to_list() == tiers
    for value, tier, gap in zip(values, tiers, got[GAP].to_list(), strict=True):
        above = [v for v, t in zip(values, tiers, strict=True) if t == tier - 1]
        expected = None if tier == 0 else max(min(above) - value, 0) if above else 0
        assert gap == expected
